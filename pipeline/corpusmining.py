"""Corpus-wide sentence mining: which sentences of a whole job restate each other, and which
document pairs those links support. The whole algorithm, model-free.

A job is a crawl: many stories, many outlets, several languages. Aligned one document pair at a
time, with margins computed inside the pair, two unrelated documents always yield "best" pairs.
Here, as in LASER / CCMatrix bitext mining, a sentence's neighbourhood is the whole corpus:

1. **Eligible partners.** Sentence ``i`` may pair with ``j`` only across documents; across
   outlets unless ``same_outlet``; across languages under ``pairs: cross_language``; within one
   file stem under ``same_stem``; and within ``date_window_days`` when both documents are dated.
2. **Neighbours per target language.** For every sentence and every language of the job, the
   ``candidates`` most similar eligible sentences in that language, by the combined similarity
   ``s = (1 - w)·cos(e_i, e_j) + w·cos(tfidf_i, tfidf_j)`` of :mod:`pipeline.alignlib`.
   Neighbourhoods are kept per language because cross-lingual similarities run lower than
   monolingual ones: in one mixed pool an English sentence's neighbours would all be English
   and a Vietnamese sentence would never be anybody's best match.
3. **Ratio margin** (Artetxe & Schwenk 2019): ``margin(i, j) = s(i, j) / ((knn(i→L_j) +
   knn(j→L_i)) / 2)``, ``knn(x→L)`` being the mean of ``x``'s ``k`` best eligible similarities in
   language ``L``. A sentence that resembles many unrelated sentences (boilerplate, one-topic
   news, a generic quote) gets a low margin everywhere.
4. **Links**: ``i`` and ``j`` are each other's best margin (ties included, so every copy of a
   republished sentence links to every other and to every copy of its paraphrases) and the
   margin reaches ``min_margin``. ``knn`` counts each distinct neighbour once and leaves out a
   sentence's own verbatim copies, as CCMatrix deduplicates before mining.
5. **Story evidence**: a document pair is *supported* when it holds at least ``min_links``
   links that are also ``min_link_share`` of the shorter document's sentences, or one link of
   margin ≥ ``strong_margin`` (an *evidence* pair), or any link while both documents form
   evidence pairs with one third document (``weak_pairs``). Only supported pairs are aligned
   (:mod:`pipeline.stages.align`); documents of different stories share no such links.

Search. Exact: a sentence's candidates in a language are exactly its ``candidates`` best
eligible partners by float64 similarity, ties to the lower id. The search itself runs in float32
and only prunes: every eligible target within ``2 · SEARCH_TOLERANCE`` of a row's
``candidates``-th best float32 similarity is re-scored in float64, and the candidates re-ranked,
so candidates, margins and links do not depend on the block size, on the CPU's SIMD width, or on
which of the two searches ran:

- **numpy** (any ``lexical_weight``, any date window), in query blocks: queries and targets are
  sorted by (date, document), so under a date window each block of queries is compared only
  with the contiguous range of targets inside the window (plus undated ones): cost grows with
  sentences × sentences-per-window, not with the square of the corpus.
- **FAISS** (the ``fast`` extra; used for dense similarity, ``lexical_weight: 0``, without a
  date window): ``IndexFlatIP`` per target language fetches ``candidates + FETCH_EXTRA``
  neighbours per query, ineligible ones are dropped afterwards, and the rows whose fetched
  neighbours cannot vouch for the pool (too many ineligible, or near-ties past the last one)
  are searched again exactly with numpy.

This holds while float32 errors stay under ``SEARCH_TOLERANCE`` (they are about 1e-7 for unit
vectors) and no row has more than ``MAX_POOL`` targets tied within the tolerance (then the
float32 order, ties to the lower id, picks which are re-scored).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from pipeline.alignlib import SideData, pair_similarity

#: Margins within this of a threshold pass it: a sentence republished verbatim by more than
#: ``k`` outlets has margin 1 up to rounding (its ``k`` best similarities all equal its own).
MARGIN_TOLERANCE = 1e-9
#: Similarities this close to 1 are verbatim copies (see :func:`neighbourhood_means`).
DUPLICATE_TOLERANCE = 1e-6
#: Most float32 similarities held at once by one query block (rows × target range).
BLOCK_CELLS = 1 << 24
MAX_BLOCK_ROWS = 1024
#: Bound on a float32 similarity's error (unit vectors): targets within twice this of a row's
#: ``candidates``-th best float32 similarity are re-scored in float64 before ranking.
SEARCH_TOLERANCE = 1e-4
#: Float32 candidates kept per row beyond ``candidates`` by the numpy search (the pool's room).
POOL_EXTRA = 16
#: Neighbours fetched per query beyond ``candidates`` by the FAISS search, before eligibility
#: filtering (a query's own document and its outlet's other documents fall out there).
FETCH_EXTRA = 32
#: Query rows per FAISS search call.
FAISS_ROWS = 4096
#: Pairs per float64 re-scoring call under dense similarity: the gathered float64 rows stay in
#: cache (four times faster than 8,192 at a time; the same values).
RESCORE_PAIRS = 1024
#: Most targets of one row re-scored in float64 (rows of many equal similarities, e.g. exact
#: zeros of hashing vectors): beyond it the pool keeps the best by (float32 score, id).
MAX_POOL = 256


@dataclass(frozen=True)
class MiningParams:
    k: int = 4
    candidates: int = 16
    lexical_weight: float = 0.15
    min_margin: float = 1.02
    min_score: float = 0.0
    min_links: int = 2
    min_link_share: float = 0.1
    strong_margin: float = 1.25
    #: Which pairs too weakly linked to be evidence are aligned all the same (see
    #: :func:`supported_pairs`): "shared" (both documents are evidence pairs of one third
    #: document), "story" (both lie in one connected story) or "none".
    weak_pairs: str = "shared"
    pairs: str = "cross_document"
    same_outlet: bool = False
    date_window_days: float | None = None


@dataclass(frozen=True)
class CorpusData:
    """The job's sentences, grouped by document, and what eligibility needs of each document.

    ``doc`` (document index, non-decreasing) is per sentence; ``outlet``, ``lang``, ``stem``
    (small integer ids) and ``day`` (days since any epoch, NaN when undated) are per document.
    """

    embeddings: np.ndarray
    lexical: sparse.csr_matrix
    doc: np.ndarray
    outlet: np.ndarray
    lang: np.ndarray
    stem: np.ndarray
    day: np.ndarray

    def __len__(self) -> int:
        return len(self.doc)


@dataclass(frozen=True)
class Neighbours:
    """Each sentence's best eligible partners per target language, best first.

    ``index[i, t, c]`` is a sentence id or -1; ``score`` the float64 similarity (-inf where
    absent); ``knn[i, t]`` the mean of the ``k`` best distinct scores, copies of ``i`` left out
    (:func:`neighbourhood_means`; NaN when ``i`` has no candidate in ``t``).
    """

    index: np.ndarray
    score: np.ndarray
    knn: np.ndarray


@dataclass(frozen=True)
class CorpusLink:
    i: int
    j: int
    score: float
    margin: float


def pair_scores(corpus: CorpusData, rows: np.ndarray, cols: np.ndarray,
                weight: float) -> np.ndarray:
    """float64 combined similarity of the sentence pairs ``(rows[n], cols[n])``."""
    whole = SideData(corpus.embeddings, corpus.lexical, np.zeros(0, dtype=np.float32))
    return pair_similarity(whole, whole, rows, cols, weight, np.float64)


def _sorted_members(corpus: CorpusData, lang: int) -> np.ndarray:
    """Sentences of documents in ``lang``, sorted by (day, document, sentence); undated last."""
    members = np.flatnonzero(corpus.lang[corpus.doc] == lang)
    day = corpus.day[corpus.doc[members]]
    return members[np.lexsort((members, corpus.doc[members], day))]


def _ineligible(corpus: CorpusData, queries: np.ndarray, targets: np.ndarray,
                params: MiningParams) -> np.ndarray:
    """True where a pair may not be linked, for sentence ids ``queries`` and ``targets`` that
    broadcast against each other (``q[:, None]`` and ``t[None, :]`` give queries × targets)."""
    qdoc, tdoc = corpus.doc[queries], corpus.doc[targets]
    mask = qdoc == tdoc
    if not params.same_outlet:
        mask |= corpus.outlet[qdoc] == corpus.outlet[tdoc]
    if params.pairs == "same_stem":
        mask |= corpus.stem[qdoc] != corpus.stem[tdoc]
    if params.date_window_days is not None:
        gap = np.abs(corpus.day[qdoc] - corpus.day[tdoc])
        with np.errstate(invalid="ignore"):
            mask |= gap > params.date_window_days  # NaN (undated) compares False: allowed
    return mask


def _query_blocks(query_days: np.ndarray, target_days: np.ndarray, window: float | None
                  ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Blocks of query positions (queries sorted by day, undated last) and the target positions
    each block must be compared with: the date window's contiguous range plus undated targets."""
    dated = int(np.count_nonzero(~np.isnan(target_days)))
    undated = np.arange(dated, len(target_days))

    def span(start: int, stop: int) -> np.ndarray:
        if window is None or np.isnan(query_days[start:stop]).any():
            return np.arange(len(target_days))
        lo = np.searchsorted(target_days[:dated], query_days[start] - window, "left")
        hi = np.searchsorted(target_days[:dated], query_days[stop - 1] + window, "right")
        return np.concatenate([np.arange(lo, hi), undated])

    blocks = []
    start = 0
    while start < len(query_days):
        stop = min(start + MAX_BLOCK_ROWS, len(query_days))
        targets = span(start, stop)
        limit = max(1, BLOCK_CELLS // max(len(targets), 1))
        if stop - start > limit:  # a wide target range: fewer rows per block
            stop = start + limit
            targets = span(start, stop)
        blocks.append((np.arange(start, stop), targets))
        start = stop
    return blocks


def _floor(values: np.ndarray, count: int, tolerance: float) -> np.ndarray:
    """Per row, the pool's floor: the ``count``-th largest value less ``2 · tolerance``; -inf
    where a row has fewer than ``count`` finite values (then every finite one is in the pool)."""
    if values.shape[1] < count:
        return np.full(len(values), -np.inf)
    kth = -np.partition(-values, count - 1, axis=1)[:, count - 1]
    return np.where(np.isfinite(kth), kth - 2 * tolerance, -np.inf)


class _Searcher:
    """The search of one target language: the pool of every query row, that is, its eligible
    targets whose float32 similarity reaches :func:`_floor` (module doc, Search)."""

    def __init__(self, corpus: CorpusData, params: MiningParams, lexical32: sparse.csr_matrix,
                 targets: np.ndarray, tolerance: float):
        self.corpus, self.params, self.lexical32 = corpus, params, lexical32
        self.targets, self.tolerance = targets, tolerance
        weight = params.lexical_weight
        self.lexical_t = lexical32[targets].T.tocsr() if weight else None

    def scores(self, q: np.ndarray, span: np.ndarray) -> np.ndarray:
        """float32 similarities (queries × ``targets[span]``), ineligible pairs -inf."""
        corpus, weight = self.corpus, self.params.lexical_weight
        t = self.targets[span]
        block = corpus.embeddings[q] @ corpus.embeddings[t].T
        if weight:
            lexical = (self.lexical32[q] @ self.lexical_t[:, span]).toarray()
            block = (1.0 - weight) * block + weight * lexical
        block[_ineligible(corpus, q[:, None], t[None, :], self.params)] = -np.inf
        return block

    def exact(self, q: np.ndarray, span: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pools of the queries ``q`` against ``targets[span]``: (row, target id) pairs."""
        count = self.params.candidates
        block = self.scores(q, span)
        width = min(count + POOL_EXTRA, block.shape[1])
        if width < block.shape[1]:
            part = np.argpartition(block, block.shape[1] - width, axis=1)[:, -width:]
            values = np.take_along_axis(block, part, axis=1)
        else:
            part = np.broadcast_to(np.arange(width), block.shape)
            values = block
        floor = _floor(values, count, self.tolerance)
        whole = width == block.shape[1]
        # rows whose partition's weakest value is under the floor hold their whole pool in it
        if whole:
            held = np.full(len(q), True)
        else:  # (a weakest value of -inf: the row has no other eligible target)
            weakest = values.min(axis=1)
            held = (weakest < floor) | (weakest == -np.inf)
        keep = held[:, None] & np.isfinite(values) & (values >= floor[:, None])
        rows, cols = np.nonzero(keep)
        rows, cols = [rows], [part[rows, cols]]
        for row in np.flatnonzero(~held):  # near-ties past the partition: scan the whole row
            line = block[row]
            found = np.flatnonzero(np.isfinite(line) & (line >= floor[row]))
            most = max(MAX_POOL, count + POOL_EXTRA)
            if len(found) > most:
                found = found[np.lexsort((found, -line[found]))[:most]]
            rows.append(np.full(len(found), row))
            cols.append(found)
        return np.concatenate(rows), self.targets[span[np.concatenate(cols)]]

    def exact_rows(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`exact` against every target, in blocks of at most ``BLOCK_CELLS``."""
        span = np.arange(len(self.targets))
        step = max(1, min(MAX_BLOCK_ROWS, BLOCK_CELLS // max(len(span), 1)))
        rows, ids = [], []
        for start in range(0, len(q), step):
            r, t = self.exact(q[start:start + step], span)
            rows.append(r + start)
            ids.append(t)
        return np.concatenate(rows), np.concatenate(ids)


def _faiss_pools(searcher: _Searcher, index, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pools of the queries ``q`` from a FAISS index over every target (dense similarity, no
    date window); rows the fetched neighbours cannot vouch for go to :meth:`_Searcher.exact`."""
    corpus, count, targets = searcher.corpus, searcher.params.candidates, searcher.targets
    fetch = min(count + FETCH_EXTRA, len(targets))
    raw, found = index.search(np.ascontiguousarray(corpus.embeddings[q], dtype=np.float32),
                              fetch)
    ids = targets[np.where(found >= 0, found, 0)]
    values = np.where((found < 0) | _ineligible(corpus, q[:, None], ids, searcher.params),
                      -np.inf, raw)
    floor = _floor(values, count, searcher.tolerance)
    # every target not fetched scores at most the last fetched one
    held = (np.full(len(q), True) if fetch == len(targets) else raw[:, -1] < floor)
    keep = held[:, None] & np.isfinite(values) & (values >= floor[:, None])
    rows, cols = np.nonzero(keep)
    again = np.flatnonzero(~held)
    if len(again) == 0:
        return rows, ids[rows, cols]
    more_rows, more_ids = searcher.exact_rows(q[again])
    return (np.concatenate([rows, again[more_rows]]),
            np.concatenate([ids[rows, cols], more_ids]))


def _load_faiss(backend: str):
    if backend == "numpy":
        return None
    try:
        import faiss
    except ImportError:
        if backend == "faiss":
            raise ImportError("search(backend='faiss') needs faiss: pip install 'quotetrace[fast]'"
                              " (or pip install faiss-cpu)") from None
        return None
    return faiss


def search(corpus: CorpusData, params: MiningParams, progress=None,
           backend: str = "auto") -> Neighbours:
    """Every sentence's ``candidates`` best eligible partners in each language (module doc).

    ``backend``: ``auto`` (FAISS where it applies and is installed, else numpy), ``numpy`` or
    ``faiss``; all give the same neighbours.
    """
    if backend not in ("auto", "numpy", "faiss"):
        raise ValueError(f"backend must be auto, numpy or faiss, not {backend!r}")
    n, languages = len(corpus), int(corpus.lang.max()) + 1 if len(corpus.lang) else 0
    count = params.candidates
    index = np.full((n, languages, count), -1, dtype=np.int64)
    score = np.full((n, languages, count), -np.inf, dtype=np.float64)
    members = [_sorted_members(corpus, lang) for lang in range(languages)]
    weight = params.lexical_weight
    lexical32 = corpus.lexical.astype(np.float32, copy=False)
    dense_only = weight == 0 and params.date_window_days is None
    if backend == "faiss" and not dense_only:
        raise ValueError("the faiss backend searches dense similarity without a date window "
                         "(lexical_weight: 0, date_window_days unset); use auto or numpy")
    faiss = _load_faiss(backend) if dense_only and count else None
    # float32 error grows with the vectors' norms (1 for the unit rows embedders give)
    norm = max((float(np.einsum("ij,ij->i", rows, rows).max(initial=0.0))
                for rows in np.array_split(corpus.embeddings, max(1, n // 65536 + 1))),
               default=0.0)
    tolerance = SEARCH_TOLERANCE * max(1.0, norm)
    for target_lang in range(languages):
        targets = members[target_lang]
        if len(targets) == 0 or count == 0:
            continue
        searcher = _Searcher(corpus, params, lexical32, targets, tolerance)
        faiss_index = None
        if faiss is not None:
            faiss_index = faiss.IndexFlatIP(corpus.embeddings.shape[1])
            faiss_index.add(np.ascontiguousarray(corpus.embeddings[targets], dtype=np.float32))
        target_days = corpus.day[corpus.doc[targets]]
        for query_lang in range(languages):
            if params.pairs == "cross_language" and query_lang == target_lang:
                continue
            queries = members[query_lang]
            if faiss_index is not None:
                blocks = [(np.arange(start, min(start + FAISS_ROWS, len(queries))), None)
                          for start in range(0, len(queries), FAISS_ROWS)]
            else:
                query_days = corpus.day[corpus.doc[queries]]
                blocks = _query_blocks(query_days, target_days, params.date_window_days)
            for rows, span in blocks:
                q = queries[rows]
                if faiss_index is not None:
                    pool_rows, pool_ids = _faiss_pools(searcher, faiss_index, q)
                else:
                    pool_rows, pool_ids = searcher.exact(q, span)
                _rank(corpus, q[pool_rows], pool_ids, weight, count,
                      index[:, target_lang], score[:, target_lang])
                if progress is not None:
                    progress(len(rows))
    return Neighbours(index, score, neighbourhood_means(score, params.k))


def _rank(corpus: CorpusData, queries: np.ndarray, ids: np.ndarray, weight: float, count: int,
          index: np.ndarray, score: np.ndarray) -> None:
    """Re-score the pools' (query, target) pairs in float64 and write each query's ``count``
    best, by (-score, id), into ``index`` and ``score`` (sentences × slots)."""
    step = RESCORE_PAIRS if weight == 0 else max(len(queries), 1)
    values = np.concatenate([np.zeros(0)] + [
        pair_scores(corpus, queries[start:start + step], ids[start:start + step], weight)
        for start in range(0, len(queries), step)])
    order = np.lexsort((ids, -values, queries))
    queries, ids, values = queries[order], ids[order], values[order]
    first = np.searchsorted(queries, queries)  # queries sorted: each one's first position
    slot = np.arange(len(queries)) - first
    keep = slot < count
    index[queries[keep], slot[keep]] = ids[keep]
    score[queries[keep], slot[keep]] = values[keep]


def neighbourhood_means(score: np.ndarray, k: int) -> np.ndarray:
    """``knn`` of every sentence and language: the mean of its ``k`` best similarities, each
    distinct sentence counted once and verbatim copies of the sentence itself left out.

    Deduplicated as in CCMatrix: a sentence republished by many outlets would otherwise fill
    its own neighbourhood, and every copy's, with similarities of 1, so its margin to any
    paraphrase would fall below 1 and copies and paraphrases of one statement would never link.
    Copies have equal similarities (equal vectors), so equal values count once. Where nothing
    is left (only copies), the plain mean is used.
    """
    finite = np.isfinite(score)
    usable = finite & (score < 1.0 - DUPLICATE_TOLERANCE)
    usable[:, :, 1:] &= score[:, :, 1:] != score[:, :, :-1]  # slots are sorted, best first
    usable &= np.cumsum(usable, axis=2) <= k
    plain = finite & (np.cumsum(finite, axis=2) <= k)
    with np.errstate(invalid="ignore"):
        deduplicated = np.where(usable, score, 0.0).sum(axis=2) / usable.sum(axis=2)
        fallback = np.where(plain, score, 0.0).sum(axis=2) / plain.sum(axis=2)
    # NaN where a sentence has no neighbour in a language
    return np.where(usable.any(axis=2), deduplicated, fallback)


def margins(corpus: CorpusData, neighbours: Neighbours) -> np.ndarray:
    """Ratio margin of every neighbour slot (-inf where absent or meaningless)."""
    sentence_lang = corpus.lang[corpus.doc]
    index, score = neighbours.index, neighbours.score
    found = index >= 0
    partner = np.where(found, index, 0)
    own = neighbours.knn[:, :, None]
    theirs = neighbours.knn[partner, sentence_lang[:, None, None]]
    denominator = (own + theirs) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = score / denominator
    ok = found & (denominator > 0) & (score > 0) & np.isfinite(ratio)
    return np.where(ok, ratio, -np.inf)


def mutual_links(corpus: CorpusData, neighbours: Neighbours, min_margin: float,
                 min_score: float = 0.0) -> list[CorpusLink]:
    """Mutual best pairs: ``i`` is ``j``'s best margin in ``i``'s document and ``j`` is ``i``'s
    best in ``j``'s, each is (up to ties) the other's best margin in the whole corpus, the
    margin reaches ``min_margin`` and the similarity ``min_score``. Sorted by (i, j).

    Ties matter because news is republished: a wire sentence carried verbatim by five outlets
    is five candidates with equal margins, and every copy links to every other, and to every
    copy of a paraphrase of it. A sentence's verbatim copies are linked to it whatever their
    margin and do not count as its corpus-wide best (they would hide its paraphrases). A
    similarity floor guards against embedders whose unrelated similarities are near 0 (their
    ratios are noise).
    """
    if len(corpus) == 0 or neighbours.index.shape[2] == 0:
        return []
    margin = margins(corpus, neighbours)
    copy = neighbours.score >= 1.0 - DUPLICATE_TOLERANCE
    best_other = np.where(copy, -np.inf, margin).max(axis=2)  # per sentence and language
    found = np.isfinite(margin)
    rows = np.broadcast_to(np.arange(len(corpus))[:, None, None], margin.shape)[found]
    cols, values = neighbours.index[found], margin[found]
    scores, copies = neighbours.score[found], copy[found]
    # Best candidate of every sentence in every other document: highest margin, then the
    # higher similarity (slots are ordered by it), then the lower id. Grouped by one integer
    # key (sentence, document), not sorted on the floats: the best is found by group maxima.
    documents = np.int64(len(corpus.outlet))
    group = rows * documents + corpus.doc[cols]
    order = np.argsort(group, kind="stable")  # rows come sorted: runs of one row each
    group, rows, cols, values = group[order], rows[order], cols[order], values[order]
    scores, copies = scores[order], copies[order]
    start = np.ones(len(group), dtype=bool)
    start[1:] = group[1:] != group[:-1]
    starts = np.flatnonzero(start)
    member = np.cumsum(start) - 1  # each candidate's group number
    best = values == np.maximum.reduceat(values, starts)[member]
    best &= scores == np.maximum.reduceat(np.where(best, scores, -np.inf), starts)[member]
    best &= cols == np.minimum.reduceat(np.where(best, cols, np.iinfo(cols.dtype).max),
                                        starts)[member]
    chosen = np.flatnonzero(best)
    chosen = chosen[np.unique(member[chosen], return_index=True)[1]]  # one per group
    rows, cols, values = rows[chosen], cols[chosen], values[chosen]
    scores, copies = scores[chosen], copies[chosen]
    n = np.int64(len(corpus))
    sentence_lang = corpus.lang[corpus.doc]
    tied = ((values >= best_other[rows, sentence_lang[cols]] - MARGIN_TOLERANCE)
            & (values >= best_other[cols, sentence_lang[rows]] - MARGIN_TOLERANCE))
    # (i, j) keys ascend (by sentence, then document, one candidate each): a binary search
    keys = rows * n + cols
    mirror = cols * n + rows
    at = np.minimum(np.searchsorted(keys, mirror), max(len(keys) - 1, 0))
    mutual = ((keys[at] == mirror) & (rows < cols)
              & (copies | (tied & (values >= min_margin - MARGIN_TOLERANCE)))
              & (scores >= min_score))
    # margin and score are symmetric, so each mutual pair is taken once, from its lower id
    return [CorpusLink(i, j, score, value) for i, j, value, score in
            zip(rows[mutual].tolist(), cols[mutual].tolist(), values[mutual].tolist(),
                scores[mutual].tolist(), strict=True)]


#: The values of :attr:`MiningParams.weak_pairs` (see :func:`supported_pairs`).
WEAK_PAIRS = ("shared", "story", "none")


def supported_pairs(corpus: CorpusData, links: list[CorpusLink], params: MiningParams
                    ) -> dict[tuple[int, int], list[CorpusLink]]:
    """Document pairs (lower document id first) that the links support, with their links.

    A pair is *evidence* with ``min_links`` links that are also ``min_link_share`` of the
    shorter document's sentences (long documents of different stories share a few chance
    links: short lines of dialogue, greetings), or one link of margin ≥ ``strong_margin``.
    One outlet's article often restates another's in a few sentences only, and ratio margins
    shrink where several outlets carry the same sentence, so a weaker pair (any link) is
    supported through the evidence around it, by ``params.weak_pairs``:

    - ``shared``: both documents form evidence pairs with one third document (two renditions
      of one article). Local, so its errors do not grow with the corpus: on a 10k-document
      crawl, 4.2% of all linked pairs were of different stories under this rule, against 5.5%
      under ``story``, whose components chain stories together through any one wrong evidence
      pair (``benchmarks/story_support.py``).
    - ``story``: both documents lie in one connected component of evidence pairs.
    - ``none``: evidence pairs only.

    Any other ``weak_pairs`` is a ValueError.
    """
    if params.weak_pairs not in WEAK_PAIRS:
        raise ValueError(f"weak_pairs must be one of {', '.join(WEAK_PAIRS)}, "
                         f"not {params.weak_pairs!r}")
    by_pair: dict[tuple[int, int], list[CorpusLink]] = {}
    for link in links:
        a, b = int(corpus.doc[link.i]), int(corpus.doc[link.j])
        if a > b:
            a, b = b, a
            link = CorpusLink(link.j, link.i, link.score, link.margin)
        by_pair.setdefault((a, b), []).append(link)
    sizes = np.bincount(corpus.doc, minlength=len(corpus.outlet))
    strong = {pair for pair, found in by_pair.items()
              if (len(found) >= params.min_links
                  and len(found) >= params.min_link_share * min(sizes[pair[0]], sizes[pair[1]]))
              or max(link.margin for link in found) >= params.strong_margin}
    if params.weak_pairs == "story":
        weak = _same_story(strong, by_pair, len(corpus.outlet))
    elif params.weak_pairs == "shared":
        weak = _shared_partner(strong, by_pair)
    else:
        weak = set()
    return {pair: found for pair, found in sorted(by_pair.items())
            if pair in strong or pair in weak}


def _same_story(strong: set[tuple[int, int]], pairs: Iterable[tuple[int, int]],
                documents: int) -> set[tuple[int, int]]:
    """The ``pairs`` whose documents lie in one connected component of the ``strong`` pairs."""
    story = list(range(documents))

    def root(d: int) -> int:
        while story[d] != d:
            story[d] = story[story[d]]
            d = story[d]
        return d

    for a, b in sorted(strong):
        story[max(root(a), root(b))] = min(root(a), root(b))
    return {pair for pair in pairs if root(pair[0]) == root(pair[1])}


def _shared_partner(strong: set[tuple[int, int]], pairs: Iterable[tuple[int, int]]
                    ) -> set[tuple[int, int]]:
    """The ``pairs`` whose two documents each form a ``strong`` pair with one third document."""
    partners: dict[int, set[int]] = {}
    for a, b in strong:
        partners.setdefault(a, set()).add(b)
        partners.setdefault(b, set()).add(a)
    return {(a, b) for a, b in pairs
            if not partners.get(a, set()).isdisjoint(partners.get(b, ()))}


def monotone_share(links: list[CorpusLink], position: np.ndarray) -> tuple[float, list[int]]:
    """Share of links on the longest chain increasing on both sides, and that chain's indices.

    A translation keeps its source's order, so nearly all of its links lie on one increasing
    chain; reordered news does not.
    """
    if not links:
        return 0.0, []
    order = sorted(range(len(links)), key=lambda n: (position[links[n].i], position[links[n].j]))
    # Longest strictly increasing subsequence of the b positions, by patience sorting.
    tails: list[int] = []
    tail_at: list[int] = []
    parent = [-1] * len(order)
    for rank, n in enumerate(order):
        value = int(position[links[n].j])
        lo, hi = 0, len(tails)
        while lo < hi:
            mid = (lo + hi) // 2
            if tails[mid] < value:
                lo = mid + 1
            else:
                hi = mid
        if lo:
            parent[rank] = tail_at[lo - 1]
        if lo == len(tails):
            tails.append(value)
            tail_at.append(rank)
        else:
            tails[lo], tail_at[lo] = value, rank
    chain = []
    rank = tail_at[-1]
    while rank >= 0:
        chain.append(order[rank])
        rank = parent[rank]
    chain.reverse()
    return len(chain) / len(links), chain
