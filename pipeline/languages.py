"""Language detection of documents and sentences, offline, within a job's languages.

Each sentence of at least ``min_chars`` that is not made only of capitalised names and numbers
is detected on its own, restricted to the allowed languages (unrestricted detectors call short
and names-only lines Albanian or Italian). A document's language is the one carrying the most
characters over those sentences (score: that share times their mean confidence), so a title or a
list of names at the top does not decide it; the short and names-only sentences then take their
document's language and score. A document without such a sentence is detected from the start of
its text.

The same sentences are also identified without the restriction: per document, the language
carrying most of those characters is counted (``found_languages``), and
:func:`check_found_languages` fails a job when most of its text is outside the allowed languages,
or returns a notice when some of it is. With ``widen``, a document whose text is outside the list
is detected over the list plus the languages found in it (each carrying at least
:data:`WIDEN_SHARE` of its characters). Backends come from
:data:`pipeline.registry.DETECT_BACKENDS` (:mod:`pipeline.models.language_id`). Used by
:mod:`pipeline.stages.detect`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pandas as pd

from pipeline.configschema import DetectConfig
from pipeline.errors import InputError
from pipeline.registry import DETECT_BACKENDS

Detector = Callable[[str], tuple[str, float]]
NAME_ONLY = re.compile(r"^[\W\d_]*(?:[A-ZÀ-Ỹ][\w'’.-]*[\W\d_]*|(?:và|and|und|et|y|và)\W*)*$")
#: A letter that NAME_ONLY cannot read: not a capital (nor "và", "and", …) although nothing
#: before it can carry it (the start, or a non-word character other than ' ’ . - that is no
#: capital either). It rejects ordinary sentences in one linear scan, where NAME_ONLY alone
#: backtracks through every way of cutting their capitalised words.
NOT_NAMES = re.compile(r"(?:^|(?<=[^\w'’.\-À-Ỹ]))(?![A-ZÀ-Ỹ]|và|and|und|et|y|và)[^\W\d_]")
#: Start of a document's text read when none of its sentences is long enough to be detected.
DOC_SAMPLE_CHARS = 4000
#: With ``detect.widen``: share of a document's detected characters that an outside language
#: must carry to join the languages that document is detected over.
WIDEN_SHARE = 0.2
#: The job fails when more than this share of its text is outside ``detect.languages``.
MOST = 0.5


class LanguageDetector:
    """Restricted detection (``detect``) plus the unrestricted language of the same text, from
    the ``detect.backend`` registry (:mod:`pipeline.models.language_id`)."""

    def __init__(self, backend: str, languages: list[str] | tuple[str, ...]) -> None:
        self.backend = backend
        self.languages = tuple(languages)
        # Built here, so an unknown language code is a config error up front.
        self._impl = DETECT_BACKENDS.create(backend, self.languages)

    def detect(self, text: str, allowed: tuple[str, ...] | None = None
               ) -> tuple[str, float, str]:
        """``(language within allowed, score, language found without restriction)``;
        ``allowed`` defaults to ``detect.languages``, () means any."""
        result: tuple[str, float, str] = self._impl.detect(
            text, self.languages if allowed is None else allowed)
        return result

    def supports(self, lang: str) -> bool:
        """Whether ``lang`` may join the languages a text is detected over."""
        return bool(self._impl.supports(lang))


def make_detector(config: DetectConfig) -> Detector:
    """A function text → (language within ``config.languages``, score)."""
    detector = LanguageDetector(config.backend, config.languages)
    return lambda text: detector.detect(text)[:2]


def is_names_only(text: str) -> bool:
    """True for lines made only of capitalised words, numbers and 'and'/'và'."""
    return NOT_NAMES.search(text) is None and bool(NAME_ONLY.match(text))


def _heaviest(mass: dict[str, int]) -> str:
    """The key with the most characters (ties: the first in alphabetical order)."""
    return min(mass, key=lambda lang: (-mass[lang], lang))


def _languages(codes: list[str] | tuple[str, ...]) -> str:
    return f"[{', '.join(codes)}]"


def widened(allowed: tuple[str, ...], found_mass: dict[str, int],
            detector: LanguageDetector) -> tuple[str, ...]:
    """Outside languages carrying at least WIDEN_SHARE of a document's detected text (or the
    most of it)."""
    if not allowed:
        return ()
    total = sum(found_mass.values())
    top = _heaviest(found_mass)
    return tuple(sorted(
        lang for lang, n in found_mass.items()
        if lang not in allowed and (n >= WIDEN_SHARE * total or lang == top)
        and detector.supports(lang)))


def detect_languages(documents: pd.DataFrame, sentences: pd.DataFrame,
                     detector: LanguageDetector, min_chars: int, widen: bool,
                     advance: Callable[[], None] = lambda: None
                     ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, dict[str, int]]]:
    """``documents`` and ``sentences`` with ``lang`` and ``lang_score``, and the languages found
    without restriction (language → documents and characters, sorted by language). The allowed
    languages are ``detector.languages``; ``advance()`` is called once per sentence and once
    per document."""
    allowed = detector.languages
    documents = documents.copy()
    sentences = sentences.copy()
    texts = sentences["text"].tolist()
    doc_of = sentences["doc_id"].tolist()
    langs: list[str] = [""] * len(texts)
    scores: list[float] = [0.0] * len(texts)
    found: list[str] = [""] * len(texts)
    detected: dict[str, list[int]] = defaultdict(list)  # doc_id → its long sentences
    chars: dict[str, int] = defaultdict(int)  # doc_id → characters of all its sentences
    # Pass 1: every long sentence on its own, restricted and unrestricted.
    for i, text in enumerate(texts):
        chars[doc_of[i]] += len(text)
        if len(text) >= min_chars and not is_names_only(text):
            langs[i], scores[i], found[i] = detector.detect(text)
            detected[doc_of[i]].append(i)
        advance()
    # Pass 2: each document's language by character mass over its long sentences.
    doc_lang: dict[str, tuple[str, float]] = {}
    found_languages: dict[str, dict[str, int]] = {}
    for row in documents.itertuples(index=False):
        rows = detected.get(row.doc_id, [])
        if rows:
            found_mass: dict[str, int] = defaultdict(int)
            for i in rows:
                found_mass[found[i]] += len(texts[i])
            doc_found = _heaviest(found_mass)
            wider = widened(allowed, found_mass, detector) if widen else ()
            if wider:
                for i in rows:
                    langs[i], scores[i], _ = detector.detect(texts[i], allowed + wider)
            mass: dict[str, int] = defaultdict(int)
            weighted: dict[str, float] = defaultdict(float)
            for i in rows:
                mass[langs[i]] += len(texts[i])
                weighted[langs[i]] += scores[i] * len(texts[i])
            lang = _heaviest(mass)
            score = weighted[lang] / sum(mass.values())  # share × mean score
        else:
            sample = row.text_clean[:DOC_SAMPLE_CHARS]
            if sample.strip():
                lang, score, doc_found = detector.detect(sample)
                if widen and doc_found not in allowed and allowed \
                        and detector.supports(doc_found):
                    lang, score, _ = detector.detect(sample, (*allowed, doc_found))
            else:
                lang, score, doc_found = "und", 0.0, "und"
        doc_lang[row.doc_id] = (lang, round(score, 6))
        if chars.get(row.doc_id):
            entry = found_languages.setdefault(doc_found, {"documents": 0, "chars": 0})
            entry["documents"] += 1
            entry["chars"] += chars[row.doc_id]
        advance()
    # Pass 3: short and names-only sentences take their document's language.
    for i, lang in enumerate(langs):
        if not lang:
            langs[i], scores[i] = doc_lang[doc_of[i]]
    documents["lang"] = [doc_lang[d][0] for d in documents["doc_id"]]
    documents["lang_score"] = [doc_lang[d][1] for d in documents["doc_id"]]
    sentences["lang"] = langs
    sentences["lang_score"] = [round(score, 6) for score in scores]
    return documents, sentences, {lang: found_languages[lang] for lang in sorted(found_languages)}


def check_found_languages(found: dict[str, Any], languages: list[str] | tuple[str, ...],
                          widen: bool) -> str | None:
    """Over a whole job's ``found_languages``: raise InputError when most of the text is outside
    ``languages`` (unless ``widen``); a notice when some of it is; None otherwise."""
    total = sum(entry["chars"] for entry in found.values())
    outside = {lang: entry for lang, entry in found.items()
               if lang not in languages and lang != "und"}
    if not languages or not outside or not total:
        return None
    outside_chars = sum(entry["chars"] for entry in outside.values())
    share = outside_chars / total
    percent = f"{share:.0%}" if share >= 0.005 else "<1%"
    names = ", ".join(sorted(outside, key=lambda lang: (-outside[lang]["chars"], lang)))
    listed = _languages(languages)
    if share > MOST and not widen:
        heaviest = [lang for lang in sorted(found, key=lambda lang: (-found[lang]["chars"],
                                                                      lang))
                    if lang != "und"]
        raise InputError(
            f"detect: {percent} of the text is in {names}, outside detect.languages "
            f"{listed}; set detect.languages: {_languages(heaviest)} (or [] for any), "
            f"or detect.widen: true")
    documents = sum(entry["documents"] for entry in outside.values())
    of = sum(entry["documents"] for entry in found.values())
    what = f"{documents} of {of} documents ({percent} of the text) are in {names}"
    if widen:
        return (f"{what}, outside detect.languages {listed}; detected over those languages "
                f"too (detect.widen)")
    return (f"{what}, outside detect.languages {listed}, so their sentences carry the "
            f"nearest of {listed}; set detect.languages (or [] for any), or detect.widen: "
            f"true")
