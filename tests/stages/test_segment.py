"""segment: sentence spans (Vietnamese capitals, abbreviations, quotes), lines mode, raw offsets."""

from __future__ import annotations

import unicodedata

import blingfire
import pandas as pd
import pytest

from pipeline.config import SegmentConfig
from pipeline.segmentation import segment_text
from pipeline.stages.clean import Clean
from pipeline.stages.segment import Segment
from pipeline.text import normalize_for_matching
from tests.conftest import SEED_IDS, run_on_texts
from tests.stages.test_clean import KEY_SENTENCES

SENTENCES = SegmentConfig()
NO_QUOTES = SegmentConfig(keep_quotes_whole=False)
LINES = SegmentConfig(mode="lines")


def split(text: str, config: SegmentConfig = SENTENCES) -> list[str]:
    return [text[start:end] for start, end in segment_text(text, config)]


def run_stages(raw_texts: dict[str, str], **segment: object) -> tuple[pd.DataFrame, pd.DataFrame]:
    tables, _ = run_on_texts(raw_texts, (Clean, Segment), segment=segment)
    return tables["documents"], tables["sentences"]


@pytest.fixture(scope="module")
def seed_sentences(seed_texts: dict[str, str]) -> pd.DataFrame:
    return run_stages(seed_texts)[1]


def test_vietnamese_sentence_starting_with_ong_splits() -> None:
    text = ("Tổng thống Putin nhấn mạnh sự tương đồng trong quan điểm giữa hai nước. "
            "Ông nói: “Chúng tôi đang tích cực hợp tác trên trường quốc tế.”")
    assert len(blingfire.text_to_sentences(text).split("\n")) == 1  # blingfire alone misses it
    assert split(text) == [
        "Tổng thống Putin nhấn mạnh sự tương đồng trong quan điểm giữa hai nước.",
        "Ông nói: “Chúng tôi đang tích cực hợp tác trên trường quốc tế.”",
    ]


@pytest.mark.parametrize("opening", ["Đồng thời", "Ông", "Ở Moscow", "Ủy ban", "Ý kiến"])
def test_vietnamese_capitals_start_sentences(opening: str) -> None:
    text = (f"Israel đã đe dọa trả đũa “chí mạng” hồi đầu tháng. {opening}, Ngoại trưởng "
            "cáo buộc Iran.")
    assert split(text) == ["Israel đã đe dọa trả đũa “chí mạng” hồi đầu tháng.",
                           f"{opening}, Ngoại trưởng cáo buộc Iran."]
    # Decomposed input splits the same way.
    assert len(split(unicodedata.normalize("NFD", text))) == 2


def test_abbreviations_do_not_split() -> None:
    text = ("The U.S. recently accused Iran of transferring ballistic missiles to Russia. "
            "Tehran denies these accusations.")
    assert split(text) == ["The U.S. recently accused Iran of transferring ballistic missiles "
                           "to Russia.", "Tehran denies these accusations."]
    assert split("Mr. Putin met Dr. Pezeshkian in Ashgabat.") == [
        "Mr. Putin met Dr. Pezeshkian in Ashgabat."]


CURLY = ("On the sidelines, Putin told Pezeshkian: “We actively work together. Our assessments "
         "are often very close.” Pezeshkian agreed.")
STRAIGHT = CURLY.replace("“", '"').replace("”", '"')


@pytest.mark.parametrize("text", [CURLY, STRAIGHT], ids=["curly", "straight"])
def test_multi_sentence_quote_stays_whole(text: str) -> None:
    whole = split(text)
    assert whole == [text[: text.index("Pezeshkian agreed")].strip(), "Pezeshkian agreed."]
    assert "We actively work together. Our assessments" in whole[0]
    pieces = split(text, NO_QUOTES)
    assert len(pieces) == 3
    assert pieces[0].endswith("We actively work together.")
    assert pieces[1].startswith("Our assessments are often very close.")


def test_quote_opening_the_paragraph_with_attribution() -> None:
    text = ("“Relations with Iran are a priority for us. We are seeing a growth in trade,” Putin "
            "said. Then he left.")
    assert split(text) == [text[: text.index(" Then")], "Then he left."]


def test_quote_merging_is_bounded() -> None:
    text = "He said: “" + " ".join(f"Sentence number {i} is here." for i in range(40)) + "” End."
    assert len(text) > 600
    pieces = split(text)
    assert len(pieces) > 1
    assert all(len(piece) <= 600 + 40 for piece in pieces)
    assert len(split(text, SegmentConfig(max_quote_chars=5000))) == 2


def test_quotes_do_not_leak_across_paragraphs() -> None:
    text = "He said: “We are ready.\nThe talks ended. Both left."
    assert split(text) == ["He said: “We are ready.", "The talks ended.", "Both left."]


