"""Margin-based sentence alignment between two documents — the whole algorithm, model-free.

Input: unit sentence embeddings of both documents and L2-normalised TF-IDF rows of their
(English, where translated) text. Output: aligned pairs, 1-1 plus 1-2 / 2-1 merges.

1. Similarity ``s(a, b) = (1 - w) · cos(e_a, e_b) + w · cos(tfidf_a, tfidf_b)``. The lexical
   term carries what multilingual embeddings blur on one-topic news: names, numbers and rare
   words (Su-35, BRICS, TASS) that survive translation, or whole phrases once a sentence is
   translated to English.
2. Ratio margin (Artetxe & Schwenk 2019, as in LASER/LaBSE bitext mining):
   ``margin(a, b) = s(a, b) / ((knn(a) + knn(b)) / 2)``, ``knn(x)`` being the mean similarity of
   ``x`` to its ``k`` nearest neighbours in the other document. A sentence that resembles
   everything (one-topic news) gets a high ``knn`` and so a low margin.
3. Mutual best: ``a``'s best margin is ``b`` and ``b``'s is ``a``, with margin ≥ ``min_margin``.
   No order is assumed (news reorders statements); each sentence aligns at most once per pair.
4. Merges: a 1-1 pair ``(a, b)`` grows to ``(a, a±1) → b`` (2-1) or ``a → (b, b±1)`` (1-2) when
   the neighbour is unaligned and the merged unit scores higher than the pair alone: by
   ``merge_gain`` if the neighbour's own best match is the same sentence (it lost the mutual-best
   contest to its neighbour), by the larger ``merge_gain_any`` otherwise. A merged unit's
   embedding is the length-weighted mean of its sentences' embeddings (mean pooling makes this
   close to embedding the concatenation), re-normalised.

Candidates. Step 2's ``knn`` means and step 3's best matches only look at each sentence's top
``candidates`` (by ``s``) in the other document, found one of two ways:

- exact (:func:`nearest`), when neither side has more than ``exact_pair_max`` sentences:
  ``s`` is computed in row blocks of ``BLOCK_ROWS`` against the whole other side and only the
  top ``candidates`` per row and per column are kept;
- approximate (:func:`candidate_nearest`), for larger groups (a long transcript, a live blog, a
  document group merged from many files): a FAISS index over each side's embeddings
  (``IndexHNSWFlat``, inner product, ``HNSW_M`` links, efSearch ``HNSW_EF_SEARCH``; a side with
  at most ``exact_pair_max`` sentences gets an exact ``IndexFlatIP``) returns the top
  ``candidates`` *dense* neighbours of every sentence, in both directions. ``s`` (dense plus
  lexical) is computed only for the union of those pairs, in blocks of ``PAIR_BLOCK``, and each
  row's and column's top ``candidates`` — and so the ``knn`` means of the margin — come from
  those scores. The lexical term thus re-ranks dense candidates but cannot add new ones. HNSW is
  built single-threaded (parallel insertion makes the graph depend on thread timing) and
  searched with a fixed efSearch, so the result is deterministic.

Neither path holds a ``len(a) × len(b)`` matrix. The exact one keeps ``(len(a) + len(b)) ·
candidates`` scores plus one ``BLOCK_ROWS × len(b)`` block, and its time grows with
``len(a) · len(b)``; the approximate one holds only ``O((len(a) + len(b)) · candidates)`` and its
time grows about as ``(len(a) + len(b)) · log``. The exact path stays the faster one up to tens of
thousands of sentences per side (on a 2-core machine, e5-like vectors: 6.6 s against 14 s at
8,192 × 8,192, 23 s against 45 s at 16,384 × 16,384, with identical links), hence the default
``exact_pair_max`` of 8,192, where the exact path peaks at about 140 MB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

BLOCK_ROWS = 1024
#: Approximate candidate search (groups above ``AlignParams.exact_pair_max`` sentences).
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128
PAIR_BLOCK = 8192


@dataclass(frozen=True)
class AlignParams:
    k: int = 4
    candidates: int = 16
    lexical_weight: float = 0.15
    min_margin: float = 1.02
    mutual: bool = True
    one_sided_margin: float | None = None
    merges: bool = True
    merge_gain: float = 0.0
    merge_gain_any: float = 0.02
    merge_lengths: bool = False
    exact_pair_max: int = 8192


@dataclass(frozen=True)
class SideData:
    """One document's sentences: embeddings (n×d, unit rows), TF-IDF rows, lengths.

    ``runs`` optionally maps a size ``s`` to the embeddings of the document's runs of ``s``
    consecutive sentences (row ``r``: sentences ``r … r + s - 1``), embedded as one text; a
    merged unit uses them instead of averaging its sentences' vectors.
    """

    embeddings: np.ndarray
    lexical: sparse.csr_matrix
    lengths: np.ndarray
    runs: dict[int, np.ndarray] | None = None

    def __len__(self) -> int:
        return self.embeddings.shape[0]


@dataclass(frozen=True)
class Link:
    """Aligned sentence indices of each side, with similarity and margin."""

    a: tuple[int, ...]
    b: tuple[int, ...]
    score: float
    margin: float

    @property
    def kind(self) -> str:
        return f"{len(self.a)}-{len(self.b)}"


def similarity(a: SideData, b: SideData, rows: slice, weight: float) -> np.ndarray:
    """Combined similarity of ``a[rows]`` against every sentence of ``b``."""
    dense = a.embeddings[rows] @ b.embeddings.T
    if weight == 0:
        return dense
    lexical = (a.lexical[rows] @ b.lexical.T).toarray()
    return (1.0 - weight) * dense + weight * lexical


def _top(values: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the ``count`` largest entries per row, in descending order."""
    count = min(count, values.shape[1])
    values = np.ascontiguousarray(values)  # row-wise partition on a transposed view is slow
    part = np.argpartition(values, values.shape[1] - count, axis=1)[:, -count:]
    part_values = np.take_along_axis(values, part, axis=1)
    order = np.lexsort((part, -part_values), axis=1)
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(part_values, order, axis=1)


