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


def cluster_quotes(quotes: pd.DataFrame, vectors: np.ndarray, alignments: pd.DataFrame,
                   min_similarity: float, aligned_min_similarity: float) -> list[list[int]]:
    """Rows of ``quotes`` grouped into clusters (each sorted), in order of smallest quote id."""
    n = len(quotes)
    speakers = [_known(s) for s in quotes["speaker"]]
    similarity = vectors @ vectors.T if n else np.zeros((0, 0))
    edges: dict[tuple[int, int], float] = {}
    rows, cols = np.nonzero(np.triu(similarity >= min_similarity, k=1))
    for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
        edges[(i, j)] = float(similarity[i, j])
    for i, j in aligned_pairs(quotes, alignments):
        if similarity[i, j] >= aligned_min_similarity:
            edges[(i, j)] = float(similarity[i, j])
    union = _Clusters(speakers)
    quote_ids = quotes["quote_id"].tolist()
    for (i, j), _ in sorted(edges.items(),
                            key=lambda item: (-item[1], quote_ids[item[0][0]],
                                              quote_ids[item[0][1]])):
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


def max_drift(vectors: np.ndarray) -> float:
    if len(vectors) < 2:
        return 0.0
    similarity = np.clip(vectors @ vectors.T, -1.0, 1.0)
    return round(float(np.clip(1.0 - similarity.min(), 0.0, 1.0)), 6)


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
        if self.job.embed.cache_dir:
            return Path(self.job.embed.cache_dir)
        return self.job.output_dir / ".cache" / "vectors"

    def run(self, tables: Tables, context: StageContext) -> Tables:
        from pipeline.stages.embed import Embedder

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
        vectors_en = embedder.embed(forms)
        context.progress.advance()
        groups = cluster_quotes(quotes, vectors, tables["alignments"], config.min_similarity,
                                config.aligned_min_similarity)
        languages = speaker_languages(self.job.attribute.speaker_languages)

        out = []
        for n, rows in enumerate(groups):
            members = quotes.iloc[rows]
            speaker = majority_speaker([_known(s) for s in members["speaker"]])
            speaker_lang = languages.get(speaker) if speaker else None
            origin = members[members["lang"] == speaker_lang] if speaker_lang else members.iloc[:0]
            if len(origin):
                origin = origin.sort_values(["direct", "quote_id"], ascending=[False, True],
                                            kind="stable")
            cited = sorted({s for s in members["cited_source"] if _known(s)})
            out.append({
                "cluster_id": f"c{n:04d}",
                "speaker": speaker,
                "speaker_lang": speaker_lang,
                "quote_ids": members["quote_id"].tolist(),
                "docs": sorted(set(members["doc_id"])),
                "langs": sorted(set(members["lang"])),
                "origin_in_corpus": bool(len(origin)),
                "origin_doc": origin["doc_id"].iloc[0] if len(origin) else None,
                "cited_sources": cited,
                "drift": max_drift(vectors_en[rows]),
            })
        clusters = pd.DataFrame(out, columns=CLUSTER_COLUMNS)
        context.stats["quotes"] = len(quotes)
        context.stats["clusters"] = len(clusters)
        context.stats["multi_outlet"] = int((clusters["docs"].map(len) > 1).sum())
        context.stats["embedded"] = embedder.computed
        return {"clusters": clusters}
