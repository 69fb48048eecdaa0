"""clean: raw article text → normalised text whose every character maps back to the raw file.

Contract: ``documents`` → ``documents`` plus ``text_clean``, ``offsets_clean``, ``offsets_raw``,
and ``date``/``title`` where the text gives them. Boilerplate lines and inline debris are dropped
by the ``clean`` section's regular expressions; whitespace is collapsed and the text normalised.

A thin adapter over :mod:`pipeline.cleaning`, which holds the :class:`Cleaner`, the offset map
between clean and raw text (:class:`CleanText`) and :func:`clean_text_of`.
"""

from __future__ import annotations

from typing import ClassVar

from pipeline.base import Stage, StageContext, Tables
from pipeline.cleaning import Cleaner, clean_documents
from pipeline.data import CLEANED_DOCUMENTS, INGESTED_DOCUMENTS, contract


class Clean(Stage):
    name: ClassVar[str] = "clean"
    reads = contract(documents=INGESTED_DOCUMENTS)
    writes = contract(documents=CLEANED_DOCUMENTS)
    per_document = True

    def run(self, tables: Tables, context: StageContext) -> Tables:
        cleaner = Cleaner(self.job.clean)
        documents = tables["documents"]
        context.progress.total(len(documents))
        cleaned = clean_documents(
            documents, cleaner, advance=context.progress.advance,
            on_empty=lambda path: context.logger.warning("%s: nothing left after cleaning", path))
        return {"documents": cleaned}