def nearest(a: SideData, b: SideData, params: AlignParams):
    """Top candidates of each ``a`` row in ``b`` and of each ``b`` row in ``a`` (blockwise)."""
    count = min(params.candidates, len(b))
    forward_idx = np.zeros((len(a), count), dtype=np.int64)
    forward_val = np.zeros((len(a), count), dtype=np.float32)
    back_count = min(params.candidates, len(a))
    back_idx = np.zeros((len(b), 0), dtype=np.int64)
    back_val = np.zeros((len(b), 0), dtype=np.float32)
    for start in range(0, len(a), BLOCK_ROWS):
        rows = slice(start, min(start + BLOCK_ROWS, len(a)))
        block = similarity(a, b, rows, params.lexical_weight).astype(np.float32)
        forward_idx[rows], forward_val[rows] = _top(block, count)
        col_idx, col_val = _top(block.T, back_count)
        merged_idx = np.concatenate([back_idx, col_idx + start], axis=1)
        merged_val = np.concatenate([back_val, col_val], axis=1)
        keep, back_val = _top(merged_val, back_count)
        back_idx = np.take_along_axis(merged_idx, keep, axis=1)
    return forward_idx, forward_val, back_idx, back_val


def dense_neighbours(queries: np.ndarray, base: np.ndarray, count: int,
                     exact_max: int) -> np.ndarray:
    """Indices of the ``count`` largest inner products of each query row with ``base`` rows.

    Exact (``IndexFlatIP``) when ``base`` has at most ``exact_max`` rows, HNSW otherwise; never
    returns -1 (rows HNSW leaves short are searched again exactly).
    """
    import faiss

    base = np.ascontiguousarray(base, dtype=np.float32)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    dim = base.shape[1]
    if len(base) <= exact_max:
        index = faiss.IndexFlatIP(dim)
        index.add(base)
    else:
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)  # parallel insertion makes the graph depend on timing
        try:
            index.add(base)
        finally:
            faiss.omp_set_num_threads(threads)
        index.hnsw.efSearch = max(HNSW_EF_SEARCH, count)
    _, found = index.search(queries, count)
    short = (found < 0).any(axis=1)
    if short.any():
        exact = faiss.IndexFlatIP(dim)
        exact.add(base)
        _, found[short] = exact.search(queries[short], count)
    return found.astype(np.int64)


