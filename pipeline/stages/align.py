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
from typing import ClassVar

import numpy as np
import pandas as pd

from pipeline.alignlib import AlignParams, SideData, align_pair
from pipeline.base import Stage, StageContext, Tables
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


def document_pairs(documents: pd.DataFrame, mode: str, same_outlet: bool) -> list[tuple[str, str]]:
    outlet = {row.doc_id: (row.outlet if isinstance(row.outlet, str) and row.outlet
                           else f"doc:{row.doc_id}")
              for row in documents.itertuples(index=False)}
    lang = dict(zip(documents["doc_id"], documents["lang"], strict=True))
    pairs = []
    for a, b in combinations(sorted(documents["doc_id"]), 2):
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
        params = AlignParams(**config.model_dump(exclude={"pairs", "same_outlet"}))
        sentences = tables["sentences"].reset_index(drop=True)
        embeddings = tables["embeddings"].set_index("sent_id").loc[sentences["sent_id"]]
        vectors = np.stack(embeddings["embedding"].to_numpy()) if len(sentences) else None
        matching_text = [en or text for en, text in
                         zip(sentences["text_en"].fillna(""), sentences["text"], strict=True)]
        lexical = lexical_matrix(matching_text)
        lengths = np.array([len(t) for t in sentences["text"]], dtype=np.float32)
        rows_of = sentences.groupby("doc_id", sort=True).indices
        sides = {doc: SideData(vectors[rows], lexical[rows], lengths[rows])
                 for doc, rows in rows_of.items()}

        pairs = document_pairs(tables["documents"], config.pairs, config.same_outlet)
        context.progress.total(len(pairs))
        out = []
        for doc_a, doc_b in pairs:
            if doc_a in sides and doc_b in sides:
                rows_a, rows_b = rows_of[doc_a], rows_of[doc_b]
                for link in align_pair(sides[doc_a], sides[doc_b], params):
                    ia, ib = rows_a[list(link.a)], rows_b[list(link.b)]
                    out.append({
                        "doc_a": doc_a,
                        "sent_ids_a": sentences["sent_id"].iloc[ia].tolist(),
                        "text_a": " ".join(sentences["text"].iloc[ia]),
                        "doc_b": doc_b,
                        "sent_ids_b": sentences["sent_id"].iloc[ib].tolist(),
                        "text_b": " ".join(sentences["text"].iloc[ib]),
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
