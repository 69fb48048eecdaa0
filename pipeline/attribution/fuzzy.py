"""Fuzzy matching of names without scoring every known name."""

from __future__ import annotations

from collections import Counter

import numpy as np
from rapidfuzz import fuzz, process


class FuzzyIndex:
    """``process.extractOne(query, keys, scorer=fuzz.ratio, score_cutoff=cutoff)`` over an
    append-only list of keys, without scoring every key.

    fuzz.ratio is ``200 · LCS / (len(a) + len(b))`` (indel similarity), and the longest common
    subsequence keeps at most ``Σ_c min(count_a(c), count_b(c))`` characters; only the keys whose
    bound reaches the cutoff are scored, in their order, so the first best key is extractOne's.
    A query's result is kept with the number of keys it covered, so asking again only scores the
    keys added since (the first best of a longer list is the earlier best unless a new key
    scores strictly higher).
    """

    def __init__(self) -> None:
        self.keys: list[str] = []
        self._columns: dict[str, int] = {}
        self._counts = np.zeros((64, 32), dtype=np.int32, order="F")
        self._lengths = np.zeros(64, dtype=np.int64)
        self._memo: dict[tuple[str, float], tuple[int, str | None, float]] = {}

    def add(self, key: str) -> None:
        row = len(self.keys)
        if row == len(self._lengths):
            self._counts = np.asfortranarray(
                np.concatenate([self._counts, np.zeros_like(self._counts)], axis=0))
            self._lengths = np.concatenate([self._lengths, np.zeros_like(self._lengths)])
        for char, count in Counter(key).items():
            column = self._columns.setdefault(char, len(self._columns))
            if column == self._counts.shape[1]:
                self._counts = np.asfortranarray(
                    np.concatenate([self._counts, np.zeros_like(self._counts)], axis=1))
            self._counts[row, column] = count
        self._lengths[row] = len(key)
        self.keys.append(key)

    def best(self, query: str, cutoff: float) -> str | None:
        seen, best, score = self._memo.get((query, cutoff), (0, None, -1.0))
        total = len(self.keys)
        if seen < total:
            shared = np.zeros(total - seen, dtype=np.int64)
            for char, count in Counter(query).items():
                column = self._columns.get(char)
                if column is not None:
                    shared += np.minimum(self._counts[seen:total, column], count)
            lengths = self._lengths[seen:total] + len(query)
            rows = np.flatnonzero(200.0 * shared >= (cutoff - 1e-6) * lengths)
            if len(rows):
                found = process.extractOne(query, [self.keys[seen + r] for r in rows],
                                           scorer=fuzz.ratio, score_cutoff=cutoff)
                if found is not None and (best is None or found[1] > score):
                    best, score = found[0], found[1]
            self._memo[(query, cutoff)] = (total, best, score)
        return best
