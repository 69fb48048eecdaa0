"""trace: renditions of one statement across outlets and languages, grouped into clusters.

Contract: ``documents`` + ``sentences`` + ``embeddings`` + ``alignments`` + ``quotes`` →
``clusters`` (cluster_id, speaker, speaker_lang, quote_ids, docs, langs, origin_in_corpus,
origin_doc, cited_sources, drift).

Two quotes are *linked* when their speakers are compatible (equal, or at least one unknown) and

- their texts' cosine reaches ``trace.min_similarity`` (quote texts are embedded with the job's
  embed model and prompt, through the embed stage's cache), or
- their sentences are aligned by the align stage (a ``sent_ids`` overlap with the two sides of one
  alignment) and their cosine reaches the lower ``trace.aligned_min_similarity`` (an alignment
  of two sentences does not make every quote inside them the same statement).

Links are merged greedily, strongest first, with union-find; a merge that would put two different
known speakers in one cluster is refused, so an unattributed quote cannot chain Putin's and
Pezeshkian's statements together. Every quote ends in exactly one cluster (singletons
included). Cluster ids ``c0000, c0001, …`` follow the clusters' smallest quote id.

Per cluster:

- ``speaker``: the most frequent known speaker (ties: alphabetical); ``speaker_lang``: that
  speaker's language from :data:`pipeline.speakers.DEFAULT_SPEAKER_LANGUAGES` updated with
  ``attribute.speaker_languages``.
- **The honest-origin rule.** ``origin_in_corpus`` is true only when some rendition is in the
  speaker's own language; ``origin_doc`` is then that rendition's document (a direct quote
  first, then the smallest quote id). When the speaker's language is unknown or absent from the
  renditions (Putin speaks Russian; the corpus has English and Vietnamese), the origin is *not*
  in the corpus: ``origin_in_corpus`` is false and ``origin_doc`` null, never the earliest or
  most similar translation. The renditions that cite a source (``cited_source``, e.g. TASS) are
  then the ones closest to the source: ``cited_sources`` lists those sources, the provenance
  edges outlet → cited source → speaker.
- ``drift``: the largest ``1 - cosine`` between two renditions' English forms (the quote itself
  when English, else its sentences' ``text_en``, else the original text); 0 for a singleton.
  :func:`word_diff` shows the wording that drifted.
"""

from __future__ import annotations

import difflib
import logging
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from pipeline.base import Stage, StageContext, Tables
from pipeline.data import CLUSTERS
from pipeline.models.embedding import model_identity
from pipeline.models.paths import embedding_cache_root
from pipeline.text import normalize_for_matching

logger = logging.getLogger("quotetrace")

CLUSTER_COLUMNS = [field.name for field in CLUSTERS]


def _word_key(word: str) -> str:
    return normalize_for_matching(word).strip(".,;:!?\"'()[]").casefold()


