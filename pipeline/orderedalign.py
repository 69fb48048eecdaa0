"""Order-aware alignment of a document and its translation: anchored dynamic programming in the
vecalign / bertalign family. The whole algorithm, model-free.

Used for document pairs whose links keep one order (a translation). Non-monotone mining
(:mod:`pipeline.alignlib`) treats every sentence on its own, so it crosses the order, misses
larger merges and never says which sentences have no counterpart; here one monotone path covers
both documents:

1. **Anchors**: confident 1-1 links on one chain increasing on both sides (from
   :func:`pipeline.corpusmining.monotone_share`).
2. **Band**: the path through ``(0, 0)``, the anchors and ``(n, m)``, interpolated linearly
   between them; DP row ``i`` may use the columns within ``band`` of that path at rows ``i - 1``,
   ``i`` and ``i + 1``, so that steep stretches stay connected. Cost: ``O(n · band · types)``.
3. **Units**: for each side and size ``2 … max_align - 1``, a vector for each run of that many
   consecutive sentences: the embedding of their concatenation when the caller has one (as
   bertalign embeds its overlaps; :mod:`pipeline.stages.align` embeds them with the job's
   model), else the character-length-weighted mean of the sentence vectors, renormalised.
4. **Score** of a unit pair (bertalign's second pass): cosine, minus the mean cosine of each unit
   with the other side's sentences just outside the other unit (``margin``; the ``neighbours``
   nearest on each side, where bertalign takes one: a literary translation's adjacent
   sentences share its topic, and one of them is a noisy baseline), times
   ``log2(1 + min/max)`` of the two units' character lengths, the second scaled by the
   documents' length ratio (``length_penalty``). A sentence left out (1-0 / 0-1) scores
   ``skip``, or ``skip_unmatched`` when corpus mining found it no counterpart in the other
   document (no candidate there as good as the pair's weaker links): a translator who joins
   sentences leaves every source sentence a counterpart, one who drops a sentence does not.
   An ``a``-``b`` merge (``a + b > 2``) also pays ``merge_cost`` times ``a + b - 2`` times the
   pair's *spread* (the robust standard deviation, IQR / 1.349, of its 1-1 scores over a fixed
   sample of rows and all columns, nearly all of them unrelated pairs): a merged unit's
   neighbours lie further away than its parts', so without it merges swallow true 1-1 links.
   In the scale of the pair's own scores, so one value serves models of any score spread.
5. **DP** over the alignment types 0-1, 1-0 and every ``a``-``b`` with ``a, b ≥ 1`` and
   ``a + b ≤ max_align`` (so 1-3, 3-1 and 2-2 at the default 4 … 5); the best total score wins,
   ties going to the type listed first; then backtrack from ``(n, m)``.
6. **Is "unmatched" a drop here?** Mining's unmatched flags mark dropped sentences in a close
   translation, but in a free one (literary: many 1-2 / 1-3 splits) most sentences of a split
   are "unmatched" while hardly any is dropped. The first path tells which: when it leaves out
   fewer than ``unmatched_min_share`` of the unmatched sentences, the flags are not telling
   drops in this pair, and the path is computed again with every sentence at ``skip``.

Scores are computed in float64 from the float32 vectors, so the path does not depend on BLAS
blocking; reported scores are rounded by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.alignlib import Link, SideData


@dataclass(frozen=True)
class OrderedParams:
    max_align: int = 5
    band: int = 8
    skip: float = -0.1
    skip_unmatched: float = -0.005
    margin: bool = True
    neighbours: int = 2
    length_penalty: bool = True
    merge_cost: float = 0.5
    unmatched_min_share: float = 0.12

    def __post_init__(self) -> None:
        if self.neighbours < 1:  # the baseline is a mean over 1 … neighbours distances
            raise ValueError(f"neighbours must be at least 1, not {self.neighbours} "
                             "(margin=False drops the baseline)")


def alignment_types(max_align: int) -> list[tuple[int, int]]:
    """0-1 first (it is applied last, along the row), then 1-0, 1-1, 1-2, … by total size."""
    merges = [(a, b) for total in range(2, max_align + 1) for a in range(1, total)
              for b in (total - a,)]
    return [(0, 1), (1, 0), *merges]


def _units(side: SideData, size: int, runs: np.ndarray | None = None
           ) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors and character lengths of every run of ``size`` sentences, by end position.

    Row ``j`` (``size ≤ j ≤ n``) covers sentences ``j - size … j - 1``; rows below are zero.
    ``runs`` (``n - size + 1`` rows, one per run in order) replaces the averaged vectors.
    """
    vectors = side.embeddings.astype(np.float64)
    lengths = np.maximum(side.lengths.astype(np.float64), 1.0)
    n, dim = vectors.shape
    summed = np.zeros((n + 1, dim))
    summed[1:] = np.cumsum(vectors * lengths[:, None], axis=0)
    chars = np.concatenate([[0.0], np.cumsum(lengths)])
    out = np.zeros((n + 1, dim))
    out_chars = np.zeros(n + 1)
    if size <= n:
        out[size:] = summed[size:] - summed[:n + 1 - size]
        out_chars[size:] = chars[size:] - chars[:n + 1 - size]
        if runs is not None:
            out[size:] = runs
        norms = np.linalg.norm(out[size:], axis=1, keepdims=True)
        out[size:] /= np.where(norms > 0, norms, 1.0)
    return out, out_chars


