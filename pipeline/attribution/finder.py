"""Person mentions in a document's text (outside quotations)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

from pipeline.attribution.names import person_keys
from pipeline.quoting import blank_quotes, quote_spans

if TYPE_CHECKING:
    from pipeline.attribution.index import SpeakerIndex


class PersonFinder:
    """Person mentions in a text: names match capitalised only, titles in any case."""

    def __init__(self, table: dict[str, str], names: set[str]) -> None:
        self.table, self.names = table, names
        alternatives = sorted(table, key=len, reverse=True)
        self.pattern = re.compile(r"(?<![\w-])(?:" + "|".join(map(re.escape, alternatives))
                                  + r")(?![\w-])", re.IGNORECASE)

    def find(self, text: str) -> list[tuple[int, str]]:
        """``(position, canonical)`` of each person mention, quotations blanked out."""
        blanked = "\n".join(blank_quotes(p, quote_spans(p)) for p in text.split("\n"))
        out = []
        for match in self.pattern.finditer(blanked):
            key = match.group(0).casefold()
            if key in self.names and not match.group(0)[0].isupper():
                continue
            out.append((match.start(), self.table[key]))
        return out


_RUN = re.compile(r"[\w-]+")


@lru_cache(maxsize=1)
def _ignorecase_table() -> dict[int, int]:
    """Character → one representative of the characters ``re.IGNORECASE`` matches it with (its
    simple lower case and re's extra case pairs such as i/ı, s/ſ), where that is not itself.
    Cased characters all lie below U+20000."""
    import _sre
    from re._casefix import _EXTRA_CASES

    table = {}
    for code in range(0x20000):
        lower = _sre.unicode_tolower(code)
        extra = _EXTRA_CASES.get(lower)
        representative = min(lower, *extra) if extra else lower
        if representative != code:
            table[code] = representative
    return table


def _fold(text: str) -> str:
    return text.translate(_ignorecase_table())


class FinderIndex:
    """:class:`PersonFinder`'s matches without one regular expression over every key.

    The finder's pattern is ``(?<![\\w-])(?:key1|key2|…)(?![\\w-])`` (case-insensitive, longest
    key first): a match starts where a run of word characters or hyphens starts, and that run,
    case-folded, is the key's first run. So each run of the text only tries the keys with its
    folded run, in the pattern's order, each with its own small pattern. Keys that do not start
    with a word character or hyphen fall back to the whole pattern.
    """

    def __init__(self, canonicals: list[str], aliases: dict[str, list[str]]) -> None:
        self.aliases = aliases
        self.table: dict[str, str] = {}
        self.names: set[str] = set()
        for canonical in canonicals:
            for key, surname in person_keys(canonical, aliases):
                self.table.setdefault(key, canonical)
                if surname is not None:
                    self.names.update((key, surname))
                    self.table.setdefault(surname, canonical)
        self.position = {key: n for n, key in enumerate(self.table)}
        self.by_run: dict[str, list[str]] = {}
        self.plain = all(_RUN.match(key) for key in self.table)
        for key in sorted(self.table, key=len, reverse=True):  # the pattern's order
            run = _RUN.match(key)
            if run:
                self.by_run.setdefault(_fold(run.group(0)), []).append(key)
        self.patterns: dict[str, re.Pattern[str]] = {}

    def _pattern(self, key: str) -> re.Pattern[str]:
        pattern = self.patterns.get(key)
        if pattern is None:
            pattern = re.compile(r"(?<![\w-])(?:" + re.escape(key) + r")(?![\w-])",
                                 re.IGNORECASE)
            self.patterns[key] = pattern
        return pattern

    def find(self, text: str, local: list[str], index: SpeakerIndex) -> list[tuple[int, str]]:
        mine: dict[str, str] = {}
        names = set(self.names)
        for canonical in local:
            for key, surname in person_keys(canonical, self.aliases):
                mine.setdefault(key, canonical)
                if surname is not None:
                    names.update((key, surname))
                    mine.setdefault(surname, canonical)
        if not self.plain or not all(_RUN.match(key) for key in mine):
            return index.person_finder(local).find(text)
        local_runs: dict[str, list[str]] = {}
        for key in mine:
            local_runs.setdefault(_fold(_RUN.match(key).group(0)), []).append(key)
        local_rank = {key: n for n, key in enumerate(mine)}

        def order(key: str) -> tuple[int, int, int]:
            if key in local_rank:
                return -len(key), 0, local_rank[key]
            return -len(key), 1, self.position[key]

        blanked = "\n".join(blank_quotes(p, quote_spans(p)) for p in text.split("\n"))
        out = []
        after = 0
        for run in _RUN.finditer(_fold(blanked)):
            if run.start() < after:
                continue
            keys = self.by_run.get(run.group(0), [])
            if run.group(0) in local_runs:  # this document's names come first
                keys = sorted({*keys, *local_runs[run.group(0)]}, key=order)
            for key in keys:
                match = self._pattern(key).match(blanked, run.start())
                if match is None:
                    continue
                after = match.end()
                found = match.group(0).casefold()
                if found not in mine and found not in self.table:
                    found = key  # "İsmail" folds to "i̇smail" but matched "ismail"
                if not (found in names and not match.group(0)[0].isupper()):
                    out.append((match.start(), mine[found] if found in mine
                                else self.table[found]))
                break
        return out
