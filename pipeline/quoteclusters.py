"""Quote clusters: renditions of one statement across outlets and languages, grouped — model-free.

Input: a ``quotes`` table (the QUOTES contract), the ``sentences`` (for English forms), the
``alignments`` and an ``embed`` function (texts → unit vectors; the trace stage passes the job's
embedder). Output: a ``clusters`` table (cluster_id, speaker, speaker_lang, quote_ids, docs, langs,
origin_in_corpus, origin_doc, cited_sources, drift). :func:`trace_quotes` runs the whole of it;
its steps are public so that each is testable with hand-made vectors.

Two quotes are *linked* (:mod:`pipeline.quotelinks`) when their speakers are compatible (equal,
or at least one unknown) and

- their texts' cosine reaches ``min_similarity``, or
- their sentences are aligned (a ``sent_ids`` overlap with the two sides of one alignment) and
  their cosine reaches the lower ``aligned_min_similarity`` (an alignment of two sentences does
  not make every quote inside them the same statement);

and, for two quotes of one document, their cosine reaches ``same_document_min_similarity`` (one
speaker's successive remarks in an article share topic and wording; only a near-verbatim
repeat, a standfirst restating the body, is one statement). Besides, a partial quote (a known
speaker's words in quote marks: Putin said ties were a "priority") is linked to the one quote of
that speaker that says those words, most similar to it ("Relations with Iran are a priority for
us"), whatever their cosine (:func:`pipeline.quotelinks.fragment_pairs`).

Links are merged greedily, strongest first, with union-find (:func:`cluster_quotes`); a merge
that would put two different known speakers in one cluster is refused, so an unattributed quote
cannot chain Putin's and Pezeshkian's statements together. A quote without a speaker whose
mention is a **generic source** ("analysts believe", "the unconfirmed reports claim";
:func:`pipeline.speakers.generic_source`) is not of an unknown speaker: its source is known to be
no named person, so it joins only quotes of the same generic source (:func:`link_keys`), and a
named speaker's cluster never takes in what analysts or reports say. Every quote ends in exactly one
cluster (singletons included). Cluster ids ``c0000, c0001, …`` follow the clusters' smallest
quote id.

Per cluster (:func:`cluster_table`):

- ``speaker``: the most frequent known speaker (ties: alphabetical); ``speaker_lang``: that
  speaker's language (:func:`speaker_languages`: :data:`pipeline.speakers.DEFAULT_SPEAKER_LANGUAGES`
  updated with a job's own table).
- **The honest-origin rule.** ``origin_in_corpus`` is true only when some rendition is in the
  speaker's own language; ``origin_doc`` is then that rendition's document (a direct quote
  first, then the smallest quote id). When the speaker's language is unknown or absent from the
  renditions (Putin speaks Russian; the corpus has English and Vietnamese), the origin is *not*
  in the corpus: ``origin_in_corpus`` is false and ``origin_doc`` null, never the earliest or
  most similar translation. The renditions that cite a source (``cited_source``, e.g. TASS) are
  then the ones closest to the source: ``cited_sources`` lists those sources, the provenance
  edges outlet → cited source → speaker.
- ``drift`` (:func:`cluster_drifts`): the largest ``1 - cosine`` between two renditions' English
  forms (:func:`english_forms`: the quote itself when English, else its sentences' ``text_en``,
  else the original text); 0 for a singleton. :func:`word_diff` shows the wording that drifted.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipeline.data import CLUSTERS
from pipeline.quotelinks import (
    aligned_pairs,
    claimed_words,
    claims_unsaid,
    fragment_pairs,
    linked_pairs,
    long_words,
    pair_similarity,
)
from pipeline.speakers import generic_source, merged_languages
from pipeline.text import normalize_for_matching, word_tokens

CLUSTER_COLUMNS = [f.name for f in CLUSTERS]

#: Texts → one unit vector per text (rows in the texts' order).
Embed = Callable[[list[str]], np.ndarray]

#: English forms embedded at once for the drifts (see :func:`cluster_drifts`).
DRIFT_CHUNK = 65_536
#: Clusters up to this size get their drift from the members' whole similarity matrix; larger
#: ones from the distinct vectors, ``DRIFT_BLOCK_ROWS`` rows at a time.
DRIFT_EXACT = 1_024
DRIFT_BLOCK_ROWS = 2_048


def speaker_languages(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Canonical speaker → ISO 639-1 code: the built-in table, updated with ``extra``."""
    return merged_languages(dict(extra) if extra else None)


