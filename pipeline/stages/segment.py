"""segment: cleaned documents → sentences with their spans in the raw file.

Contract: ``documents`` (cleaned) → ``sentences`` (doc_id, sent_id, idx, char_start, char_end,
text). ``char_start``/``char_end`` index the raw file's decoded text, so ``raw[start:end]`` is the
sentence as published. Two modes:

- ``sentences``: blingfire's sentence splitter, run paragraph by paragraph on a diacritic-folded
  shadow of the text (blingfire does not start a sentence at a Vietnamese capital such as "Ô" or
  "Đ"; folding keeps the length, so its offsets apply to the original). With
  ``keep_quotes_whole``, a sentence that ends inside an open quotation is joined to the next, so a
  multi-sentence quote stays one traceable unit with its attribution.
- ``lines``: one sentence per non-empty line, as bitext files are written.
"""

from __future__ import annotations

from typing import ClassVar

import pandas as pd

from pipeline.base import Stage, StageContext, Tables
from pipeline.config import SegmentConfig
from pipeline.data import sentence_id
from pipeline.stages.clean import clean_text_of
from pipeline.text import fold_diacritics

OPENING = "“«„"
CLOSING = "”»"


def quote_depth_change(text: str, open_straight: bool) -> tuple[int, bool]:
    """Net curly-quote depth change of ``text`` and whether a straight quote is left open."""
    depth = 0
    for char in text:
        if char in OPENING:
            depth += 1
        elif char in CLOSING:
            depth -= 1
        elif char == '"':
            open_straight = not open_straight
    return depth, open_straight


def split_paragraph(paragraph: str, config: SegmentConfig) -> list[tuple[int, int]]:
    """Sentence spans of one paragraph (offsets relative to it)."""
    import blingfire

    if not paragraph.strip():
        return []  # blingfire fails on an empty string (and a document may clean to nothing)
    _, offsets = blingfire.text_to_sentences_and_offsets(fold_diacritics(paragraph))
    spans = [(start, end) for start, end in offsets if paragraph[start:end].strip()]
    if not config.keep_quotes_whole:
        return spans
    merged: list[tuple[int, int]] = []
    depth, open_straight = 0, False
    for start, end in spans:
        joined = merged and (depth > 0 or open_straight)
        if joined and end - merged[-1][0] <= config.max_quote_chars:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
            depth, open_straight = 0, False
        change, open_straight = quote_depth_change(paragraph[start:end], open_straight)
        depth = max(depth + change, 0)
    return merged


def segment_text(text: str, config: SegmentConfig) -> list[tuple[int, int]]:
    """Sentence spans of a cleaned text (clean offsets), paragraph by paragraph."""
    spans: list[tuple[int, int]] = []
    offset = 0
    for paragraph in text.split("\n"):
        if config.mode == "lines":
            pieces = [(0, len(paragraph))] if paragraph.strip() else []
        else:
            pieces = split_paragraph(paragraph, config)
        for start, end in pieces:
            while start < end and paragraph[start].isspace():
                start += 1
            while end > start and paragraph[end - 1].isspace():
                end -= 1
            if end - start >= config.min_chars:
                spans.append((offset + start, offset + end))
        offset += len(paragraph) + 1
    return spans


class Segment(Stage):
    name: ClassVar[str] = "segment"
    reads = ("documents",)
    writes = ("sentences",)
    per_document = True

    def run(self, tables: Tables, context: StageContext) -> Tables:
        documents = tables["documents"]
        context.progress.total(len(documents))
        rows = []
        for row in documents.itertuples(index=False):
            clean = clean_text_of(row)
            for idx, (start, end) in enumerate(segment_text(clean.text, self.job.segment)):
                raw_start, raw_end = clean.raw_span(start, end, row.raw_text)
                rows.append(
                    {
                        "doc_id": row.doc_id,
                        "sent_id": sentence_id(row.doc_id, idx),
                        "idx": idx,
                        "char_start": raw_start,
                        "char_end": raw_end,
                        "text": clean.text[start:end],
                    }
                )
            context.progress.advance()
        sentences = pd.DataFrame(
            rows, columns=["doc_id", "sent_id", "idx", "char_start", "char_end", "text"]
        )
        context.stats["sentences"] = len(sentences)
        return {"sentences": sentences}