def pair_similarity(a: SideData, b: SideData, rows: np.ndarray, cols: np.ndarray,
                    weight: float, dtype: type = np.float32) -> np.ndarray:
    """Combined similarity of the pairs ``(a[rows[n]], b[cols[n]])``, in blocks."""
    out = np.empty(len(rows), dtype=dtype)
    for start in range(0, len(rows), PAIR_BLOCK):
        r, c = rows[start:start + PAIR_BLOCK], cols[start:start + PAIR_BLOCK]
        dense = np.einsum("ij,ij->i", a.embeddings[r].astype(dtype), b.embeddings[c].astype(dtype))
        if weight == 0:
            out[start:start + len(r)] = dense
            continue
        lexical = np.asarray(a.lexical[r].astype(dtype).multiply(b.lexical[c].astype(dtype))
                             .sum(axis=1), dtype=dtype)
        out[start:start + len(r)] = (1.0 - weight) * dense + weight * lexical.ravel()
    return out


def _top_groups(groups: np.ndarray, members: np.ndarray, scores: np.ndarray, n_groups: int,
                count: int) -> tuple[np.ndarray, np.ndarray]:
    """Per group, the ``count`` members of highest score, sorted by (-score, member)."""
    order = np.lexsort((members, -scores, groups))
    groups, members, scores = groups[order], members[order], scores[order]
    starts = np.searchsorted(groups, np.arange(n_groups))
    rank = np.arange(len(groups)) - starts[groups]
    if np.any(np.bincount(groups, minlength=n_groups) < count):
        raise RuntimeError("a sentence has fewer candidates than requested")
    keep = rank < count
    idx = np.zeros((n_groups, count), dtype=np.int64)
    val = np.zeros((n_groups, count), dtype=np.float32)
    idx[groups[keep], rank[keep]] = members[keep]
    val[groups[keep], rank[keep]] = scores[keep]
    return idx, val


def candidate_nearest(a: SideData, b: SideData, params: AlignParams):
    """Like :func:`nearest`, from FAISS dense candidates instead of the whole similarity matrix.

    Every ``a`` row's top ``candidates`` dense neighbours in ``b`` and every ``b`` row's in
    ``a`` make the candidate pairs; their combined similarity ranks each row's and each
    column's candidates. Memory: ``O((len(a) + len(b)) · candidates)``.
    """
    count_b, count_a = min(params.candidates, len(b)), min(params.candidates, len(a))
    forward = dense_neighbours(a.embeddings, b.embeddings, count_b, params.exact_pair_max)
    back = dense_neighbours(b.embeddings, a.embeddings, count_a, params.exact_pair_max)
    rows = np.concatenate([np.repeat(np.arange(len(a), dtype=np.int64), count_b), back.ravel()])
    cols = np.concatenate([forward.ravel(), np.repeat(np.arange(len(b), dtype=np.int64), count_a)])
    flat = np.unique(rows * len(b) + cols)  # each pair once, sorted by (row, col)
    rows, cols = flat // len(b), flat % len(b)
    scores = pair_similarity(a, b, rows, cols, params.lexical_weight)
    forward_idx, forward_val = _top_groups(rows, cols, scores, len(a), count_b)
    back_idx, back_val = _top_groups(cols, rows, scores, len(b), count_a)
    return forward_idx, forward_val, back_idx, back_val


