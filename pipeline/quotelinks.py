"""Candidate links between quotes: which pairs of quotes may be renditions of one statement.

Model-free: the input is one unit vector per quote (rows of ``vectors``) and, for the
alignment links, the quotes' sentence ids and an ``alignments`` table. Two kinds of links:

- **similarity links** (:func:`linked_pairs`): every pair whose cosine reaches
  ``min_similarity``. Up to ``EXACT_QUOTES`` quotes, every pair is compared, a block of
  ``BLOCK_ROWS`` rows at a time (the values of one Q×Q product, without ever holding it).
  Beyond, identical vectors (one statement reprinted word for word) are compared once
  (:func:`duplicate_groups`), and each distinct vector with its ``NEIGHBOURS`` nearest distinct
  vectors only (:func:`neighbour_pairs`; every pair while there are at most ``EXACT_QUOTES`` of
  them): renditions of one statement are near-duplicates.
- **alignment links** (:func:`aligned_pairs`): quotes whose sentences lie on the two sides of
  one alignment, kept when their cosine reaches the lower ``aligned_min_similarity``.
  An alignment link between two quotes of one language is dropped when one of them gives the
  speaker's words in quote marks (three words or more) and the other says none of them
  (:func:`disowns`): the sentences were aligned on their topic, not their statement.
- **fragment links** (:func:`fragment_pairs`): a quote that puts a speaker's own words in quote
  marks (a partial quote: Putin said ties were a "priority") and the one quote of the same
  known speaker that says those words, most similar to it (a direct quote: "Relations with
  Iran are a priority for us").
  No cosine is needed: a paraphrase around one quoted word is far from the statement it was
  taken from, but the quoted word names it.

The approximate search is an inverted-file index (FAISS ``IndexIVFFlat``, about √n lists, the
``NPROBE`` nearest searched) over the vectors reduced by PCA to ``SEARCH_DIM`` dimensions (both
fitted on at most ``TRAIN_SAMPLE`` evenly spaced vectors). It is deterministic: no step depends
on thread timing. Candidates' similarities are then computed on the full vectors.

:mod:`pipeline.quoteclusters` merges the links into clusters.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from pipeline.text import normalize_for_matching, word_tokens

EXACT_QUOTES = 8_192
BLOCK_ROWS = 2_048
NEIGHBOURS = 16
SEARCH_DIM = 64
NPROBE = 4
TRAIN_SAMPLE = 65_536
SEARCH_BATCH = 65_536
PAIR_BLOCK = 65_536

#: ``(rows, cols, similarity)``: links ``rows[k] < cols[k]`` between quote rows.
Links = tuple[np.ndarray, np.ndarray, np.ndarray]


def aligned_pairs(quotes: pd.DataFrame, alignments: pd.DataFrame) -> set[tuple[int, int]]:
    """Row pairs (i < j) of quotes whose sentences lie on the two sides of one alignment."""
    rows_of_sentence: dict[str, list[int]] = {}
    for i, sent_ids in enumerate(quotes["sent_ids"]):
        for sent_id in sent_ids:
            rows_of_sentence.setdefault(sent_id, []).append(i)
    pairs: set[tuple[int, int]] = set()
    for side_a, side_b in zip(alignments["sent_ids_a"], alignments["sent_ids_b"], strict=True):
        rows_a = {i for s in side_a for i in rows_of_sentence.get(s, ())}
        rows_b = {j for s in side_b for j in rows_of_sentence.get(s, ())}
        pairs.update((min(i, j), max(i, j)) for i in rows_a for j in rows_b if i != j)
    return pairs


#: Text in straight double quotes, after :func:`pipeline.text.normalize_for_matching`.
QUOTED = re.compile(r'"([^"]+)"')
#: Letters a quoted fragment needs to name a statement (a quoted "war" or "a" does not).
FRAGMENT_MIN_LETTERS = 5


def quoted_fragments(text: str) -> list[tuple[str, ...]]:
    """The word tokens of each part of ``text`` inside double quote marks (straight, curly,
    „ or «»; not ``''`` nor single quotes) with at least ``FRAGMENT_MIN_LETTERS`` letters, in
    order, without repeats. The marks are folded to straight ones and paired left to right, so
    nested double quotes or an odd number of marks can pair the wrong ones."""
    fragments: list[tuple[str, ...]] = []
    for inner in QUOTED.findall(normalize_for_matching(text)):
        tokens = tuple(word_tokens(inner))
        if sum(c.isalpha() for c in "".join(tokens)) >= FRAGMENT_MIN_LETTERS \
                and tokens not in fragments:
            fragments.append(tokens)
    return fragments


#: A quoted fragment with this many words of ``LONG_WORD`` letters or more claims enough of
#: the speaker's wording to disown a rendition that says none of them (:func:`disowns`).
DISOWN_MIN_WORDS = 3
LONG_WORD = 4


def long_words(tokens: list[str] | tuple[str, ...]) -> set[str]:
    """The word tokens with at least ``LONG_WORD`` letters (what :func:`disowns` compares)."""
    return {token for token in tokens if sum(c.isalpha() for c in token) >= LONG_WORD}


def claimed_words(text: str) -> list[set[str]]:
    """The :func:`long_words` of each quoted fragment of ``text`` that has at least
    ``DISOWN_MIN_WORDS`` of them: the speaker's wording that ``text`` gives verbatim."""
    claims = (long_words(fragment)
              for fragment in quoted_fragments(text if isinstance(text, str) else ""))
    return [words for words in claims if len(words) >= DISOWN_MIN_WORDS]