@dataclass(frozen=True)
class TraceParams:
    """The settings of :func:`trace_quotes` (a job's ``trace`` section and speaker table)."""

    #: Cosine for two quotes to be renditions of one statement.
    min_similarity: float
    #: Lower cosine enough for two quotes whose sentences are aligned.
    aligned_min_similarity: float
    #: Cosine two quotes of one document need (None: the same as any two quotes).
    same_document_min_similarity: float | None = None
    #: Canonical speaker → language (the whole table, see :func:`speaker_languages`).
    languages: Mapping[str, str] = field(default_factory=speaker_languages)


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


def known(value: Any) -> str | None:
    """``value`` when it is a non-blank string (a known speaker, a cited source), else None."""
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


#: Prefix of the link keys of generic sources (:func:`link_keys`), never a speaker's name.
GENERIC_KEY = "\x00generic:"


def link_keys(quotes: pd.DataFrame) -> list[str | None]:
    """Each quote's key for the speaker rule of the links: its known speaker; else, when its
    mention is a generic source, ``GENERIC_KEY`` + that source ("analysts"); else None."""
    mentions = (quotes["speaker_mention"].tolist() if "speaker_mention" in quotes
                else [None] * len(quotes))
    keys: list[str | None] = []
    for speaker, mention in zip(quotes["speaker"], mentions, strict=True):
        generic = None if known(speaker) else generic_source(mention)
        keys.append(known(speaker) or (GENERIC_KEY + generic if generic else None))
    return keys


def compatible(a: set[str], b: set[str]) -> bool:
    """Whether two clusters' key sets may merge: at most one known speaker between them, and
    a generic source only with the very same generic source (not with unknown speakers)."""
    if len(a | b) > 1:
        return False
    generic = any(k.startswith(GENERIC_KEY) for k in a | b)
    return not generic or a == b


class SpeakerUnionFind:
    """Union-find over quote rows that keeps each set's known speakers (link keys, see
    :func:`link_keys`) and refuses merges that :func:`compatible` forbids."""

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
        if not compatible(self.speakers[ri], self.speakers[rj]):
            return False  # two different known speakers (or sources): not one statement
        ri, rj = min(ri, rj), max(ri, rj)
        self.parent[rj] = ri
        self.speakers[ri] |= self.speakers[rj]
        return True


#: An indirect quote needs this many words for its sentence's alignment to vouch for it: a
#: reported content of a few words ("the pact", "these accusations", "Russia's war against
#: Ukraine") names a topic that the aligned sentence shares, not a statement; a short direct
#: quote ("We won.") is the speaker's own words.
ALIGNED_MIN_WORDS = 5


