"""attribute: quotes' speaker mentions → canonical speakers.

Contract: ``documents`` (cleaned) + ``sentences`` + ``quotes`` → ``quotes`` with ``speaker``
filled.

A thin adapter over :mod:`pipeline.attribution`, which holds the resolution rules (pronouns to
the last person named, aliases of :mod:`pipeline.speakers`, surnames, transliteration variants,
new full names; its docstring lists them): ``attribute.aliases`` extends the alias table and
``attribute.fuzzy_threshold`` is the rapidfuzz score for a transliteration variant.
"""

from __future__ import annotations

from typing import ClassVar

from pipeline.attribution import AttributionParams, attribute_quotes
from pipeline.base import Stage, StageContext, Tables
from pipeline.data import DETECTED_DOCUMENTS, DETECTED_SENTENCES, QUOTES, contract


class Attribute(Stage):
    name: ClassVar[str] = "attribute"
    reads = contract(documents=DETECTED_DOCUMENTS, sentences=DETECTED_SENTENCES, quotes=QUOTES)
    writes = contract(quotes=QUOTES)

    def params(self) -> AttributionParams:
        """The library's settings from the job's ``attribute`` section."""
        config = self.job.attribute
        return AttributionParams(fuzzy_threshold=config.fuzzy_threshold,
                                 aliases=config.aliases)

    def run(self, tables: Tables, context: StageContext) -> Tables:
        documents = tables["documents"]
        context.progress.total(len(documents))
        out = attribute_quotes(documents, tables["sentences"], tables["quotes"], self.params(),
                               advance=context.progress.advance)
        context.stats["attributed"] = int(out["speaker"].notna().sum())
        return {"quotes": out}
