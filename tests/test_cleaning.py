"""pipeline.cleaning: the Cleaner and the clean → raw offset map, without a job config."""

from __future__ import annotations

import pandas as pd

from pipeline.cleaning import Cleaner, clean_documents, clean_text_of
from pipeline.config import CleanConfig


def test_clean_text_maps_back_to_raw_offsets() -> None:
    raw = "Putin  met\u00a0Pezeshkian.\n\n\nThey talked."
    result = Cleaner(CleanConfig()).clean(raw)
    assert result.text == "Putin met Pezeshkian.\nThey talked."
    start = result.text.index("They")
    assert raw[slice(*result.raw_span(start, len(result.text), raw))] == "They talked."


def test_clean_documents_adds_text_offsets_and_metadata() -> None:
    documents = pd.DataFrame([{"doc_id": "a", "path": "a.txt", "raw_text": "Hello  there.",
                               "date": None, "title": "Given"},
                              {"doc_id": "b", "path": "b.txt", "raw_text": "\n", "date": None,
                               "title": None}])
    empty: list[str] = []
    cleaned = clean_documents(documents, Cleaner(CleanConfig()), on_empty=empty.append)
    assert cleaned["text_clean"].tolist() == ["Hello there.", ""]
    assert cleaned["title"].tolist()[0] == "Given"
    assert empty == ["b.txt"]
    assert "text_clean" not in documents
    view = clean_text_of(next(cleaned.itertuples(index=False)))
    assert view.raw_offset(6) == 7
