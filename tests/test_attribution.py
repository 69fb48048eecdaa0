"""pipeline.attribution as a library: tables and AttributionParams in, speakers out (no job
config)."""

from __future__ import annotations

import pandas as pd

from pipeline.attribution import (
    AttributionParams,
    PersonFinder,
    SpeakerIndex,
    attribute_quotes,
    is_name_alias,
    normalise,
    person_name,
)
from pipeline.quoting import quotes_frame
from pipeline.speakers import generic_source


def test_mention_keys_and_names() -> None:
    assert normalise("The Kremlin chief’s") == "kremlin chief"
    assert is_name_alias("Vladimir Putin") and not is_name_alias("Tổng thống Nga")
    assert person_name("Professor Stephen Hall") == "Stephen Hall"
    assert person_name("the Foreign Ministry Office") is None
    assert person_name("Tass") is None


def test_index_resolution_order() -> None:
    index = SpeakerIndex(AttributionParams())
    assert index.lookup("the head of the Kremlin", []) == "Vladimir Putin"
    assert index.lookup("Russian President Vladimir Putin", []) == "Vladimir Putin"
    assert index.lookup("Pezeshkijan", []) == "Masoud Pezeshkian"
    assert index.lookup("analysts", []) is None
    index.discover("Professor Shireen Hunter")
    assert index.lookup("Hunter", []) == "Shireen Hunter"
    custom = SpeakerIndex(AttributionParams(aliases={"Vladimir Putin": ["the Kremlin master"]}))
    assert custom.lookup("the Kremlin master", []) == "Vladimir Putin"
    assert SpeakerIndex(AttributionParams(fuzzy_threshold=99)).lookup("Pezeshkiyan", []) is None


def test_person_finder_skips_quotations_and_lower_case_names() -> None:
    finder = PersonFinder({"putin": "Vladimir Putin", "the kremlin chief": "Vladimir Putin"},
                          {"putin"})
    text = "Putin spoke. “Putin is here,” they said. putin. The Kremlin chief left."
    assert finder.find(text) == [(0, "Vladimir Putin"), (text.index("The"), "Vladimir Putin")]


def _tables(text: str, sentences: list[str], quotes: list[dict]) -> tuple[pd.DataFrame, ...]:
    documents = pd.DataFrame({
        "doc_id": ["d"], "text_clean": [text], "offsets_clean": [[0]], "offsets_raw": [[0]],
        "date": [None], "title": [None]})
    sentence_table = pd.DataFrame({
        "doc_id": ["d"] * len(sentences), "sent_id": [f"d:{n}" for n in range(len(sentences))],
        "idx": list(range(len(sentences))), "text": sentences})
    return documents, sentence_table, quotes_frame(quotes)


def _quote(n: int, sentence: int, mention: str | None) -> dict:
    return {"quote_id": f"d:q{n:03d}", "doc_id": "d", "sent_ids": [f"d:{sentence}"],
            "char_start": 0, "char_end": 1, "text": "x", "lang": "en", "direct": True,
            "cue": "said", "speaker_mention": mention, "speaker": None, "cited_source": None}


def test_attribute_quotes_resolves_pronouns_to_the_last_person_named() -> None:
    sentences = ["Stephen Hall met Putin.", "“We agree,” he said.", "“Fine,” the analysts said."]
    tables = _tables(" ".join(sentences), sentences,
                     [_quote(0, 0, "Stephen Hall"), _quote(1, 1, "he"),
                      _quote(2, 2, "the analysts")])
    advanced: list[int] = []
    out = attribute_quotes(*tables, AttributionParams(), advance=lambda: advanced.append(1))
    assert out["speaker"].tolist() == ["Stephen Hall", "Vladimir Putin", None]
    assert advanced == [1]


def test_generic_sources_are_never_the_last_person_named() -> None:
    sentences = ["Antony Blinken spoke on Monday.", "Analysts believe the talks will stall.",
                 "The unconfirmed reports claim the deal is done.",
                 "Experts with a Berlin institute say it is not."]
    tables = _tables(" ".join(sentences), sentences,
                     [_quote(0, 0, "Antony Blinken"), _quote(1, 1, "Analysts"),
                      _quote(2, 2, "The unconfirmed reports"),
                      _quote(3, 3, "Experts with a Berlin institute")])
    out = attribute_quotes(*tables, AttributionParams())
    assert out["speaker"].tolist() == ["Antony Blinken", None, None, None]


def test_generic_source_heads() -> None:
    assert generic_source("Analysts") == "analysts"
    assert generic_source("the unconfirmed reports") == "reports"
    assert generic_source("Analysts with the US-based Institute for the Study of War") == "analysts"
    assert generic_source("some sources close to the Kremlin") == "sources"
    assert generic_source("Many") == "many"
    assert generic_source("các chuyên gia") == "các chuyên gia"
    for mention in ("Antony Blinken", "he", "the Iranian president", "Tass", "the US", None):
        assert generic_source(mention) is None
    # The head must come early: a name followed much later by a generic word is no source.
    assert generic_source("Stephen Hall, a former head of the analysts") is None