def test_lines_mode() -> None:
    text = "Putin met Pezeshkian. They talked.\n\nTổng thống Putin nhấn mạnh.\n  x\nThe end"
    assert split(text, LINES) == ["Putin met Pezeshkian. They talked.",
                                  "Tổng thống Putin nhấn mạnh.", "The end"]  # "x": < min_chars
    assert split(text, SegmentConfig(mode="lines", min_chars=1)) == [
        "Putin met Pezeshkian. They talked.", "Tổng thống Putin nhấn mạnh.", "x", "The end"]
    assert split("") == [] and split("\n\n", LINES) == []


@pytest.mark.parametrize("doc_id", SEED_IDS)
def test_spans_index_raw_text(seed_sentences: pd.DataFrame, seed_texts: dict[str, str],
                              doc_id: str) -> None:
    raw = seed_texts[doc_id]
    rows = seed_sentences[seed_sentences["doc_id"] == doc_id]
    assert len(rows) > 10
    assert rows["idx"].tolist() == list(range(len(rows)))
    assert rows["sent_id"].tolist() == [f"{doc_id}:{i:04d}" for i in range(len(rows))]
    previous_end = 0
    for row in rows.itertuples(index=False):
        assert previous_end <= row.char_start < row.char_end <= len(raw)
        published = raw[row.char_start:row.char_end]
        assert normalize_for_matching(published) == normalize_for_matching(row.text)
        assert published[0] == row.text[0] and published[-1] == row.text[-1]
        previous_end = row.char_end


@pytest.mark.parametrize("doc_id", SEED_IDS)
def test_no_statement_lost(seed_sentences: pd.DataFrame, doc_id: str) -> None:
    texts = seed_sentences.loc[seed_sentences["doc_id"] == doc_id, "text"].tolist()
    joined = " ".join(texts)
    for sentence in KEY_SENTENCES[doc_id]:
        assert sentence in joined, sentence


def test_seed_sentences_examples(seed_sentences: pd.DataFrame) -> None:
    texts = set(seed_sentences["text"])
    assert "Ông nói: “Chúng tôi đang tích cực hợp tác trên trường quốc tế và đánh giá của chúng " \
           "tôi về các sự kiện hiện tại trên thế giới thường rất gần gũi.”" in texts
    assert ("Đồng thời, Ngoại trưởng Hoa Kỳ Antony Blinken cáo buộc Iran đã cung cấp hỏa tiễn đạn "
            "đạo cho Nga để sử dụng trong cuộc chiến tại Ukraine.") in texts
    assert ('"Relations with Iran are a priority for us, and they are developing very well. We are '
            'seeing a growth in the volume of trade this year," Putin said at the leaders\' '
            "hour-long talks.") in texts
    assert "We are ready to sit down with Europeans and Americans for dialogue and negotiations." \
        in texts
    assert not any(text.endswith("Share") for text in texts)


def test_raw_spans_on_decomposed_and_nbsp_input() -> None:
    raw = unicodedata.normalize(
        "NFD",
        " date 2024-10-11 Tổng thống Putin nhấn mạnh.\u00a0 Ông nói: “Chúng tôi uống cà phê”\n\n"
        "Nga\u00a0và Iran uống cà phê",
    )
    documents, sentences = run_stages({"vi": raw})
    assert documents["date"].tolist() == ["2024-10-11"]
    assert sentences["text"].tolist() == [
        "Tổng thống Putin nhấn mạnh.", "Ông nói: “Chúng tôi uống cà phê”",
        "Nga và Iran uống cà phê"]
    for row in sentences.itertuples(index=False):
        published = raw[row.char_start:row.char_end]
        assert unicodedata.normalize("NFC", published).replace("\u00a0", " ") == row.text
    assert sentences["char_end"].iloc[-1] == len(raw)  # the last "ê" keeps its combining mark


def test_lines_mode_stage_on_bitext_file() -> None:
    raw = "Putin met Pezeshkian on Friday.  They talked.\nThe talks were in Ashgabat.\n"
    _, sentences = run_stages({"x.en": raw}, mode="lines")
    assert sentences["text"].tolist() == ["Putin met Pezeshkian on Friday. They talked.",
                                          "The talks were in Ashgabat."]
    spans = zip(sentences["char_start"], sentences["char_end"], strict=True)
    assert [raw[s:e] for s, e in spans] == ["Putin met Pezeshkian on Friday.  They talked.",
                                            "The talks were in Ashgabat."]


def test_empty_document_has_no_sentences() -> None:
    _, sentences = run_stages({"junk": "Skip to content\n×\n"})
    assert len(sentences) == 0
    assert list(sentences.columns) == ["doc_id", "sent_id", "idx", "char_start", "char_end",
                                       "clean_start", "clean_end", "text"]