def rescored(a: SideData, b: SideData, idx: np.ndarray, weight: float
             ) -> tuple[np.ndarray, np.ndarray]:
    """Each row's candidates ``idx`` (rows of ``a``, columns of ``b``) re-scored in float64 and
    re-ranked by (-score, index): the float32 search found them, but their values — and so
    margins and links — must not depend on BLAS blocking or the CPU's SIMD width."""
    n, count = idx.shape
    if n == 0 or count == 0:
        return idx, np.zeros(idx.shape, dtype=np.float64)
    rows = np.repeat(np.arange(n, dtype=np.int64), count)
    values = pair_similarity(a, b, rows, idx.ravel(), weight, np.float64).reshape(n, count)
    order = np.lexsort((idx, -values), axis=1)
    return np.take_along_axis(idx, order, axis=1), np.take_along_axis(values, order, axis=1)


def ratio_margin(scores: np.ndarray, denominators: np.ndarray) -> np.ndarray:
    """``scores / denominators``, or -inf where that ratio means nothing (denominator ≤ 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        margins = scores / denominators
    return np.where((denominators > 0) & (scores > 0), margins, -np.inf)


def _merged_unit(side: SideData, indices: tuple[int, ...], lexical_too: bool = True
                 ) -> tuple[np.ndarray, sparse.csr_matrix | None]:
    if side.runs and len(indices) in side.runs:  # embedded as one text
        vector = side.runs[len(indices)][min(indices)].astype(np.float64)
    else:
        weights = side.lengths[list(indices)].astype(np.float64)
        vector = (weights[:, None] * side.embeddings[list(indices)].astype(np.float64)).sum(0)
    vector /= np.linalg.norm(vector) or 1.0
    if not lexical_too:
        return vector, None
    # Summed as a sparse row: a dense row would be as wide as the corpus's vocabulary.
    rows = side.lexical[list(indices)].astype(np.float64)
    lexical = sparse.csr_matrix(np.ones((1, len(indices)))) @ rows
    norm = float(np.sqrt(lexical.multiply(lexical).sum()))
    lexical = sparse.csr_matrix(lexical / (norm or 1.0))
    return vector, lexical


def _unit_score(a: SideData, ia: tuple[int, ...], b: SideData, ib: tuple[int, ...],
                weight: float) -> float:
    va, la = _merged_unit(a, ia, bool(weight))
    vb, lb = _merged_unit(b, ib, bool(weight))
    lexical = float((la @ lb.T).toarray()[0, 0]) if weight else 0.0
    return float((1.0 - weight) * float(va @ vb) + weight * lexical)


def align_pair(a: SideData, b: SideData, params: AlignParams = AlignParams()) -> list[Link]:
    """Align the sentences of two documents; see the module docstring for the method."""
    if len(a) == 0 or len(b) == 0:
        return []
    if max(len(a), len(b)) <= params.exact_pair_max:
        forward_idx, forward_val, back_idx, back_val = nearest(a, b, params)
    else:
        forward_idx, forward_val, back_idx, back_val = candidate_nearest(a, b, params)
    forward_idx, forward_val = rescored(a, b, forward_idx, params.lexical_weight)
    back_idx, back_val = rescored(b, a, back_idx, params.lexical_weight)
    k_a, k_b = min(params.k, len(b)), min(params.k, len(a))
    knn_a = forward_val[:, :k_a].mean(axis=1)
    knn_b = back_val[:, :k_b].mean(axis=1)

    forward_margin = ratio_margin(forward_val, (knn_a[:, None] + knn_b[forward_idx]) / 2)
    back_margin = ratio_margin(back_val, (knn_b[:, None] + knn_a[back_idx]) / 2)
    best_b = forward_idx[np.arange(len(a)), forward_margin.argmax(axis=1)]
    best_a = back_idx[np.arange(len(b)), back_margin.argmax(axis=1)]
    best_margin_a = forward_margin.max(axis=1)
    score_of = {(i, int(j)): float(v) for i in range(len(a))
                for j, v in zip(forward_idx[i], forward_val[i], strict=True)}

    best_margin_b = back_margin.max(axis=1)
    links: list[Link] = []
    for i in range(len(a)):
        j = int(best_b[i])
        margin = float(best_margin_a[i])
        if margin < params.min_margin:
            continue
        if params.mutual and int(best_a[j]) != i:
            continue
        links.append(Link((i,), (j,), score_of[(i, j)], margin))
    if params.one_sided_margin is not None:
        links += _one_sided(a, b, links, params, best_b, best_margin_a, best_a, best_margin_b,
                            score_of)
    if params.merges:
        links = _extend_merges(a, b, links, params, best_b, best_a)
    return sorted(links, key=lambda link: (link.a, link.b))


def _one_sided(a, b, links, params, best_b, best_margin_a, best_a, best_margin_b, score_of):
    """Extra links where only one side's best match agrees, at a stricter margin.

    Comparable news is many-to-many: one outlet's summary sentence can restate two sentences of
    another. Those second partners are never mutual best, so they need their own threshold.
    """
    have = {(link.a[0], link.b[0]) for link in links}
    extra = {}
    for i in range(len(a)):
        j = int(best_b[i])
        if best_margin_a[i] >= params.one_sided_margin and (i, j) not in have:
            extra[(i, j)] = float(best_margin_a[i])
    for j in range(len(b)):
        i = int(best_a[j])
        if best_margin_b[j] >= params.one_sided_margin and (i, j) not in have:
            extra[(i, j)] = max(extra.get((i, j), 0.0), float(best_margin_b[j]))
    out = []
    for (i, j), margin in sorted(extra.items()):
        score = score_of.get((i, j))
        if score is None:
            score = _unit_score(a, (i,), b, (j,), params.lexical_weight)
        out.append(Link((i,), (j,), score, margin))
    return out


#: Fewest 1-1 links from which a pair's typical length ratio is estimated.
LENGTH_RATIO_LINKS = 5


def _typical_length_ratio(a: SideData, b: SideData, links: list[Link]) -> float | None:
    """The median log length ratio (b over a) of a pair's 1-1 links: how much longer one
    language writes the same sentence (Gale & Church's signal, estimated per pair)."""
    ratios = [np.log(max(b.lengths[link.b[0]], 1) / max(a.lengths[link.a[0]], 1))
              for link in links if len(link.a) == len(link.b) == 1]
    return float(np.median(ratios)) if len(ratios) >= LENGTH_RATIO_LINKS else None


def _length_gap(a: SideData, unit_a: tuple[int, ...], b: SideData, unit_b: tuple[int, ...],
                typical: float) -> float:
    """How far a unit pair's log length ratio is from the pair's typical one."""
    length_a = sum(int(a.lengths[i]) for i in unit_a)
    length_b = sum(int(b.lengths[j]) for j in unit_b)
    return abs(np.log(max(length_b, 1) / max(length_a, 1)) - typical)


def _extend_merges(a: SideData, b: SideData, links: list[Link], params: AlignParams,
                   best_b: np.ndarray, best_a: np.ndarray) -> list[Link]:
    """Grow 1-1 links into 2-1 / 1-2 where an unaligned neighbour's own best match agrees."""
    used_a = {i for link in links for i in link.a}
    used_b = {j for link in links for j in link.b}
    typical = _typical_length_ratio(a, b, links) if params.merge_lengths else None
    result = []
    for link in links:
        (i,), (j,) = link.a, link.b
        best = link
        options = [((min(i, n), max(i, n)), (j,), best_b[n] == j) for n in (i - 1, i + 1)
                   if 0 <= n < len(a) and n not in used_a]
        options += [((i,), (min(j, n), max(j, n)), best_a[n] == i) for n in (j - 1, j + 1)
                    if 0 <= n < len(b) and n not in used_b]
        for unit_a, unit_b, agrees in options:
            score = _unit_score(a, unit_a, b, unit_b, params.lexical_weight)
            gain = params.merge_gain if agrees else params.merge_gain_any
            if score > best.score + gain and (typical is None or _length_gap(
                    a, unit_a, b, unit_b, typical) < _length_gap(a, best.a, b, best.b, typical)):
                best = Link(unit_a, unit_b, score, link.margin * score / link.score)
        used_a.update(best.a)
        used_b.update(best.b)
        result.append(best)
    return result