def word_diff(a: str, b: str) -> list[tuple[str, str]]:
    """Word-level diff of ``a`` → ``b``: ``("=", w)`` kept, ``("-", w)`` only in a, ``("+", w)``
    only in b, in reading order. Words compare case- and punctuation-insensitively, so
    "arena," and "arena" are the same word; kept words are shown as ``b`` writes them."""
    words_a, words_b = a.split(), b.split()
    out: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(a=[_word_key(w) for w in words_a],
                                      b=[_word_key(w) for w in words_b], autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            out.extend(("=", w) for w in words_b[b0:b1])
            continue
        out.extend(("-", w) for w in words_a[a0:a1])
        out.extend(("+", w) for w in words_b[b0:b1])
    return out


def speaker_languages(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Canonical speaker → ISO 639-1 code: the built-in table, updated with ``extra``."""
    try:
        from pipeline.speakers import DEFAULT_SPEAKER_LANGUAGES
    except ImportError:
        DEFAULT_SPEAKER_LANGUAGES = {}
    return {**DEFAULT_SPEAKER_LANGUAGES, **(extra or {})}


def _known(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def english_forms(quotes: pd.DataFrame, sentences: pd.DataFrame) -> list[str]:
    """Each quote's English form: itself if English, else its sentences' text_en, else itself."""
    text_en = dict(zip(sentences["sent_id"], sentences["text_en"].fillna(""), strict=True))
    forms = []
    for row in quotes.itertuples(index=False):
        if row.lang == "en":
            forms.append(row.text)
            continue
        translated = " ".join(t for t in (text_en.get(s, "") for s in row.sent_ids) if t)
        forms.append(translated or row.text)
    return forms


class _Clusters:
    """Union-find over quote rows that keeps each set's known speakers."""

    def __init__(self, speakers: list[str | None]) -> None:
        self.parent = list(range(len(speakers)))
        self.speakers = [{s} if s else set() for s in speakers]

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i: int, j: int) -> bool:
        ri, rj = self.find(i), self.find(j)
        if ri == rj:
            return False
        if len(self.speakers[ri] | self.speakers[rj]) > 1:
            return False  # two different known speakers: not one statement
        ri, rj = min(ri, rj), max(ri, rj)
        self.parent[rj] = ri
        self.speakers[ri] |= self.speakers[rj]
        return True


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


#: Up to this many quotes every pair is compared, a block of rows at a time (the values of one
#: Q×Q product, without ever holding it). Beyond, identical vectors (one statement reprinted
#: word for word) are compared once, and each distinct vector with its ``NEIGHBOURS`` nearest
#: distinct vectors only (:func:`neighbour_pairs`; every pair while there are at most
#: ``EXACT_QUOTES`` of them): renditions of one statement are near-duplicates.
EXACT_QUOTES = 8_192
BLOCK_ROWS = 2_048
NEIGHBOURS = 16
#: The approximate search: an inverted-file index (FAISS ``IndexIVFFlat``, about √n lists, the
#: ``NPROBE`` nearest searched) over the vectors reduced by PCA to ``SEARCH_DIM`` dimensions
#: (both fitted on at most ``TRAIN_SAMPLE`` evenly spaced vectors). Deterministic: no step
#: depends on thread timing. Candidates' similarities are then computed on the full vectors.
SEARCH_DIM = 64
NPROBE = 4
TRAIN_SAMPLE = 65_536
SEARCH_BATCH = 65_536
PAIR_BLOCK = 65_536


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
                   min_similarity: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rows, cols, similarity)`` of the links (i < j): pairs whose cosine reaches
    ``min_similarity`` in row-major order, then the ``aligned`` pairs that reach
    ``aligned_min_similarity`` and are not linked yet, in their order."""
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


def cluster_quotes(quotes: pd.DataFrame, vectors: np.ndarray, alignments: pd.DataFrame,
                   min_similarity: float, aligned_min_similarity: float) -> list[list[int]]:
    """Rows of ``quotes`` grouped into clusters (each sorted), in order of smallest quote id."""
    n = len(quotes)
    speakers = [_known(s) for s in quotes["speaker"]]
    quote_ids = quotes["quote_id"].tolist()
    if n == 0:
        return []
    rows, cols, sims = linked_pairs(vectors, list(aligned_pairs(quotes, alignments)),
                                    min_similarity, aligned_min_similarity, speakers)
    # Strongest link first, then by the two quote ids (a stable sort: ties keep link order).
    _, rank = np.unique(np.array(quote_ids, dtype=object), return_inverse=True)
    rank = rank.reshape(-1)
    order = np.lexsort((rank[cols], rank[rows], -sims.astype(np.float64)))
    union = _Clusters(speakers)
    for i, j in zip(rows[order].tolist(), cols[order].tolist(), strict=True):
        if speakers[i] and speakers[j] and speakers[i] != speakers[j]:
            continue
        union.union(i, j)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(union.find(i), []).append(i)
    clusters = [sorted(rows_, key=lambda r: quote_ids[r]) for rows_ in groups.values()]
    return sorted(clusters, key=lambda rows_: quote_ids[rows_[0]])


def majority_speaker(speakers: list[str | None]) -> str | None:
    counts = Counter(s for s in speakers if s)
    if not counts:
        return None
    return min(counts, key=lambda s: (-counts[s], s))


#: English forms embedded at once for the drifts (see Trace._drifts).
DRIFT_CHUNK = 65_536
#: Clusters up to this size get their drift from the members' whole similarity matrix; larger
#: ones from the distinct vectors, a block of rows at a time.
DRIFT_EXACT = 1_024


def max_drift(vectors: np.ndarray) -> float:
    if len(vectors) < 2:
        return 0.0
    if len(vectors) <= DRIFT_EXACT:
        similarity = np.clip(vectors @ vectors.T, -1.0, 1.0)
        return round(float(np.clip(1.0 - similarity.min(), 0.0, 1.0)), 6)
    distinct = np.unique(vectors, axis=0)
    lowest = min(float(np.clip(distinct[start:start + BLOCK_ROWS] @ distinct.T, -1.0, 1.0).min())
                 for start in range(0, len(distinct), BLOCK_ROWS))
    return round(float(np.clip(1.0 - lowest, 0.0, 1.0)), 6)


class Trace(Stage):
    name: ClassVar[str] = "trace"
    reads = ("documents", "sentences", "embeddings", "alignments", "quotes")
    writes = ("clusters",)

    def key_parts(self) -> dict[str, Any]:
        return {
            "model": model_identity(self.job.embed.model),
            "prompt": self.job.embed.prompt_name,
            "speaker_languages": speaker_languages(self.job.attribute.speaker_languages),
        }

    def cache_root(self) -> Path:
        return embedding_cache_root(self.job.embed.cache_dir)

    def run(self, tables: Tables, context: StageContext) -> Tables:
        from pipeline.models.embedder import Embedder

        config = self.job.trace
        quotes = tables["quotes"].sort_values("quote_id", kind="stable").reset_index(drop=True)
        sentences = tables["sentences"]
        if quotes.empty:
            context.stats.update(quotes=0, clusters=0)
            return {"clusters": pd.DataFrame({c: pd.Series(dtype=object)
                                              for c in CLUSTER_COLUMNS})}
        embedder = Embedder.from_config(self.job.embed, self.cache_root())
        forms = english_forms(quotes, sentences)
        context.progress.total(2)
        vectors = embedder.embed(quotes["text"].tolist())
        context.progress.advance()
        groups = cluster_quotes(quotes, vectors, tables["alignments"], config.min_similarity,
                                config.aligned_min_similarity)
        del vectors
        drifts = self._drifts(embedder, forms, groups)
        context.progress.advance()
        languages = speaker_languages(self.job.attribute.speaker_languages)

        quote_ids, doc_ids = quotes["quote_id"].tolist(), quotes["doc_id"].tolist()
        langs, direct = quotes["lang"].tolist(), quotes["direct"].tolist()
        speakers = [_known(s) for s in quotes["speaker"]]
        sources = quotes["cited_source"].tolist()
        out = []
        for n, rows in enumerate(groups):
            speaker = majority_speaker([speakers[r] for r in rows])
            speaker_lang = languages.get(speaker) if speaker else None
            # The original: a rendition in the speaker's language, direct first, then by id.
            origin = min((r for r in rows if speaker_lang and langs[r] == speaker_lang),
                         key=lambda r: (not direct[r], quote_ids[r]), default=None)
            out.append({
                "cluster_id": f"c{n:04d}",
                "speaker": speaker,
                "speaker_lang": speaker_lang,
                "quote_ids": [quote_ids[r] for r in rows],
                "docs": sorted({doc_ids[r] for r in rows}),
                "langs": sorted({langs[r] for r in rows}),
                "origin_in_corpus": origin is not None,
                "origin_doc": doc_ids[origin] if origin is not None else None,
                "cited_sources": sorted({sources[r] for r in rows if _known(sources[r])}),
                "drift": drifts[n],
            })
        clusters = pd.DataFrame(out, columns=CLUSTER_COLUMNS)
        context.stats["quotes"] = len(quotes)
        context.stats["clusters"] = len(clusters)
        context.stats["multi_outlet"] = int((clusters["docs"].map(len) > 1).sum())
        context.stats["embedded"] = embedder.computed
        return {"clusters": clusters}

    @staticmethod
    def _drifts(embedder, forms: list[str], groups: list[list[int]]) -> list[float]:
        """Each cluster's drift. Only the English forms of clusters with several renditions
        are embedded (a singleton's drift is 0), ``DRIFT_CHUNK`` quotes at a time, so the
        vectors of the whole corpus are never held at once."""
        drifts = [0.0] * len(groups)
        chunk: list[int] = []  # clusters
        size = 0
        for n, rows in enumerate([*groups, []]):
            if size >= DRIFT_CHUNK or (n == len(groups) and chunk):
                members = [r for c in chunk for r in groups[c]]
                vectors = embedder.embed([forms[r] for r in members])
                at = dict(zip(members, range(len(members)), strict=True))
                for c in chunk:
                    drifts[c] = max_drift(vectors[[at[r] for r in groups[c]]])
                chunk, size = [], 0
            if len(rows) > 1:
                chunk.append(n)
                size += len(rows)
        return drifts
