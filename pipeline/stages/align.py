"""align: sentence pairs that state the same thing across documents of other outlets.

Contract: ``documents`` + ``sentences`` + ``embeddings`` → ``alignments`` (doc_a, sent_ids_a,
text_a, doc_b, sent_ids_b, text_b, score, margin, kind). Every pair of documents from different
outlets (a document without an outlet is its own outlet) is aligned with
:func:`pipeline.alignlib.align_pair`; ``align.pairs: cross_language`` keeps only pairs of
documents in different languages, as bitext mining does. Within-document pairs never appear.
The lexical half of the similarity reads ``text_en`` where a translation exists.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from pipeline.alignlib import AlignParams, SideData, align_pair
from pipeline.base import Stage, StageContext, Tables
from pipeline.config import AlignConfig
from pipeline.text import word_tokens


def lexical_matrix(texts: list[str]):
    """L2-normalised, sublinear TF-IDF rows over the job's sentences."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(tokenizer=word_tokens, lowercase=False, token_pattern=None,
                                 sublinear_tf=True, dtype=np.float32)
    if not any(texts):
        from scipy import sparse

        return sparse.csr_matrix((len(texts), 1), dtype=np.float32)
    return vectorizer.fit_transform(texts).tocsr()


def _nearest(vectors: np.ndarray, queries: np.ndarray, count: int,
             exact_search_max: int) -> tuple[np.ndarray, np.ndarray]:
    """Inner-product neighbours of ``queries`` among ``vectors``: exact (``IndexFlatIP``) up to
    ``exact_search_max`` vectors, HNSW beyond."""
    import faiss

    if len(vectors) <= exact_search_max:
        index = faiss.IndexFlatIP(vectors.shape[1])
    else:
        index = faiss.IndexHNSWFlat(vectors.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    index.add(vectors)
    return index.search(queries, min(len(vectors), count))


def story_candidates(doc_ids: list[str], vectors: np.ndarray, dates: dict[str, Any],
                     config: AlignConfig) -> list[tuple[str, str]]:
    """Document pairs worth aligning: each document's nearest documents (cosine of mean
    sentence embeddings), optionally within a date window — so cost grows with the number of
    documents times ``story_neighbours``, not with its square.

    With ``date_window_days`` W, the documents of one day look for their neighbours only among
    the documents dated within W days of it, plus the undated ones, so stories from other weeks
    never take their neighbour slots; an undated document searches the whole corpus. Search is
    exact (``IndexFlatIP``) up to ``exact_search_max`` documents, HNSW beyond.
    """
    if len(doc_ids) < 2:
        return []
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    window = config.date_window_days
    count = config.story_neighbours + 1
    when = pd.to_datetime(pd.Series([dates.get(d) or None for d in doc_ids], dtype=object),
                          errors="coerce")
    day_number = (when - pd.Timestamp("1970-01-01")).dt.days.to_numpy(dtype=float)  # whole days
    dated = ~np.isnan(day_number)
    searches: list[tuple[np.ndarray, np.ndarray]] = []  # (query rows, searched rows)
    if window is None or not dated.any():
        everything = np.arange(len(doc_ids))
        searches.append((everything, everything))
    else:
        undated = np.flatnonzero(~dated)
        if len(undated):
            searches.append((undated, np.arange(len(doc_ids))))
        by_day = np.flatnonzero(dated)[np.argsort(day_number[dated], kind="stable")]
        days = day_number[by_day]
        for today in np.unique(days):
            first = np.searchsorted(days, today, side="left")
            last = np.searchsorted(days, today, side="right")
            low = np.searchsorted(days, today - window, side="left")
            high = np.searchsorted(days, today + window, side="right")
            searches.append((by_day[first:last], np.concatenate([by_day[low:high], undated])))

    pairs = set()
    for queries, searched in searches:
        similarities, neighbours = _nearest(vectors[searched], vectors[queries], count,
                                            config.exact_search_max)
        for i, row_sims, row_ids in zip(queries, similarities, neighbours, strict=True):
            for similarity, found in zip(row_sims, row_ids, strict=True):
                if found < 0:
                    continue
                j = int(searched[found])
                if j == i or similarity < config.story_min_similarity:
                    continue
                if (window is not None and dated[i] and dated[j]
                        and abs(day_number[i] - day_number[j]) > window):
                    continue
                pairs.add(tuple(sorted((doc_ids[i], doc_ids[j]))))
    return sorted(pairs)


def document_pairs(documents: pd.DataFrame, mode: str, same_outlet: bool,
                   candidates: list[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    """Pairs of documents to align (``candidates``, or every pair), filtered by outlet and mode."""
    outlet = {row.doc_id: (row.outlet if isinstance(row.outlet, str) and row.outlet
                           else f"doc:{row.doc_id}")
              for row in documents.itertuples(index=False)}
    lang = dict(zip(documents["doc_id"], documents["lang"], strict=True))
    pairs = []
    if candidates is None:
        candidates = list(combinations(sorted(documents["doc_id"]), 2))
    for a, b in candidates:
        if not same_outlet and outlet[a] == outlet[b]:
            continue
        if mode == "cross_language" and lang[a] == lang[b]:
            continue
        if mode == "same_stem" and a.rsplit(".", 1)[0] != b.rsplit(".", 1)[0]:
            continue
        pairs.append((a, b))
    return pairs


class Align(Stage):
    name: ClassVar[str] = "align"
    reads = ("documents", "sentences", "embeddings")
    writes = ("alignments",)

    def run(self, tables: Tables, context: StageContext) -> Tables:
        config = self.job.align
        params = AlignParams(**config.model_dump(include=set(AlignParams.__dataclass_fields__)))
        sentences = tables["sentences"].reset_index(drop=True)
        stored = tables["embeddings"].set_index("sent_id")["embedding"]
        embeddings = stored.loc[sentences["sent_id"]].to_numpy() if len(sentences) else None
        matching_text = [en or text for en, text in
                         zip(sentences["text_en"].fillna(""), sentences["text"], strict=True)]
        lexical = lexical_matrix(matching_text)
        lengths = np.array([len(t) for t in sentences["text"]], dtype=np.float32)
        rows_of = sentences.groupby("doc_id", sort=True).indices
        # One matrix per document, stacked from its own vectors: no corpus-wide copy.
        sides = {doc: SideData(np.stack(embeddings[rows]), lexical[rows], lengths[rows])
                 for doc, rows in rows_of.items()}

        candidates = None
        if config.story_neighbours is not None and rows_of:
            doc_ids = sorted(rows_of)
            means = np.stack([sides[doc].embeddings.mean(axis=0) for doc in doc_ids])
            means /= np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
            dates = dict(zip(tables["documents"]["doc_id"], tables["documents"]["date"],
                             strict=True))
            candidates = story_candidates(doc_ids, means, dates, config)
        pairs = document_pairs(tables["documents"], config.pairs, config.same_outlet, candidates)
        context.progress.total(len(pairs))
        sent_ids, texts = sentences["sent_id"].tolist(), sentences["text"].tolist()
        out = []
        for doc_a, doc_b in pairs:
            if doc_a in sides and doc_b in sides:
                rows_a, rows_b = rows_of[doc_a], rows_of[doc_b]
                for link in align_pair(sides[doc_a], sides[doc_b], params):
                    ia, ib = rows_a[list(link.a)].tolist(), rows_b[list(link.b)].tolist()
                    out.append({
                        "doc_a": doc_a,
                        "sent_ids_a": [sent_ids[i] for i in ia],
                        "text_a": " ".join(texts[i] for i in ia),
                        "doc_b": doc_b,
                        "sent_ids_b": [sent_ids[i] for i in ib],
                        "text_b": " ".join(texts[i] for i in ib),
                        "score": round(link.score, 6),
                        "margin": round(link.margin, 6),
                        "kind": link.kind,
                    })
            context.progress.advance()
        alignments = pd.DataFrame(out, columns=["doc_a", "sent_ids_a", "text_a", "doc_b",
                                                "sent_ids_b", "text_b", "score", "margin", "kind"])
        context.stats["pairs"] = len(alignments)
        context.stats["document_pairs"] = len(pairs)
        return {"alignments": alignments}
