"""orderedalign on a synthetic translation: merges, deletions, insertions, all in order."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from pipeline.alignlib import SideData
from pipeline.orderedalign import OrderedParams, align_ordered, alignment_types, band_limits

DIM = 64


def unit(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float64)
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def side(vectors: np.ndarray, lengths: np.ndarray) -> SideData:
    return SideData(np.asarray(vectors, np.float32), sparse.csr_matrix((len(vectors), 1)),
                    np.asarray(lengths, np.float32))


def render(rng: np.random.Generator, meaning: np.ndarray, lengths: np.ndarray, count: int,
           flip: bool) -> tuple[list[np.ndarray], list[float]]:
    """``count`` sentences carrying ``meaning``'s parts; ``flip`` cuts them at other places."""
    parts = len(meaning)
    groups = np.array_split(np.arange(parts), count)
    if flip:
        groups = [parts - 1 - g[::-1] for g in groups[::-1]]
    vectors = [(meaning[g] * lengths[g, None]).sum(0) / lengths[g].sum()
               + 0.15 * rng.normal(size=DIM) for g in groups]
    return vectors, [float(lengths[g].sum()) for g in groups]


def translation(seed: int = 0, units: int = 60):
    """A source and its 'translation': each unit is 1-1, 1-2, 2-1, 2-2, 1-3, 1-0 or 0-1.

    A merged side is one sentence whose vector is the length-weighted mean of the other side's
    sentences (plus noise): what a translator who joins or splits sentences produces.
    """
    rng = np.random.default_rng(seed)
    shapes = [(1, 1)] * 6 + [(1, 2), (2, 1), (2, 2), (1, 3), (1, 0), (0, 1)]
    a_vec, b_vec, a_len, b_len, gold = [], [], [], [], []
    for _ in range(units):
        size_a, size_b = shapes[rng.integers(len(shapes))]
        parts = max(size_a, size_b) + (size_a == size_b == 2)  # a 2-2 link crosses boundaries
        meaning = rng.normal(size=(parts, DIM))
        lengths = rng.integers(40, 160, parts).astype(float)

        start_a, start_b = len(a_vec), len(b_vec)
        if size_a:
            vectors, chars = render(rng, meaning, lengths, size_a, False)
            a_vec += vectors
            a_len += chars
        if size_b:
            vectors, chars = render(rng, meaning, lengths, size_b, True)
            b_vec += vectors
            b_len += [c * 1.2 for c in chars]  # the target language runs longer
        gold.append((tuple(range(start_a, len(a_vec))), tuple(range(start_b, len(b_vec)))))
    return side(unit(np.array(a_vec)), a_len), side(unit(np.array(b_vec)), b_len), gold


def anchors_of(gold, every: int = 4) -> list[tuple[int, int]]:
    ones = [(a[0], b[0]) for a, b in gold if len(a) == 1 and len(b) == 1]
    return ones[::every]


def test_alignment_types() -> None:
    types = alignment_types(5)
    assert types[:2] == [(0, 1), (1, 0)]
    assert {(1, 3), (3, 1), (2, 2), (1, 4), (4, 1), (2, 3), (3, 2)} <= set(types)
    assert all(a + b <= 5 for a, b in types)


def test_recovers_a_planted_translation() -> None:
    a, b, gold = translation()
    links = align_ordered(a, b, anchors_of(gold), OrderedParams(max_align=5, band=8))
    found = {(link.a, link.b) for link in links}
    assert len(found & set(gold)) >= 0.9 * len(gold)
    merged = [g for g in gold if len(g[0]) + len(g[1]) > 2]
    assert len(set(merged) & found) >= 0.8 * len(merged)
    kinds = {link.kind for link in links}
    assert {"1-0", "0-1", "1-2", "2-1"} <= kinds


def test_every_sentence_once_and_in_order() -> None:
    a, b, gold = translation(seed=5, units=40)
    links = align_ordered(a, b, anchors_of(gold, every=7))
    flat_a = [i for link in links for i in link.a]
    flat_b = [j for link in links for j in link.b]
    assert flat_a == list(range(len(a))) and flat_b == list(range(len(b)))
    for link in links:
        if link.a and link.b:
            assert -1.0 <= link.score <= 1.0
        else:
            assert link.score == 0.0 and link.margin == 0.0


def test_without_anchors_the_diagonal_band_still_aligns_a_close_translation() -> None:
    a, b, gold = translation(seed=2, units=30)
    links = align_ordered(a, b, [], OrderedParams(band=12))
    assert len({(link.a, link.b) for link in links} & set(gold)) >= 0.8 * len(gold)


def test_band_is_connected_and_covers_the_corners() -> None:
    lo, hi = band_limits(10, 40, [(2, 30), (8, 31)], width=2)
    assert lo[0] == 0 and hi[-1] == 40
    assert all(lo[i + 1] <= hi[i] + 1 for i in range(10))  # reachable row to row
    assert (lo <= hi).all()


def test_empty_sides() -> None:
    a, b, _ = translation(units=5)
    none = side(np.zeros((0, DIM)), [])
    assert align_ordered(none, none, []) == []
    assert [link.kind for link in align_ordered(a, none, [])] == ["1-0"] * len(a)
    assert [link.kind for link in align_ordered(none, b, [])] == ["0-1"] * len(b)
