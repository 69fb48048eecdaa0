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


def story_candidates(doc_ids: list[str], vectors: np.ndarray, dates: dict[str, Any],
                     config: AlignConfig) -> list[tuple[str, str]]:
    """Document pairs worth aligning: each document's nearest documents (cosine of mean
    sentence embeddings), optionally within a date window — so cost grows with the number of
    documents times ``story_neighbours``, not with its square.

    Search is exact (``IndexFlatIP``) up to ``exact_search_max`` documents, HNSW beyond.
    """
    import faiss

    if len(doc_ids) < 2:
        return []
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if len(doc_ids) <= config.exact_search_max:
        index = faiss.IndexFlatIP(vectors.shape[1])
    else:
        index = faiss.IndexHNSWFlat(vectors.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    index.add(vectors)
    count = min(len(doc_ids), config.story_neighbours + 1)
    similarities, neighbours = index.search(vectors, count)
    window = config.date_window_days
    parsed: dict[str, pd.Timestamp] = {}

    def when(doc: str) -> pd.Timestamp:
        if doc not in parsed:
            parsed[doc] = pd.Timestamp(dates[doc])
        return parsed[doc]

    pairs = set()
    for i, (row_sims, row_ids) in enumerate(zip(similarities, neighbours, strict=True)):
        for similarity, j in zip(row_sims, row_ids, strict=True):
            if j < 0 or j == i or similarity < config.story_min_similarity:
                continue
            a, b = sorted((doc_ids[i], doc_ids[int(j)]))
            if (window is not None and dates.get(a) and dates.get(b)
                    and abs((when(a) - when(b)).days) > window):
                continue
            pairs.add((a, b))
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