def disowns(text: str, other: str) -> bool:
    """Whether ``text`` quotes the speaker's words (a fragment in quote marks with at least
    ``DISOWN_MIN_WORDS`` words of ``LONG_WORD`` letters) of which ``other``, a rendition in
    the same language, says none. Two renditions of one statement in one language share some
    of the words one of them gives verbatim; an aligned sentence pair that shares only its
    topic does not ("the USA and Europe do not want the situation to calm down" against
    "that Israel cease hostilities in the Middle East")."""
    said = long_words(word_tokens(other)) if isinstance(other, str) else set()
    return claims_unsaid(claimed_words(text), said)


def claims_unsaid(claims: list[set[str]], said: set[str]) -> bool:
    """:func:`disowns` from words already read: one text's :func:`claimed_words` and the
    other's :func:`long_words`."""
    return any(words.isdisjoint(said) for words in claims)


def _contains(tokens: tuple[str, ...], fragment: tuple[str, ...]) -> bool:
    width = len(fragment)
    return any(tokens[k:k + width] == fragment for k in range(len(tokens) - width + 1))


def fragment_pairs(texts: list[str], speakers: list[str | None], vectors: np.ndarray
                   ) -> list[tuple[int, int]]:
    """Row pairs (i < j): each quote that puts words in quote marks (a *partial quote*) and
    the one quote of the same known speaker (``speakers``: None when unknown) that says those
    words, consecutively and not itself in quote marks, most similar to it (``vectors``: unit
    rows; cosines rounded to 6 digits, ties: the first row).

    One link per partial quote and fragment: a speaker's slogan quoted by thousands of
    articles links each of them to one statement, never the partial quotes to one another
    (each holds the others' words) nor to every statement that uses the words, so neither the
    links nor the clusters they merge grow with the square of a popular phrase. Partial
    quotes of one speaker and fragment share one candidate list and are compared with it in
    blocks; only the words of quoted fragments are indexed. A text that is not a string
    (None, NaN) has no words."""
    texts = [text if isinstance(text, str) else "" for text in texts]
    partial: dict[tuple[str | None, tuple[str, ...]], list[int]] = {}  # → rows quoting it
    for row, (speaker, text) in enumerate(zip(speakers, texts, strict=True)):
        for fragment in quoted_fragments(text) if speaker else ():
            partial.setdefault((speaker, fragment), []).append(row)
    wanted = {(speaker, word) for speaker, fragment in partial for word in fragment}
    tokens: dict[int, tuple[str, ...]] = {}  # rows that hold a wanted word → their words
    postings: dict[tuple[str | None, str], list[int]] = {}  # (speaker, word) → rows, ascending
    for row, (speaker, text) in enumerate(zip(speakers, texts, strict=True)):
        if not speaker or not wanted:
            continue
        words = tuple(word_tokens(text))
        for word in dict.fromkeys(words):
            if (speaker, word) in wanted:
                postings.setdefault((speaker, word), []).append(row)
                tokens[row] = words
    pairs: set[tuple[int, int]] = set()
    for (speaker, fragment), rows in partial.items():
        quoting = set(rows)
        shortest = min((postings.get((speaker, word), []) for word in fragment), key=len)
        statements = np.array([other for other in shortest if other not in quoting
                               and _contains(tokens[other], fragment)], dtype=np.int64)
        if not len(statements):
            continue
        for start in range(0, len(rows), BLOCK_ROWS):
            block = np.array(rows[start:start + BLOCK_ROWS], dtype=np.int64)
            similarity = np.round(vectors[block].astype(np.float64)
                                  @ vectors[statements].astype(np.float64).T, 6)
            best = statements[np.argmax(similarity, axis=1)]  # ties: the first, lowest row
            pairs.update((min(i, j), max(i, j)) for i, j in zip(block.tolist(), best.tolist(),
                                                                strict=True))
    return sorted(pairs)


