"""pipeline.segmentation: sentence spans in clean and raw offsets, without a job config."""

from __future__ import annotations

import pandas as pd

from pipeline.cleaning import Cleaner, clean_documents
from pipeline.config import CleanConfig, SegmentConfig
from pipeline.segmentation import SEGMENT_COLUMNS, segment_documents, segment_text


def test_a_quote_of_two_sentences_stays_one_span() -> None:
    text = "He said: “We agree. We will act.” Then he left."
    spans = segment_text(text, SegmentConfig())
    assert [text[a:b] for a, b in spans] == ["He said: “We agree. We will act.”",
                                             "Then he left."]
    assert len(segment_text(text, SegmentConfig(keep_quotes_whole=False))) == 3


def test_sentences_carry_raw_and_clean_spans() -> None:
    raw = "Putin met  Pezeshkian.\n\nThey talked."
    documents = clean_documents(
        pd.DataFrame([{"doc_id": "d", "path": "d.txt", "raw_text": raw, "date": None,
                       "title": None}]), Cleaner(CleanConfig()))
    sentences = segment_documents(documents, SegmentConfig())
    assert list(sentences.columns) == list(SEGMENT_COLUMNS)
    clean = documents["text_clean"].iloc[0]
    for row in sentences.itertuples(index=False):
        assert clean[row.clean_start:row.clean_end] == row.text
    assert [raw[s:e] for s, e in zip(sentences["char_start"], sentences["char_end"],
                                     strict=True)] == ["Putin met  Pezeshkian.", "They talked."]
