"""segment: cleaned documents → sentences with their spans in the raw file and the clean text.

Contract: ``documents`` (cleaned) → ``sentences`` (doc_id, sent_id, idx, char_start, char_end,
clean_start, clean_end, text). ``char_start``/``char_end`` index the raw file's decoded text, so
``raw[char_start:char_end]`` is the sentence as published; ``clean_start``/``clean_end`` index the
document's ``text_clean``, so ``text_clean[clean_start:clean_end]`` is the sentence's ``text``.
The ``segment`` section picks the mode: blingfire ``sentences`` (with ``keep_quotes_whole``, a
multi-sentence quote stays one unit) or one sentence per ``lines``.

A thin adapter over :mod:`pipeline.segmentation`, which holds the windowed blingfire
segmentation and the quote-aware merging.
"""

from __future__ import annotations

from typing import ClassVar

from pipeline.base import Stage, StageContext, Tables
from pipeline.data import CLEANED_DOCUMENTS, SEGMENTS, contract
from pipeline.segmentation import segment_documents


class Segment(Stage):
    name: ClassVar[str] = "segment"
    #: 2: sentences carry ``clean_start``/``clean_end``.
    version: ClassVar[int] = 2
    reads = contract(documents=CLEANED_DOCUMENTS)
    writes = contract(sentences=SEGMENTS)
    per_document = True

    def run(self, tables: Tables, context: StageContext) -> Tables:
        documents = tables["documents"]
        context.progress.total(len(documents))
        sentences = segment_documents(documents, self.job.segment,
                                      advance=context.progress.advance)
        context.stats["sentences"] = len(sentences)
        return {"sentences": sentences}
