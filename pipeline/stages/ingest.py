"""ingest: files, globs and folders → one row per document with its raw text.

Contract: no input table → ``documents`` (doc_id, path, sha256, raw_text, outlet, date, url,
title). The doc id is the file stem (``stem-N`` for line N of a ``.jsonl`` file, unless the record
has an ``id``). Per-document metadata comes from the records themselves or from a side file
(``ingest.metadata``: CSV or JSONL with a ``doc_id`` column). Every input problem raises one
:class:`InputError` naming the file and the fix, before anything is written.

A thin adapter over :mod:`pipeline.sources`, which expands the inputs, reads the files and
checks the metadata.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pipeline.base import Stage, StageContext, Tables
from pipeline.data import INGESTED_DOCUMENTS, contract
from pipeline.sources import expand_inputs, load_metadata, read_documents


class Ingest(Stage):
    name: ClassVar[str] = "ingest"
    writes = contract(documents=INGESTED_DOCUMENTS)

    def key_parts(self) -> dict[str, Any]:
        return {"inputs": self.job.inputs}

    def run(self, tables: Tables, context: StageContext) -> Tables:
        config = self.job.ingest
        files = expand_inputs(self.job.inputs, config.extensions)
        metadata = load_metadata(config.metadata)
        context.progress.total(len(files))
        documents = read_documents(files, metadata, config.max_bytes,
                                   advance=context.progress.advance)
        context.stats["documents"] = len(documents)
        return {"documents": documents}