def band_limits(n: int, m: int, anchors: list[tuple[int, int]], width: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """First and last DP column of every row ``0 … n`` around the anchored path."""
    xs = [0.0] + [i + 0.5 for i, _ in anchors] + [float(n)]
    ys = [0.0] + [j + 0.5 for _, j in anchors] + [float(m)]
    expected = np.interp(np.arange(n + 1, dtype=np.float64), xs, ys)
    before = np.concatenate([expected[:1], expected[:-1]])
    after = np.concatenate([expected[1:], expected[-1:]])
    lo = np.clip(np.floor(np.minimum(before, expected)) - width, 0, m).astype(np.int64)
    hi = np.clip(np.ceil(np.maximum(after, expected)) + width, 0, m).astype(np.int64)
    lo[0], hi[-1] = 0, m
    return lo, hi


def _outside_mean(left_sim: np.ndarray, right_sim: np.ndarray, has_left: np.ndarray | bool,
                  has_right: np.ndarray | bool) -> np.ndarray:
    """Bertalign's neighbour baseline from the similarities with the sentence just left and
    just right of a unit, where those exist: both present → their mean, one → it, none → 0."""
    left_sim, right_sim = np.where(has_left, left_sim, 0.0), np.where(has_right, right_sim, 0.0)
    return np.where(has_left & has_right, (left_sim + right_sim) / 2, left_sim + right_sim)


@dataclass(frozen=True)
class OrderedPath:
    """What one ordered alignment computed: the scoring inputs of :func:`_block_scores`
    (``scores``), the pair's score spread and the merge cost it sets, the band, the skip costs
    of the final path (step 6) and the path, as ``(size_a, size_b, i, j)`` link ends in
    document order."""

    scores: tuple
    spread: float
    merge_cost: float
    lo: np.ndarray
    hi: np.ndarray
    skip_a: np.ndarray
    skip_b: np.ndarray
    path: list[tuple[int, int, int, int]]


def ordered_path(a: SideData, b: SideData, anchors: list[tuple[int, int]],
                 params: OrderedParams = OrderedParams(),
                 matched_a: np.ndarray | None = None,
                 matched_b: np.ndarray | None = None) -> OrderedPath:
    """Steps 1–6 for ``a`` and ``b`` (arguments as :func:`align_ordered`): the best path and
    what it was scored with."""
    n, m = len(a), len(b)
    matched_a = np.ones(n, bool) if matched_a is None else np.asarray(matched_a, bool)
    matched_b = np.ones(m, bool) if matched_b is None else np.asarray(matched_b, bool)
    sizes = range(1, params.max_align)
    units_a = {size: _units(a, size, (a.runs or {}).get(size)) for size in sizes}
    units_b = {size: _units(b, size, (b.runs or {}).get(size)) for size in sizes}
    sent_a, sent_b = a.embeddings.astype(np.float64), b.embeddings.astype(np.float64)
    ratio = (float(a.lengths.sum()) or 1.0) / (float(b.lengths.sum()) or 1.0)
    scores = (units_a, units_b, sent_a, sent_b, ratio, params)
    spread = score_spread(n, m, scores) if n and m else 0.0
    merge_cost = params.merge_cost * spread
    lo, hi = band_limits(n, m, anchors, params.band)
    skip_a = np.where(matched_a, params.skip, params.skip_unmatched)
    skip_b = np.where(matched_b, params.skip, params.skip_unmatched)
    path = _best_path(n, m, lo, hi, skip_a, skip_b, merge_cost, scores)
    unmatched = int((~matched_a).sum() + (~matched_b).sum())
    if unmatched:
        left_out = sum(int(not (matched_a[i - 1] if size_a else matched_b[j - 1]))
                       for size_a, size_b, i, j in path if not (size_a and size_b))
        if left_out < params.unmatched_min_share * unmatched:
            skip_a, skip_b = np.full(n, params.skip), np.full(m, params.skip)
            path = _best_path(n, m, lo, hi, skip_a, skip_b, merge_cost, scores)
    return OrderedPath(scores, spread, merge_cost, lo, hi, skip_a, skip_b, path)


def align_ordered(a: SideData, b: SideData, anchors: list[tuple[int, int]],
                  params: OrderedParams = OrderedParams(),
                  matched_a: np.ndarray | None = None,
                  matched_b: np.ndarray | None = None) -> list[Link]:
    """Monotone alignment of ``a`` and ``b`` covering every sentence of both (module doc).

    ``matched_a`` / ``matched_b`` (booleans per sentence, default all True) say which
    sentences have a counterpart candidate; the others cost ``skip_unmatched`` to leave out,
    unless the first path shows that they are not drops (step 6).
    Each side's ``runs`` (:class:`pipeline.alignlib.SideData`) give its units' vectors; sizes
    not given are averaged from the sentence vectors.
    Returns links in document order, 1-0 / 0-1 included (score and margin 0).
    """
    if len(a) == 0 and len(b) == 0:
        return []
    found = ordered_path(a, b, anchors, params, matched_a, matched_b)
    links = []
    for size_a, size_b, i, j in found.path:
        unit_a, unit_b = tuple(range(i - size_a, i)), tuple(range(j - size_b, j))
        if size_a and size_b:
            cosine, neighbours = _unit_scores(i, size_a, np.array([j]), size_b,
                                              *found.scores)[1:]
            margin = float(cosine[0] / neighbours[0]) if neighbours[0] > 0 else 0.0
            links.append(Link(unit_a, unit_b, float(cosine[0]), margin))
        else:
            links.append(Link(unit_a, unit_b, 0.0, 0.0))
    return links


#: Rows of the 1-1 score matrix sampled (evenly, all columns each) for the pair's spread.
SPREAD_ROWS = 200


def score_spread(n: int, m: int, scores: tuple) -> float:
    """Robust standard deviation (IQR / 1.349) of the pair's 1-1 scores on evenly spaced rows,
    scored ``ROW_BLOCK`` rows at a time."""
    rows = np.arange(1, n + 1, max(1, n // SPREAD_ROWS))
    columns = np.broadcast_to(np.arange(1, m + 1), (ROW_BLOCK, m))
    values = np.concatenate([
        _block_scores(block, columns[:len(block)], 1, 1, *scores)[0].ravel()
        for block in (rows[start:start + ROW_BLOCK] for start in range(0, len(rows), ROW_BLOCK))])
    low, high = np.quantile(values, [0.25, 0.75])
    return float(high - low) / 1.349


#: DP rows whose gains are scored together: one matrix product per unit size (or pair of sizes)
#: over the rows' band columns, instead of one per row and alignment type.
ROW_BLOCK = 64


def _best_path(n: int, m: int, lo: np.ndarray, hi: np.ndarray, skip_a: np.ndarray,
               skip_b: np.ndarray, merge_cost: float, scores: tuple
               ) -> list[tuple[int, int, int, int]]:
    """Step 5: the best path through the band, as ``(size_a, size_b, i, j)`` link ends in
    document order (``a[i - size_a:i]`` with ``b[j - size_b:j]``)."""
    types = alignment_types(scores[-1].max_align)
    cost: list[np.ndarray] = []
    pointer: list[np.ndarray] = []
    gains: dict[int, np.ndarray] = {}
    for i in range(n + 1):
        if i % ROW_BLOCK == 0:  # the next block's gains, every type with units on both sides
            rows = np.arange(i, min(i + ROW_BLOCK, n + 1))
            width = int((hi[rows] - lo[rows]).max()) + 1  # this block's widest row
            band = np.minimum(lo[rows][:, None] + np.arange(width), hi[rows][:, None])
            gains = {number: _block_scores(rows, np.maximum(band, size_b), size_a, size_b,
                                           *scores)[0] - merge_cost * (size_a + size_b - 2)
                     for number, (size_a, size_b) in enumerate(types)
                     if 1 <= size_a <= n and 1 <= size_b <= m}
        cols = np.arange(lo[i], hi[i] + 1)
        best = np.full(len(cols), -np.inf)
        chosen = np.full(len(cols), -1, dtype=np.int64)
        if i == 0 and lo[0] == 0:
            best[0] = 0.0
        for number, (size_a, size_b) in enumerate(types):
            if size_a == 0 or size_a > i:
                continue
            prev_row = i - size_a
            prev_cols = cols - size_b
            ok = (prev_cols >= lo[prev_row]) & (prev_cols <= hi[prev_row])
            if not ok.any():
                continue
            previous = np.full(len(cols), -np.inf)
            previous[ok] = cost[prev_row][prev_cols[ok] - lo[prev_row]]
            # (where not ok, previous is -inf, so a gain read at a clipped column never counts)
            gain = (np.full(len(cols), skip_a[i - 1]) if size_b == 0
                    else gains[number][i % ROW_BLOCK, :len(cols)])
            candidate = previous + gain
            better = candidate > best
            best[better] = candidate[better]
            chosen[better] = number
        for c in range(1, len(cols)):  # 0-1: skip a b sentence along the row
            value = best[c - 1] + skip_b[cols[c] - 1]
            if value > best[c]:
                best[c], chosen[c] = value, 0
        cost.append(best)
        pointer.append(chosen)

    path = []
    i, j = n, m
    while i > 0 or j > 0:
        number = int(pointer[i][j - lo[i]])
        if number < 0:
            raise RuntimeError("ordered alignment: no path through the band")
        size_a, size_b = types[number]
        path.append((size_a, size_b, i, j))
        i, j = i - size_a, j - size_b
    return path[::-1]


def _unit_scores(i: int, size_a: int, cols: np.ndarray, size_b: int, *scores
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """DP gain, plain cosine and neighbour similarity of unit ``a[i-size_a:i]`` against each
    unit ``b[j-size_b:j]`` for ``j`` in ``cols``."""
    gain, cosine, neighbours = _block_scores(np.array([i]), np.asarray(cols)[None, :], size_a,
                                             size_b, *scores)
    return gain[0], cosine[0], neighbours[0]


def _block_scores(rows: np.ndarray, cols: np.ndarray, size_a: int, size_b: int, units_a,
                  units_b, sent_a: np.ndarray, sent_b: np.ndarray, ratio: float,
                  params: OrderedParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Step 4 for unit ``a[i-size_a:i]`` (``i`` in ``rows``) against unit ``b[j-size_b:j]``
    (``j`` in that row of ``cols``, each in ``size_b … m``): DP gain, plain cosine and neighbour
    similarity, each ``len(rows) × cols.shape[1]``. The similarities come from three matrix
    products over the spans of units and sentences the block reads."""
    count, n, m = params.neighbours, len(sent_a), len(sent_b)
    first, last = int(cols.min()), int(cols.max())
    vectors_a = units_a[size_a][0][rows]
    vectors_b = units_b[size_b][0][first:last + 1]
    cosine = np.take_along_axis(vectors_a @ vectors_b.T, cols - first, axis=1)
    # units a against the b sentences just outside units b, units b against the a sentences
    # just outside units a
    b_start = max(first - size_b - count, 0)
    around_a = vectors_a @ sent_b[b_start:max(last + count, b_start)].T
    a_start = max(int(rows.min()) - size_a - count, 0)
    around_b = vectors_b @ sent_a[a_start:max(int(rows.max()) + count, a_start)].T
    unit_b = cols - first
    neighbours = np.zeros(cols.shape)
    for d in range(count):  # the sentences at distance d + 1 outside each unit
        left, right = cols - size_b - 1 - d, cols + d
        has_left, has_right = left >= 0, right < m
        of_a = _outside_mean(np.take_along_axis(around_a, np.where(has_left, left - b_start, 0),
                                                axis=1),
                             np.take_along_axis(around_a, np.where(has_right, right - b_start, 0),
                                                axis=1),
                             has_left, has_right)
        left_a, right_a = rows - size_a - 1 - d, rows + d
        has_left_a, has_right_a = (left_a >= 0)[:, None], (right_a < n)[:, None]
        of_b = _outside_mean(around_b[unit_b, np.where(has_left_a, left_a[:, None] - a_start, 0)],
                             around_b[unit_b, np.where(has_right_a, right_a[:, None] - a_start, 0)],
                             has_left_a, has_right_a)
        neighbours += (of_a + of_b) / 2
    neighbours /= count
    gain = cosine - neighbours if params.margin else cosine.copy()
    if params.length_penalty:
        chars_a = units_a[size_a][1][rows][:, None]
        chars_b = units_b[size_b][1][cols] * ratio
        shorter, longer = np.minimum(chars_a, chars_b), np.maximum(chars_a, chars_b)
        gain = gain * np.log2(1.0 + shorter / np.maximum(longer, 1e-9))
    return gain, cosine, neighbours
