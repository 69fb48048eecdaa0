"""quotes: direct, split, colon, unmarked and indirect quotes with cues, mentions, sources, spans.

Every rule is checked on a real sentence of the seed corpus (seeds/*.txt).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from pipeline.base import StageContext
from pipeline.config import parse_config
from pipeline.data import QUOTES
from pipeline.quoting import QuoteParams, extract_document, quote_spans
from pipeline.stages.clean import Clean
from pipeline.stages.detect import Detect
from pipeline.stages.ingest import Ingest
from pipeline.stages.quotes import Quotes
from pipeline.stages.segment import Segment
from pipeline.text import normalize_for_matching
from tests.conftest import SEED_IDS, run_on_texts


def run_quotes(raw_texts: dict[str, str], **quotes: Any) -> tuple[pd.DataFrame, dict[str, str]]:
    """The quotes table of raw texts, through the real clean and segment stages."""
    tables, _ = run_on_texts(raw_texts, (Clean, Segment, Quotes), quotes=quotes)
    return tables["quotes"], raw_texts


def quotes_of(text: str) -> list[dict[str, Any]]:
    table, raw = run_quotes({"d": text})
    rows = table.to_dict("records")
    for row in rows:  # every span indexes the raw text
        published = normalize_for_matching(raw["d"][row["char_start"]:row["char_end"]])
        for piece in (row["text"][:25], row["text"][-25:]):
            assert normalize_for_matching(piece) in published, (piece, published)
    return rows


def only(text: str) -> dict[str, Any]:
    rows = quotes_of(text)
    assert len(rows) == 1, rows
    return rows[0]


def test_quote_spans_marks() -> None:
    text = 'a “b c” d "e f" g \'\'h i\'\' j “open'
    assert [text[s:e] for s, e, _ in quote_spans(text)] == [
        "“b c”", '"e f"', "''h i''", "“open"]
    assert [closed for *_, closed in quote_spans(text)] == [True, True, True, False]


def test_direct_quote_of_two_sentences_with_trailing_cue() -> None:  # 000
    quote = only('"Relations with Iran are a priority for us, and they are developing very well. '
                 'We are seeing a growth in the volume of trade this year," Putin said at the '
                 "leaders' hour-long talks.")
    assert quote["direct"] and quote["cue"] == "said" and quote["speaker_mention"] == "Putin"
    assert quote["text"] == ("Relations with Iran are a priority for us, and they are developing "
                             "very well. We are seeing a growth in the volume of trade this year")
    assert quote["speaker"] is None and quote["quote_id"] == "d:q000"


def test_quote_split_across_sentences_is_one_quote() -> None:  # 002, two quotes of Hunter
    rows = quotes_of(
        "“Russia does not want a strong Iran, hence its reluctance to provide it with "
        "sophisticated weaponry and air defence systems,” says Shireen Hunter. “Therefore, it "
        "might overcome its reluctance.”")
    assert len(rows) == 1
    quote = rows[0]
    assert quote["speaker_mention"] == "Shireen Hunter" and quote["cue"] == "says"
    assert quote["text"].startswith("Russia does not want") and quote["text"].endswith(
        "Therefore, it might overcome its reluctance.")
    assert quote["sent_ids"] == ["d:0000", "d:0001"]


def test_said_that_with_quote() -> None:  # 000
    quote = only('Pezeshkian said that "economically and culturally, our communications are being '
                 'strengthened day by day and becoming more robust."')
    assert quote["direct"] and quote["speaker_mention"] == "Pezeshkian"
    assert quote["text"].startswith("economically and culturally")


def test_indirect_told_that_with_cited_agency() -> None:  # 000
    quote = only("At the two presidents' meeting, Putin told Pezeshkian that Moscow and Tehran's "
                 "positions on international events were often similar, Russian state news agency "
                 "Tass said.")
    assert not quote["direct"] and quote["cue"] == "told"
    assert quote["speaker_mention"] == "Putin" and quote["cited_source"] == "Tass"
    assert quote["text"] == ("Moscow and Tehran's positions on international events were often "
                             "similar")


def test_outlet_alone_is_the_mention_and_the_source() -> None:  # 000
    quote = only("Tass said the Kremlin chief had also invited the Iranian president to visit "
                 "Russia, which Pezeshkian had accepted.")
    assert quote["speaker_mention"] == "Tass" and quote["cited_source"] == "Tass"
    assert not quote["direct"]


def test_partial_quotes_inside_reported_speech() -> None:  # 000
    quote = only('He added that the situation in the Middle East was "difficult" and that "the USA '
                 'and Europe do not want the situation to calm down."')
    assert quote["cue"] == "added" and quote["speaker_mention"] == "He" and quote["direct"]
    assert '"difficult"' in quote["text"] and "calm down" in quote["text"]
    # One quoted word in a paraphrase: reported speech, not a direct quote.
    quote = only('President Vladimir Putin said ties with Tehran were a "priority."')
    assert not quote["direct"] and quote["speaker_mention"] == "President Vladimir Putin"
    assert quote["text"].startswith("ties with Tehran were a")


def test_inverted_cue_and_told_outlet() -> None:  # 001
    quote = only('"I think that would be too much in terms of antagonising America and Israel. '
                 'Russia is also still desperately trying to keep Israel away from funding '
                 'Ukraine," said Stephen Hall, an assistant professor of Russian politics at the '
                 "University of Bath told The Telegraph.")
    assert quote["direct"] and quote["cue"] == "said"
    assert quote["speaker_mention"] == "Stephen Hall" and quote["cited_source"] == "The Telegraph"


def test_appositive_subject_told_journalists() -> None:  # 001
    quote = only("Yury Ushakov, Putin’s aide on foreign policy, told journalists on Monday that "
                 "the meeting has great significance, both for discussing bilateral issues.")
    assert quote["speaker_mention"] == "Yury Ushakov" and quote["cited_source"] == "journalists"
    assert quote["text"].startswith("the meeting has great significance")


@pytest.mark.parametrize(("sentence", "cue", "mention"), [
    ("On the sidelines of this conference, Putin was quoted as telling Pezeshkian, “We actively "
     "work together in the international arena, and our assessments of current events in the "
     "world are often very close.”", "was quoted as telling", "Putin"),
    ("In response, the Iranian president reportedly said to his Russian counterpart, “Our "
     "positions in the world are much closer to each other than to others.”", "reportedly said",
     "the Iranian president"),
    ("“At this point, Moscow’s rivalry with Washington and the West is so great that Putin may no "
     "longer feel any need to cooperate with them in preventing Iran from acquiring nuclear "
     "weapons,” says Mark Katz, professor emeritus at George Mason University.", "says",
     "Mark Katz"),
    ("“Israeli-Iranian hostility serves Putin's interests by preventing even the slim possibility "
     "of rapprochement that Pezeshkian's election raised,” he tells TRT World.", "tells", "he"),
    ("According to him, Russia is “less fearful of a nuclear Iran than of an Iran with improving "
     "relations with the West”.", "According to", "him"),
], ids=["was-quoted-as-telling", "reportedly-said", "says-inverted", "tells", "according-to"])
def test_english_cues(sentence: str, cue: str, mention: str) -> None:  # 002
    quote = only(sentence)
    assert quote["direct"] and quote["cue"] == cue and quote["speaker_mention"] == mention
    if cue == "tells":
        assert quote["cited_source"] == "TRT World"


def test_vietnamese_colon_quote_with_theo_source() -> None:  # 003
    quote = only("Theo hãng thông tấn TASS của Nga, Tổng thống Pezeshkian tuyên bố: “Quan hệ "
                 "Iran-Nga mang tính chiến lược và chân thành. Sự hợp tác của chúng tôi đang ngày "
                 "càng mạnh mẽ hơn trong các lĩnh vực kinh tế và văn hóa.”")
    assert quote["direct"] and quote["cue"] == "tuyên bố"
    assert quote["speaker_mention"] == "Tổng thống Pezeshkian" and quote["cited_source"] == "TASS"
    assert quote["text"].startswith("Quan hệ Iran-Nga") and quote["text"].endswith("văn hóa.")


def test_vietnamese_pronoun_colon_quote_and_indirect_cues() -> None:  # 003
    rows = quotes_of("Tổng thống Putin nhấn mạnh sự tương đồng trong quan điểm giữa hai nước về "
                     "các vấn đề quốc tế. Ông nói: “Chúng tôi đang tích cực hợp tác trên trường "
                     "quốc tế và đánh giá của chúng tôi về các sự kiện hiện tại trên thế giới "
                     "thường rất gần gũi.”")
    assert [(r["cue"], r["speaker_mention"], r["direct"]) for r in rows] == [
        ("nhấn mạnh", "Tổng thống Putin", False), ("nói", "Ông", True)]
    assert rows[1]["text"].startswith("Chúng tôi đang tích cực hợp tác")


@pytest.mark.parametrize(("sentence", "mention"), [
    ("We actively work together in the international arena and our assessments of events in the "
     "world are often very close, said the illegitimate head of the Kremlin during a meeting with "
     "Iranian President Masoud Pezeshkian.", "the illegitimate head of the Kremlin"),
    ("We have never approved of Russian aggression against Ukrainian territory, Pezeshkiyan said.",
     "Pezeshkiyan"),
], ids=["inverted", "trailing"])
def test_unmarked_verbatim_speech_is_kept_as_not_direct(sentence: str, mention: str) -> None:
    quote = only(sentence)  # 004
    assert not quote["direct"] and quote["cue"] == "said" and quote["speaker_mention"] == mention
    assert quote["text"].startswith("We ") and not quote["text"].endswith(",")


def test_indirect_speech_and_the_switch() -> None:
    sentence = ("Back in September, the newly elected president of Iran, Masoud Pezeshkian, began "
                "to claim that he had negotiated with the West regarding Russia's war against "
                "Ukraine.")  # 004
    quote = only(sentence)
    assert quote["cue"] == "began to claim" and quote["speaker_mention"] == "Masoud Pezeshkian"
    assert quote["text"].startswith("he had negotiated")
    table, _ = run_quotes({"d": sentence}, indirect=False)
    assert table.empty and list(table.columns) == QUOTES.names


def test_scare_quotes_and_uncued_passages_are_skipped() -> None:
    assert quotes_of("Trước đó, Israel đã đe dọa sẽ có hành động trả đũa “chí mạng” sau các cuộc "
                     "tấn công bằng hỏa tiễn của Iran vào lãnh thổ Israel hồi đầu tháng.") == []
    assert quotes_of("Tehran will probably try to convince the Kremlin to support non-state actors "
                     "in the 'Axis of Resistance', such as Yemen’s Houthi movement.") == []
    assert extract_document("The “new world order” was discussed.", [
        "The “new world order” was discussed."], QuoteParams()) == []


def test_disabled_stage_writes_an_empty_table() -> None:
    table, _ = run_quotes({"d": 'Pezeshkian said that "economically and culturally, ours."'},
                          enabled=False)
    assert table.empty and list(table.columns) == QUOTES.names


@pytest.fixture(scope="module")
def seed_tables(seed_texts: dict[str, str]) -> dict[str, pd.DataFrame]:
    from tests.conftest import SEEDS

    job = parse_config({"job": "t", "inputs": [str(SEEDS / "*.txt")],
                        "ingest": {"metadata": str(SEEDS / "metadata.csv")},
                        "translate": {"enabled": False}})
    context = StageContext(job=job)
    tables = Ingest(job).run({}, context)
    for stage in (Clean, Segment, Detect, Quotes):
        tables.update(stage(job).run(tables, context))
    return tables


def test_seed_quotes_table(seed_tables: dict[str, pd.DataFrame],
                           seed_texts: dict[str, str]) -> None:
    quotes = seed_tables["quotes"]
    assert list(quotes.columns) == QUOTES.names
    assert set(quotes["doc_id"]) == set(SEED_IDS)
    assert quotes["quote_id"].is_unique and quotes["speaker"].isna().all()
    sentences = set(seed_tables["sentences"]["sent_id"])
    for row in quotes.itertuples(index=False):
        assert set(row.sent_ids) <= sentences
        published = normalize_for_matching(seed_texts[row.doc_id][row.char_start:row.char_end])
        assert normalize_for_matching(row.text[:20]) in published
    by_lang = quotes.groupby("lang")["direct"].sum()
    assert by_lang["vi"] >= 2 and by_lang["en"] >= 10
    doc000 = quotes[quotes["doc_id"].str.startswith("000_")]
    relations = doc000[doc000["text"].str.startswith("Relations with Iran")].iloc[0]
    assert relations["cited_source"] == "AFP, AP, dpa"  # the document's agency tag



# PolNeAR-style rules, on sentences written for these tests.

def test_trailing_cue_with_an_abbreviated_title() -> None:
    quote = only('"We still have a long way to go before November," said Mr. Harlan, the state '
                 "party chairman.")
    assert quote["direct"] and quote["speaker_mention"].startswith("Mr. Harlan")
    assert quote["text"] == "We still have a long way to go before November"


def test_quote_before_its_cue_wins_over_words_after_the_cue() -> None:
    quote = only('"I will not be voting for either of them," she wrote back to her editor.')
    assert quote["direct"] and quote["cue"] == "wrote" and quote["speaker_mention"] == "she"
    assert quote["text"] == "I will not be voting for either of them"


def test_trailing_only_verbs() -> None:
    quote = only('"We are going to win this state!" the senator exclaimed.')
    assert quote["direct"] and quote["cue"] == "exclaimed"
    assert quote["speaker_mention"] == "the senator"
    assert quotes_of("The rally continued for two more hours after the senator left.") == []


@pytest.mark.parametrize(("sentence", "mention", "text"), [
    ('Jane Porter, The Daily Ledger: "The debate settled nothing. Both campaigns will claim a '
     'win."', "Jane Porter", "The debate settled nothing. Both campaigns will claim a win."),
    ('Harlan agreed: "We need more volunteers in the county."', "Harlan",
     "We need more volunteers in the county."),
])
def test_colon_lead_in_quotes(sentence: str, mention: str, text: str) -> None:
    quote = only(sentence)
    assert quote["direct"] and quote["speaker_mention"] == mention and quote["text"] == text


def test_quote_only_sentence_read_with_the_cue_after_it() -> None:
    quote = only('"Where did all that money go?" Ms. Reyes asked, pointing to the county '
                 "budget.")
    assert quote["direct"] and quote["speaker_mention"] == "Ms. Reyes"
    assert quote["text"] == "Where did all that money go?"


@pytest.mark.parametrize(("sentence", "cue", "mention", "start"), [
    ('The mayor called the new stadium plan "a gift to developers" in a radio interview.',
     "called", "The mayor", "the new stadium plan"),
    ('Ms. Okafor has referred to him as "the absentee senator."', "has referred to",
     "Ms. Okafor", "him as"),
    ('The governor boasts that the state budget is "balanced for the first time in a decade."',
     "boasts", "The governor", "the state budget"),
])
def test_framing_verbs_before_a_quotation(sentence: str, cue: str, mention: str,
                                          start: str) -> None:
    quote = only(sentence)
    assert quote["cue"] == cue and quote["speaker_mention"] == mention
    assert quote["text"].startswith(start) and '"' in quote["text"]
    assert not quote["text"].endswith("interview")  # at most three words after the quotation


def test_framing_verbs_need_a_quotation_and_an_object() -> None:
    assert quotes_of("The mayor called the council meeting to order at noon.") == []
    assert quotes_of('Pollsters blame a pattern called "late deciding" for the miss.') == []


def test_quote_only_paragraph_continues_the_last_speaker() -> None:
    rows = quotes_of('Council member Ruth Abara said the vote was rushed.\n\n'
                     '"Nobody had time to read the final draft of the bill."\n\n'
                     'The council meets again on Friday.')
    assert [r["text"] for r in rows][-1] == "Nobody had time to read the final draft of the bill."
    assert rows[-1]["direct"] and rows[-1]["speaker_mention"] == "Council member Ruth Abara"