def _checked_alignment_links(quotes: pd.DataFrame, rows: np.ndarray, cols: np.ndarray,
                             sims: np.ndarray, min_similarity: float
                             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The links less the alignment links (those below ``min_similarity``) with an indirect
    quote of fewer than ``ALIGNED_MIN_WORDS`` words, or between two quotes of one language
    where one gives the speaker's words that the other does not say
    (:func:`pipeline.quotelinks.disowns`). Each quote of such a link is read once."""
    weak = np.flatnonzero(sims < min_similarity)
    if "text" not in quotes or not len(weak):
        return rows, cols, sims
    texts, langs = quotes["text"].tolist(), (
        quotes["lang"].tolist() if "lang" in quotes else [None] * len(quotes))
    direct = quotes["direct"].tolist() if "direct" in quotes else [True] * len(quotes)
    short: dict[int, bool] = {}
    said: dict[int, set[str]] = {}
    claims: dict[int, list[set[str]]] = {}
    for row in np.unique(np.concatenate([rows[weak], cols[weak]])).tolist():
        text = texts[row] if isinstance(texts[row], str) else ""
        tokens = word_tokens(text)
        flag = direct[row]
        short[row] = not (isinstance(flag, bool | np.bool_) and flag) \
            and len(tokens) < ALIGNED_MIN_WORDS
        said[row], claims[row] = long_words(tokens), claimed_words(text)

    keep = np.ones(len(rows), dtype=bool)
    for k in weak.tolist():
        i, j = int(rows[k]), int(cols[k])
        if short[i] or short[j] or (langs[i] == langs[j] and (
                claims_unsaid(claims[i], said[j]) or claims_unsaid(claims[j], said[i]))):
            keep[k] = False
    return rows[keep], cols[keep], sims[keep]


def _with_fragment_links(quotes: pd.DataFrame, vectors: np.ndarray, rows: np.ndarray,
                        cols: np.ndarray, sims: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The links plus :func:`pipeline.quotelinks.fragment_pairs` not among them, with their
    cosines (for the strongest-first order only: a fragment link needs no threshold)."""
    if "text" not in quotes:
        return rows, cols, sims
    pairs = fragment_pairs(quotes["text"].tolist(), [known(s) for s in quotes["speaker"]],
                           vectors)
    if not pairs:
        return rows, cols, sims
    n = len(quotes)
    first = np.array([i for i, _ in pairs], dtype=np.int64)
    second = np.array([j for _, j in pairs], dtype=np.int64)
    new = ~np.isin(first * n + second, rows.astype(np.int64) * n + cols)
    first, second = first[new], second[new]
    values = pair_similarity(vectors, first, second).astype(sims.dtype, copy=False)
    return (np.concatenate([rows, first]), np.concatenate([cols, second]),
            np.concatenate([sims, values]))


def cluster_quotes(quotes: pd.DataFrame, vectors: np.ndarray, alignments: pd.DataFrame,
                   min_similarity: float, aligned_min_similarity: float,
                   same_document_min_similarity: float | None = None) -> list[list[int]]:
    """Rows of ``quotes`` (quote_id, speaker, sent_ids, optionally speaker_mention and doc_id;
    ``vectors``: one unit row each) grouped into clusters (each sorted by quote id), in order of
    smallest quote id. Two quotes of one document link only from
    ``same_document_min_similarity`` on (when given); a fragment link (a partial quote and the
    same speaker's statement that says its quoted words) needs no similarity."""
    n = len(quotes)
    speakers = link_keys(quotes)
    quote_ids = quotes["quote_id"].tolist()
    if n == 0:
        return []
    rows, cols, sims = linked_pairs(vectors, list(aligned_pairs(quotes, alignments)),
                                    min_similarity, aligned_min_similarity, speakers)
    if same_document_min_similarity is not None and "doc_id" in quotes and len(rows):
        _, doc = np.unique(quotes["doc_id"].to_numpy(dtype=object), return_inverse=True)
        doc = doc.reshape(-1)
        keep = (doc[rows] != doc[cols]) | (sims >= same_document_min_similarity)
        rows, cols, sims = rows[keep], cols[keep], sims[keep]
    rows, cols, sims = _checked_alignment_links(quotes, rows, cols, sims, min_similarity)
    rows, cols, sims = _with_fragment_links(quotes, vectors, rows, cols, sims)
    # Strongest link first, then by the two quote ids (a stable sort: ties keep link order).
    _, rank = np.unique(np.array(quote_ids, dtype=object), return_inverse=True)
    rank = rank.reshape(-1)
    order = np.lexsort((rank[cols], rank[rows], -sims.astype(np.float64)))
    union = SpeakerUnionFind(speakers)
    for i, j in zip(rows[order].tolist(), cols[order].tolist(), strict=True):
        union.union(i, j)  # refused when the two sets' speakers are not compatible
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(union.find(i), []).append(i)
    clusters = [sorted(rows_, key=lambda r: quote_ids[r]) for rows_ in groups.values()]
    return sorted(clusters, key=lambda rows_: quote_ids[rows_[0]])


def majority_speaker(speakers: list[str | None]) -> str | None:
    """The most frequent known speaker (ties: alphabetical), None when none is known."""
    counts = Counter(s for s in speakers if s)
    if not counts:
        return None
    return min(counts, key=lambda s: (-counts[s], s))


def max_drift(vectors: np.ndarray) -> float:
    """The largest ``1 - cosine`` between two of the unit ``vectors`` (0 for fewer than two),
    clipped to [0, 1] and rounded to 6 digits."""
    if len(vectors) < 2:
        return 0.0
    if len(vectors) <= DRIFT_EXACT:
        similarity = np.clip(vectors @ vectors.T, -1.0, 1.0)
        return round(float(np.clip(1.0 - similarity.min(), 0.0, 1.0)), 6)
    distinct = np.unique(vectors, axis=0)
    lowest = min(float(np.clip(distinct[start:start + DRIFT_BLOCK_ROWS] @ distinct.T,
                               -1.0, 1.0).min())
                 for start in range(0, len(distinct), DRIFT_BLOCK_ROWS))
    return round(float(np.clip(1.0 - lowest, 0.0, 1.0)), 6)


def cluster_drifts(embed: Embed, forms: list[str], groups: list[list[int]]) -> list[float]:
    """Each cluster's drift: :func:`max_drift` of its members' English ``forms``. Only the forms
    of clusters with several renditions are embedded (a singleton's drift is 0), about
    ``DRIFT_CHUNK`` quotes at a time, so the vectors of the whole corpus are never held at
    once."""
    drifts = [0.0] * len(groups)
    chunk: list[int] = []  # clusters
    size = 0
    for n, rows in enumerate([*groups, []]):
        if size >= DRIFT_CHUNK or (n == len(groups) and chunk):
            members = [r for c in chunk for r in groups[c]]
            vectors = embed([forms[r] for r in members])
            at = dict(zip(members, range(len(members)), strict=True))
            for c in chunk:
                drifts[c] = max_drift(vectors[[at[r] for r in groups[c]]])
            chunk, size = [], 0
        if len(rows) > 1:
            chunk.append(n)
            size += len(rows)
    return drifts


def empty_clusters() -> pd.DataFrame:
    """A clusters table without rows."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in CLUSTER_COLUMNS})


def cluster_table(quotes: pd.DataFrame, groups: list[list[int]], drifts: list[float],
                  languages: Mapping[str, str]) -> pd.DataFrame:
    """The clusters table of ``groups`` (rows of ``quotes``): speaker and language, the honest
    origin, cited sources and ``drifts``; ``languages`` maps a speaker to their language."""
    quote_ids, doc_ids = quotes["quote_id"].tolist(), quotes["doc_id"].tolist()
    langs, direct = quotes["lang"].tolist(), quotes["direct"].tolist()
    speakers = [known(s) for s in quotes["speaker"]]
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
            "cited_sources": sorted({sources[r] for r in rows if known(sources[r])}),
            "drift": drifts[n],
        })
    return pd.DataFrame(out, columns=CLUSTER_COLUMNS)


def trace_quotes(quotes: pd.DataFrame, sentences: pd.DataFrame, alignments: pd.DataFrame,
                 embed: Embed, params: TraceParams,
                 advance: Callable[[], None] | None = None) -> pd.DataFrame:
    """The clusters table of ``quotes``: the quote texts are embedded and clustered
    (:func:`cluster_quotes`), then the English forms of clusters with several renditions are
    embedded for the drift. ``advance`` is called after each of these two steps."""
    quotes = quotes.sort_values("quote_id", kind="stable").reset_index(drop=True)
    if quotes.empty:
        return empty_clusters()
    forms = english_forms(quotes, sentences)
    vectors = embed(quotes["text"].tolist())
    if advance:
        advance()
    groups = cluster_quotes(quotes, vectors, alignments, params.min_similarity,
                            params.aligned_min_similarity, params.same_document_min_similarity)
    del vectors
    drifts = cluster_drifts(embed, forms, groups)
    if advance:
        advance()
    return cluster_table(quotes, groups, drifts, params.languages)