def _sample(n: int) -> np.ndarray:
    return np.linspace(0, n - 1, min(n, TRAIN_SAMPLE)).astype(np.int64)


def neighbour_pairs(vectors: np.ndarray, count: int = NEIGHBOURS) -> np.ndarray:
    """Sorted unique keys ``i * n + j`` (i < j) of each row's ``count`` nearest rows (approximate
    nearest neighbours of the unit ``vectors``)."""
    import faiss
    import scipy.linalg

    n = len(vectors)
    if n < 2:
        return np.zeros(0, dtype=np.int64)
    data = np.ascontiguousarray(vectors, dtype=np.float32)
    if data.shape[1] > SEARCH_DIM:  # PCA: the top eigenvectors of the sample's covariance
        sample = data[_sample(n)].astype(np.float64)
        mean = sample.mean(axis=0)
        centred = sample - mean
        dim = data.shape[1]
        _, eigenvectors = scipy.linalg.eigh(centred.T @ centred, driver="evr",
                                            subset_by_index=[dim - SEARCH_DIM, dim - 1])
        basis = np.ascontiguousarray(eigenvectors[:, ::-1], dtype=np.float32)
        shift = mean.astype(np.float32)
        data = np.concatenate([(data[start:start + SEARCH_BATCH] - shift) @ basis
                               for start in range(0, n, SEARCH_BATCH)])
    dim = data.shape[1]
    lists = max(1, min(int(np.sqrt(n)), n // 39))  # FAISS wants ≥ 39 training points per list
    index = faiss.IndexIVFFlat(faiss.IndexFlatL2(dim), dim, lists)
    index.cp.seed = 1234
    index.train(data[_sample(n)])
    index.add(data)
    index.nprobe = min(NPROBE, lists)
    keys = []
    for start in range(0, n, SEARCH_BATCH):
        _, found = index.search(data[start:start + SEARCH_BATCH], min(count + 1, n))
        rows = np.repeat(np.arange(start, start + len(found), dtype=np.int64), found.shape[1])
        cols = found.ravel().astype(np.int64)
        ok = (cols >= 0) & (cols != rows)
        rows, cols = rows[ok], cols[ok]
        keys.append(np.minimum(rows, cols) * n + np.maximum(rows, cols))
    return np.unique(np.concatenate(keys))


def pair_similarity(vectors: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Cosine (inner product) of the unit rows ``rows[k]`` and ``cols[k]``, in blocks."""
    out = np.empty(len(rows), dtype=vectors.dtype)
    for start in range(0, len(rows), PAIR_BLOCK):
        r, c = rows[start:start + PAIR_BLOCK], cols[start:start + PAIR_BLOCK]
        out[start:start + len(r)] = np.einsum("ij,ij->i", vectors[r], vectors[c])
    return out


def _all_pairs(vectors: np.ndarray, min_similarity: float, first: np.ndarray,
               second: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every pair (i < j) whose cosine reaches ``min_similarity``, in row-major order, with its
    value, and the values of the pairs ``(first[k], second[k])``: blocks of rows of the whole
    product ``vectors @ vectors.T``, so each value is that product's."""
    n = len(vectors)
    found_rows, found_cols, found_sims = [], [], []
    values = np.zeros(len(first), dtype=vectors.dtype)
    for start in range(0, n, BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, n)
        block = vectors[start:stop] @ vectors.T
        rows, cols = np.nonzero(block >= min_similarity)
        upper = cols > rows + start
        rows, cols = rows[upper], cols[upper]
        found_rows.append(rows + start)
        found_cols.append(cols)
        found_sims.append(block[rows, cols])
        mine = (first >= start) & (first < stop)
        values[mine] = block[first[mine] - start, second[mine]]
    return (np.concatenate(found_rows).astype(np.int64),
            np.concatenate(found_cols).astype(np.int64), np.concatenate(found_sims), values)


def duplicate_groups(vectors: np.ndarray) -> list[np.ndarray]:
    """Rows of identical vectors, each group in row order, groups in order of their first row."""
    n = len(vectors)
    bits = np.ascontiguousarray(vectors).view(np.uint8).reshape(n, -1)
    width = bits.shape[1] // 4 * 4
    weights = np.random.default_rng(0).integers(1, 2**62, size=width // 4, dtype=np.uint64)
    hashes = np.empty(n, dtype=np.uint64)
    for start in range(0, n, PAIR_BLOCK):
        words = bits[start:start + PAIR_BLOCK, :width].view(np.uint32).astype(np.uint64)
        hashes[start:start + PAIR_BLOCK] = (words * weights).sum(axis=1)
    order = np.lexsort((np.arange(n), hashes))
    bounds = np.flatnonzero(np.diff(hashes[order])) + 1
    groups: list[np.ndarray] = []
    for candidates in np.split(order, bounds):
        if len(candidates) == 1 or (bits[candidates] == bits[candidates[0]]).all():
            groups.append(candidates)
            continue
        exact: dict[bytes, list[int]] = {}  # a hash collision: split by the bytes themselves
        for row in candidates.tolist():
            exact.setdefault(bits[row].tobytes(), []).append(row)
        groups.extend(np.array(rows, dtype=np.int64) for rows in exact.values())
    return sorted(groups, key=lambda rows: int(rows[0]))


def _grouped_links(vectors: np.ndarray, speakers: list[str | None],
                   min_similarity: float) -> Links:
    """Similarity links of many quotes, near-linear: each group of identical vectors is linked
    like all its pairs would be (every member to the first, and to the first of its speaker),
    distinct vectors by :func:`neighbour_pairs` (or every pair when few), and two linked
    groups through one member per speaker of each (and their first members)."""
    groups = duplicate_groups(vectors)
    heads = np.array([int(rows[0]) for rows in groups], dtype=np.int64)
    self_sims = pair_similarity(vectors, heads, heads)
    edges_i: list[int] = []
    edges_j: list[int] = []
    edges_s: list[float] = []
    deputies: list[list[int]] = []  # per group: its first member and the first of each speaker
    for rows, value in zip(groups, self_sims.tolist(), strict=True):
        rows = rows.tolist()
        firsts: dict[str, int] = {}
        for row in rows:
            if speakers[row]:
                firsts.setdefault(speakers[row], row)
        deputies.append(sorted({rows[0], *firsts.values()}))
        if len(rows) < 2 or value < min_similarity:
            continue
        for row in rows[1:]:
            edges_i.append(rows[0])
            edges_j.append(row)
            first = firsts.get(speakers[row]) if speakers[row] else None
            if first is not None and first not in (rows[0], row):
                edges_i.append(first)
                edges_j.append(row)
        edges_s.extend([value] * (len(edges_i) - len(edges_s)))
    distinct = vectors[heads]
    if len(heads) <= EXACT_QUOTES:
        rows, cols, sims, _ = _all_pairs(distinct, min_similarity, np.zeros(0, dtype=np.int64),
                                         np.zeros(0, dtype=np.int64))
    else:
        keys = neighbour_pairs(distinct)
        rows, cols = keys // len(heads), keys % len(heads)
        sims = pair_similarity(distinct, rows, cols)
        keep = sims >= min_similarity
        rows, cols, sims = rows[keep], cols[keep], sims[keep]
    for a, b, value in zip(rows.tolist(), cols.tolist(), sims.tolist(), strict=True):
        for i in deputies[a]:
            for j in deputies[b]:
                edges_i.append(min(i, j))
                edges_j.append(max(i, j))
                edges_s.append(value)
    first_rows = np.array(edges_i, dtype=np.int64)
    second_rows = np.array(edges_j, dtype=np.int64)
    values = np.array(edges_s, dtype=vectors.dtype)
    _, where = np.unique(first_rows * len(vectors) + second_rows, return_index=True)
    return first_rows[where], second_rows[where], values[where]


def linked_pairs(vectors: np.ndarray, aligned: list[tuple[int, int]], min_similarity: float,
                 aligned_min_similarity: float, speakers: list[str | None] | None = None
                 ) -> Links:
    """``(rows, cols, similarity)`` of the links (i < j): pairs whose cosine reaches
    ``min_similarity`` in row-major order, then the ``aligned`` pairs that reach
    ``aligned_min_similarity`` and are not linked yet, in their order. ``speakers`` (one per
    row, None when unknown) steer which members of duplicate groups are linked beyond
    ``EXACT_QUOTES`` quotes."""
    n = len(vectors)
    first = np.array([i for i, _ in aligned], dtype=np.int64)
    second = np.array([j for _, j in aligned], dtype=np.int64)
    if n <= EXACT_QUOTES:
        rows, cols, sims, aligned_sims = _all_pairs(vectors, min_similarity, first, second)
    else:
        rows, cols, sims = _grouped_links(vectors, speakers or [None] * n, min_similarity)
        aligned_sims = pair_similarity(vectors, first, second)
    extra = aligned_sims >= aligned_min_similarity
    if len(rows) and extra.any():
        extra &= ~np.isin(first * n + second, rows * n + cols)
    return (np.concatenate([rows, first[extra]]), np.concatenate([cols, second[extra]]),
            np.concatenate([sims, aligned_sims[extra]]))
