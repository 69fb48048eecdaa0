"""``pipeline.quoteclusters`` without a job: hand-made quotes, vectors and a fake embed function.

Vectors are chosen by hand, so which quotes link is under the test's control; the trace stage
over a real job is tested in ``tests/stages/test_trace.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline import quoteclusters
from pipeline.data import CLUSTERS
from pipeline.quoteclusters import (
    TraceParams,
    cluster_drifts,
    cluster_quotes,
    cluster_table,
    compatible,
    english_forms,
    link_keys,
    majority_speaker,
    max_drift,
    speaker_languages,
    trace_quotes,
    word_diff,
)

PUTIN = "Vladimir Putin"


def alignments(*pairs: tuple[list[str], list[str]]) -> pd.DataFrame:
    return pd.DataFrame({"sent_ids_a": [a for a, _ in pairs], "sent_ids_b": [b for _, b in pairs]})


def quote(quote_id: str, text: str, lang: str = "en", speaker: str | None = None,
          direct: bool = True, cited: str | None = None, sent: str | None = None) -> dict:
    doc = quote_id.split(":")[0]
    return {"quote_id": quote_id, "doc_id": doc, "sent_ids": [sent or f"{quote_id}-s"],
            "text": text, "lang": lang, "direct": direct, "speaker": speaker,
            "cited_source": cited}


def unit(*rows: list[float]) -> np.ndarray:
    vectors = np.array(rows, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


class FakeEmbed:
    """Texts → the vector given for each text (unknown texts: a vector of their own)."""

    def __init__(self, vectors: dict[str, list[float]]) -> None:
        self.vectors = vectors
        self.calls: list[list[str]] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        dim = len(next(iter(self.vectors.values())))
        rows = [self.vectors.get(t, [0.0] * (dim - 1) + [1.0]) for t in texts]
        return unit(*rows) if rows else np.zeros((0, dim), dtype=np.float32)


def test_word_diff() -> None:
    a = "We actively work together in the international arena, and our assessments"
    b = "We actively work together in the international arena and our assessments of events"
    diff = word_diff(a, b)
    # Punctuation and case do not make a word differ; kept words are shown as b writes them.
    assert ("=", "arena") in diff and ("-", "arena,") not in diff
    assert diff[-2:] == [("+", "of"), ("+", "events")]
    assert [w for op, w in diff if op != "-"] == b.split()
    assert len([w for op, w in diff if op != "+"]) == len(a.split())
    assert word_diff("Close.", "close") == [("=", "close")]
    assert word_diff("very close", "very similar") == [("=", "very"), ("-", "close"),
                                                       ("+", "similar")]
    assert word_diff("same words", "same words") == [("=", "same"), ("=", "words")]
    assert word_diff("", "new") == [("+", "new")]


def test_speaker_languages_merge_extra_over_defaults() -> None:
    merged = speaker_languages({"Someone New": "de"})
    assert merged["Someone New"] == "de" and merged[PUTIN] == "ru"
    assert speaker_languages({PUTIN: "xx"})[PUTIN] == "xx"
    assert speaker_languages() == speaker_languages(None) == TraceParams(0.9, 0.8).languages


def test_english_forms() -> None:
    quotes = pd.DataFrame([
        quote("a:q000", "In English.", sent="a:0000"),
        quote("b:q000", "Tiếng Việt.", lang="vi", sent="b:0000"),
        quote("b:q001", "Chưa dịch.", lang="vi", sent="b:0001"),
    ])
    quotes.at[1, "sent_ids"] = ["b:0000", "b:0002"]
    sentences = pd.DataFrame({"sent_id": ["a:0000", "b:0000", "b:0001", "b:0002"],
                              "text_en": ["ignored", "In Vietnamese.", None, "Two sentences."]})
    assert english_forms(quotes, sentences) == ["In English.", "In Vietnamese. Two sentences.",
                                                "Chưa dịch."]


def test_cluster_quotes_strongest_link_wins() -> None:
    quotes = pd.DataFrame({"quote_id": ["a", "b", "c", "d"],
                           "speaker": ["P", "P", "Q", None],
                           "sent_ids": [["s1"], ["s2"], ["s3"], ["s4"]]})
    vectors = unit([1.0, 0.0], [0.99, 0.141], [0.8, 0.6], [0.9, 0.436])
    no_links = alignments()
    # d (unknown) is close to a (0.90) and c (0.98): it joins c (Q's), then a-d is refused.
    assert cluster_quotes(quotes, vectors, no_links, 0.9, 0.5) == [[0, 1], [2, 3]]
    assert cluster_quotes(quotes, vectors, no_links, 0.999, 0.5) == [[0], [1], [2], [3]]
    aligned = alignments((["s1"], ["s3"]))
    assert cluster_quotes(quotes, vectors, aligned, 0.999, 0.5) == [[0], [1], [2], [3]]  # P ≠ Q
    quotes["speaker"] = None
    assert cluster_quotes(quotes, vectors, aligned, 0.999, 0.5) == [[0, 2], [1], [3]]
    assert cluster_quotes(quotes.iloc[:0], vectors[:0], aligned, 0.9, 0.5) == []


def test_quotes_of_one_document_need_the_same_document_similarity() -> None:
    # One speaker's two remarks in one article (cosine 0.92) are two statements; the same
    # remark in another outlet (cosine 0.92) is one, and so is a near-verbatim repeat.
    quotes = pd.DataFrame({"quote_id": ["a", "b", "c", "d"], "doc_id": ["x", "x", "y", "x"],
                           "speaker": ["P", "P", "P", "P"],
                           "sent_ids": [["s1"], ["s2"], ["s3"], ["s4"]]})
    vectors = unit([1.0, 0.0, 0.0], [0.92, 0.392, 0.0], [0.92, 0.0, 0.392],
                   [0.2, 0.0, 0.98])
    links = alignments()
    assert cluster_quotes(quotes, vectors, links, 0.9, 0.5) == [[0, 1, 2], [3]]
    assert cluster_quotes(quotes, vectors, links, 0.9, 0.5, 0.95) == [[0, 2], [1], [3]]
    assert cluster_quotes(quotes, vectors, links, 0.9, 0.5, 0.9) == [[0, 1, 2], [3]]


def test_majority_speaker() -> None:
    assert majority_speaker(["B", "A", None, "B"]) == "B"
    assert majority_speaker(["B", "A"]) == "A"  # a tie: alphabetical
    assert majority_speaker([None, None]) is None


def test_cluster_table_honest_origin_and_sources() -> None:
    quotes = pd.DataFrame([
        quote("a:q000", "Indirect en.", speaker=PUTIN, direct=False, cited="TASS"),
        quote("b:q000", "Indirect vi.", lang="vi", speaker=PUTIN, direct=False),
        quote("c:q000", "Direct vi.", lang="vi", speaker=None, cited="  "),
        quote("d:q000", "Alone.", speaker="Nobody Known", cited="AFP"),
    ])
    groups, drifts = [[0, 1, 2], [3]], [0.25, 0.0]
    table = cluster_table(quotes, groups, drifts, {PUTIN: "ru"})
    assert list(table.columns) == [f.name for f in CLUSTERS]
    putin, alone = table.iloc[0], table.iloc[1]
    assert table["cluster_id"].tolist() == ["c0000", "c0001"]
    assert putin["speaker"] == PUTIN and putin["speaker_lang"] == "ru"
    # Putin speaks Russian: no rendition is the original, whatever is earliest or direct.
    assert not putin["origin_in_corpus"] and pd.isna(putin["origin_doc"])
    assert putin["cited_sources"] == ["TASS"]  # blank sources are no source
    assert putin["docs"] == ["a", "b", "c"] and putin["langs"] == ["en", "vi"]
    assert putin["drift"] == 0.25
    assert pd.isna(alone["speaker_lang"]) and not alone["origin_in_corpus"]

    # Had he spoken Vietnamese: the direct Vietnamese rendition first, then the smallest id.
    table = cluster_table(quotes, groups, drifts, {PUTIN: "vi"})
    assert table.iloc[0]["origin_in_corpus"] and table.iloc[0]["origin_doc"] == "c"
    quotes.loc[2, "direct"] = False
    assert cluster_table(quotes, groups, drifts, {PUTIN: "vi"}).iloc[0]["origin_doc"] == "b"


def test_max_drift() -> None:
    assert max_drift(unit([1.0, 0.0])) == 0.0
    assert max_drift(unit([1.0, 0.0], [1.0, 0.0])) == 0.0
    assert max_drift(unit([1.0, 0.0], [0.0, 1.0], [1.0, 1.0])) == pytest.approx(1.0)
    assert max_drift(unit([1.0, 0.0], [-1.0, 0.0])) == 1.0  # clipped to [0, 1]


def test_drift_of_large_clusters(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(4)
    vectors = rng.standard_normal((40, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = vectors[rng.integers(0, 40, 300)]
    whole = max_drift(vectors)
    monkeypatch.setattr(quoteclusters, "DRIFT_EXACT", 10)
    monkeypatch.setattr(quoteclusters, "DRIFT_BLOCK_ROWS", 7)
    assert abs(max_drift(vectors) - whole) <= 2e-6


def test_cluster_drifts_embed_only_shared_clusters_in_chunks(
        monkeypatch: pytest.MonkeyPatch) -> None:
    forms = ["one", "one again", "two", "three", "three more", "three still"]
    embed = FakeEmbed({"one": [1, 0, 0], "one again": [1, 1, 0], "two": [0, 1, 0],
                       "three": [0, 0, 1], "three more": [0, 0, 1], "three still": [1, 0, 1]})
    groups = [[0, 1], [2], [3, 4, 5]]
    drifts = cluster_drifts(embed, forms, groups)
    assert drifts[1] == 0.0 and drifts[0] == pytest.approx(1 - np.sqrt(0.5), abs=1e-6)
    assert drifts[2] == pytest.approx(1 - np.sqrt(0.5), abs=1e-6)
    assert embed.calls == [["one", "one again", "three", "three more", "three still"]]

    monkeypatch.setattr(quoteclusters, "DRIFT_CHUNK", 2)
    chunked = FakeEmbed(embed.vectors)
    assert cluster_drifts(chunked, forms, groups) == drifts
    assert chunked.calls == [["one", "one again"], ["three", "three more", "three still"]]


def test_trace_quotes_end_to_end() -> None:
    quotes = pd.DataFrame([
        quote("b:q000", "Chúng tôi hợp tác.", lang="vi", speaker=PUTIN, sent="b:0000"),
        quote("a:q001", "Prices rose.", speaker=None, sent="a:0001"),
        quote("a:q000", "We work together.", speaker=PUTIN, cited="TASS", sent="a:0000"),
        quote("c:q000", "We work together closely.", speaker=None, sent="c:0000"),
    ])
    sentences = pd.DataFrame({"sent_id": ["a:0000", "a:0001", "b:0000", "c:0000"],
                              "text_en": [None, None, "We cooperate.", None]})
    embed = FakeEmbed({
        "We work together.": [1.0, 0.0, 0.0], "We work together closely.": [0.97, 0.243, 0.0],
        "Chúng tôi hợp tác.": [0.6, 0.0, 0.8], "Prices rose.": [0.0, 1.0, 0.0],
        "We cooperate.": [0.9, 0.0, 0.436],
    })
    steps: list[int] = []
    params = TraceParams(min_similarity=0.95, aligned_min_similarity=0.5,
                         languages={PUTIN: "ru"})
    # The Vietnamese quote is too far for a similarity link; its sentence's alignment links it.
    links = alignments((["a:0000"], ["b:0000"]))
    clusters = trace_quotes(quotes, sentences, links, embed, params,
                            advance=lambda: steps.append(1))
    assert steps == [1, 1]
    assert [list(ids) for ids in clusters["quote_ids"]] == [["a:q000", "b:q000", "c:q000"],
                                                            ["a:q001"]]
    putin = clusters.iloc[0]
    assert putin["speaker"] == PUTIN and putin["speaker_lang"] == "ru"
    assert not putin["origin_in_corpus"] and putin["cited_sources"] == ["TASS"]
    assert 0 < putin["drift"] <= 1 and clusters.iloc[1]["drift"] == 0.0
    # Quote texts first (sorted by quote id), then the English forms of the shared cluster.
    assert embed.calls == [["We work together.", "Prices rose.", "Chúng tôi hợp tác.",
                            "We work together closely."],
                           ["We work together.", "We cooperate.", "We work together closely."]]

    unlinked = trace_quotes(quotes, sentences, alignments(), embed, params)
    assert len(unlinked) == 3  # without the alignment the Vietnamese quote stands alone

    empty = trace_quotes(quotes.iloc[:0], sentences, links, embed, params)
    assert empty.empty and list(empty.columns) == [f.name for f in CLUSTERS]


def test_generic_sources_stay_out_of_named_and_unknown_clusters() -> None:
    # A named minister, an unattributed quote and two generic sources, all on one topic.
    quotes = pd.DataFrame({
        "quote_id": ["a:q0", "b:q0", "c:q0", "c:q1", "d:q0"],
        "speaker": ["Minister A", None, None, None, None],
        "speaker_mention": ["the minister", "the country", "analysts",
                            "the unconfirmed reports", "Analysts with an institute"],
        "sent_ids": [["a:s"], ["b:s"], ["c:s"], ["c:t"], ["d:s"]]})
    vectors = unit([1.0, 0.0], [0.99, 0.141], [0.98, 0.2], [0.97, 0.243], [0.985, 0.173])
    keys = link_keys(quotes)
    assert keys[:2] == ["Minister A", None]
    assert keys[2] == keys[4] != keys[3]
    # Every pair reaches 0.9: the unattributed quote joins the minister; the analysts join
    # only each other, the reports stay alone.
    groups = cluster_quotes(quotes, vectors, alignments(), 0.9, 0.85)
    assert groups == [[0, 1], [2, 4], [3]]
    table = cluster_table(quotes.assign(doc_id="x", lang="en", direct=False, cited_source=None),
                          groups, [0.0] * 3, {})
    assert table["speaker"].iloc[0] == "Minister A" and table["speaker"].iloc[1:].isna().all()


def test_compatible_key_sets() -> None:
    analysts = quoteclusters.GENERIC_KEY + "analysts"
    assert compatible({"P"}, set()) and compatible(set(), set()) and compatible({"P"}, {"P"})
    assert not compatible({"P"}, {"Q"})
    assert compatible({analysts}, {analysts})
    assert not compatible({analysts}, set()) and not compatible({analysts}, {"P"})


def test_quotes_without_mentions_column_cluster_as_before() -> None:
    quotes = pd.DataFrame({"quote_id": ["a", "b"], "speaker": ["P", None],
                           "sent_ids": [["s1"], ["s2"]]})
    assert cluster_quotes(quotes, unit([1.0, 0.0], [1.0, 0.01]), alignments(), 0.9, 0.5) == [[0, 1]]


def test_a_partial_quote_joins_the_statement_it_quotes_whatever_the_cosine() -> None:
    # A standfirst's one quoted word and the body's direct quote are far apart as vectors and
    # of one document, yet one statement; another speaker's quote with the word is not.
    quotes = pd.DataFrame({
        "quote_id": ["x:q0", "x:q1", "x:q2"], "doc_id": ["x", "x", "x"],
        "text": ['ties with Tehran were a "priority."',
                 "Relations with Iran are a priority for us.", "Peace is a priority."],
        "speaker": [PUTIN, PUTIN, "Masoud Pezeshkian"],
        "sent_ids": [["s1"], ["s2"], ["s3"]]})
    vectors = unit([1.0, 0.0, 0.0], [0.5, 0.866, 0.0], [0.5, 0.0, 0.866])
    assert cluster_quotes(quotes, vectors, alignments(), 0.9, 0.85, 0.95) == [[0, 1], [2]]
    quotes.loc[0, "text"] = "ties with Tehran were a priority."
    assert cluster_quotes(quotes, vectors, alignments(), 0.9, 0.85, 0.95) == [[0], [1], [2]]


def test_fragment_links_already_among_the_links_are_not_doubled() -> None:
    # The partial quote and its statement are similar enough to link anyway; an unknown or NaN
    # speaker's quote makes no fragment link, and a quote without text (None) has no words.
    quotes = pd.DataFrame({
        "quote_id": ["a", "b", "c", "d"], "doc_id": ["x", "y", "z", "w"],
        "text": ['called ties a "priority"', "Ties are a priority.", "A priority, he said.",
                 None],
        "speaker": [PUTIN, PUTIN, float("nan"), PUTIN],
        "sent_ids": [["s1"], ["s2"], ["s3"], ["s4"]]})
    vectors = unit([1.0, 0.0, 0.0], [1.0, 0.01, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0])
    assert cluster_quotes(quotes, vectors, alignments(), 0.9, 0.85) == [[0, 1], [2], [3]]
    vectors = unit([1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [0.0, 1.0, 1.0])
    assert cluster_quotes(quotes, vectors, alignments(), 0.9, 0.85) == [[0, 1], [2], [3]]


def test_an_aligned_quote_that_says_none_of_the_quoted_words_is_another_statement() -> None:
    # Two sentences aligned on their topic: the quotes' cosine (0.88) passes the aligned
    # threshold, but one gives the speaker's words and the other says none of them.
    quotes = pd.DataFrame({
        "quote_id": ["x:q0", "y:q0"], "doc_id": ["x", "y"], "lang": ["en", "en"],
        "text": ['that "the USA and Europe do not want the situation to calm down"',
                 "that Israel cease hostilities in the Middle East"],
        "speaker": ["Masoud Pezeshkian"] * 2, "sent_ids": [["s1"], ["s2"]]})
    vectors = unit([1.0, 0.0], [0.88, 0.475])
    aligned = alignments((["s1"], ["s2"]))
    assert cluster_quotes(quotes, vectors, aligned, 0.91, 0.85) == [[0], [1]]
    # a rendition in another language, or one sharing a word, keeps the alignment link
    assert cluster_quotes(quotes.assign(lang=["en", "vi"]), vectors, aligned, 0.91,
                          0.85) == [[0, 1]]
    shares = quotes.assign(text=[quotes["text"][0], "that the situation must calm"])
    assert cluster_quotes(shares, vectors, aligned, 0.91, 0.85) == [[0, 1]]
    # a similarity link (above min_similarity) is not questioned
    assert cluster_quotes(quotes, vectors, aligned, 0.85, 0.85) == [[0, 1]]


def test_a_quote_of_a_few_words_takes_no_alignment_link() -> None:
    # The reported content "Russia's war against Ukraine" names the topic its aligned
    # sentence shares; a longer one in the same aligned pair keeps the link.
    quotes = pd.DataFrame({
        "quote_id": ["x:q0", "y:q0"], "doc_id": ["x", "y"], "lang": ["en", "en"],
        "text": ["the current bonhomie shared by Moscow and Tehran",
                 "Russia's war against Ukraine"],
        "speaker": [None, "Masoud Pezeshkian"], "sent_ids": [["s1"], ["s2"]],
        "direct": [False, False]})
    vectors = unit([1.0, 0.0], [0.88, 0.475])
    aligned = alignments((["s1"], ["s2"]))
    assert cluster_quotes(quotes, vectors, aligned, 0.91, 0.85) == [[0], [1]]
    # a short direct quote is the speaker's own words: its alignment link stands
    assert cluster_quotes(quotes.assign(direct=[False, True]), vectors, aligned, 0.91,
                          0.85) == [[0, 1]]
    longer = quotes.assign(text=[quotes["text"][0], "Russia's war against Ukraine was wrong"])
    assert cluster_quotes(longer, vectors, aligned, 0.91, 0.85) == [[0, 1]]
    assert cluster_quotes(quotes, vectors, aligned, 0.85, 0.85) == [[0, 1]]  # similar enough
