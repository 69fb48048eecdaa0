"""stories: which documents tell one story, and which of those pairs are translations.

Contract: ``documents`` + ``sentences`` + ``embeddings`` → ``document_pairs`` (doc_a, doc_b,
mode, links, anchors_a, anchors_b, matched_a, matched_b) and ``lexicon`` (token, idf). One
library call, :func:`pipeline.corpusalign.plan_pairs`: corpus-wide mining with ratio margins
over each sentence's neighbourhood in the whole corpus, per language (:mod:`pipeline.
corpusmining`), the document pairs its links support, and for each pair ``parallel`` (links in
one order: a translation) or ``comparable`` (reordered news). The ``align`` stage then aligns
each pair on its own, on any executor; the lexicon gives every shard the corpus-wide TF-IDF
weights. Config: the ``align`` section. A job whose documents share no story says why.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel

from pipeline.base import Stage, StageContext, Tables
from pipeline.corpusalign import plan_pairs, planning_params
from pipeline.corpusmining import CorpusData
from pipeline.data import (
    DETECTED_DOCUMENTS,
    DOCUMENT_PAIRS,
    EMBEDDINGS,
    LEXICON,
    SENTENCES,
    contract,
    embedding_matrix,
    grouped_sentences,
    matching_texts,
)
from pipeline.lexical import fit_lexicon, tfidf_rows

PAIR_COLUMNS = ["doc_a", "doc_b", "mode", "links", "anchors_a", "anchors_b", "matched_a",
                "matched_b"]


def _codes(values: list[str]) -> np.ndarray:
    """Small integer ids of ``values`` in sorted order of the distinct values."""
    return np.unique(np.asarray(values, dtype=object).astype(str), return_inverse=True)[1]


def document_facts(documents: pd.DataFrame, doc_ids: list[str]) -> dict[str, np.ndarray]:
    """Per document (in ``doc_ids`` order): outlet, language and stem ids, and day numbers.

    A document without an outlet is its own outlet; an unreadable or missing date is undated.
    """
    table = documents.set_index("doc_id").loc[doc_ids]
    outlets = [o if isinstance(o, str) and o else f"doc:{d}"
               for d, o in zip(doc_ids, table["outlet"], strict=True)]
    dates = pd.to_datetime(table["date"].astype("string"), errors="coerce", utc=True,
                           format="mixed")
    day = ((dates - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds() / 86400.0)
    return {"outlet": _codes(outlets), "lang": _codes(list(table["lang"].fillna(""))),
            "stem": _codes([d.rsplit(".", 1)[0] for d in doc_ids]),
            "day": day.to_numpy(dtype=np.float64, na_value=np.nan)}


def mining_corpus(documents: pd.DataFrame, embeddings: pd.DataFrame, sentences: pd.DataFrame,
                  doc_ids: list[str], doc: np.ndarray, lexical) -> CorpusData:
    """What :mod:`pipeline.corpusmining` mines: the sentences grouped by
    :func:`pipeline.data.grouped_sentences` (``sentences``, ``doc_ids``, ``doc``), their
    vectors from the ``embeddings`` table, their TF-IDF rows (``lexical``) and their documents'
    facts (:func:`document_facts`)."""
    facts = document_facts(documents, doc_ids)
    return CorpusData(embedding_matrix(embeddings, sentences["sent_id"]), lexical, doc,
                      facts["outlet"], facts["lang"], facts["stem"], facts["day"])


def why_empty(documents: pd.DataFrame, sentences: int, config, links: int) -> str:
    """One sentence on why a job has no document pairs to align."""
    if sentences == 0:
        return "0 pairs: the job has no sentences"
    if len(documents) < 2:
        return "0 pairs: the job has one document; alignment needs two"
    langs = sorted(set(documents["lang"].fillna("?")))
    if config.pairs == "cross_language" and len(langs) < 2:
        return (f"0 pairs: every document is in {langs[0]} and align.pairs is cross_language "
                "(set align.pairs: cross_document, or check detect.languages)")
    outlets = set(documents["outlet"].fillna(""))
    if not config.same_outlet and len(outlets) == 1 and "" not in outlets:
        return "0 pairs: every document has the same outlet and align.same_outlet is false"
    return (f"0 pairs: no two documents share enough restated sentences ({links} corpus-wide "
            f"links found; a pair needs {config.min_links}, or one of margin ≥ "
            f"{config.strong_margin}); they look like different stories")


class Stories(Stage):
    name: ClassVar[str] = "stories"
    version: ClassVar[int] = 2  # 2: weak pairs supported through a shared document (weak_pairs)
    reads = contract(documents=DETECTED_DOCUMENTS, sentences=SENTENCES, embeddings=EMBEDDINGS)
    writes = contract(document_pairs=DOCUMENT_PAIRS, lexicon=LEXICON)
    #: The mining keys of the align section (the pair-alignment keys do not change the pairs).
    depends_on = tuple(f"align.{key}" for key in (
        "pairs", "same_outlet", "k", "candidates", "lexical_weight", "date_window_days",
        "evidence_min_margin", "evidence_min_score", "min_links", "min_link_share",
        "strong_margin", "weak_pairs", "mode", "parallel_min_order", "parallel_min_coverage"))

    @property
    def config(self) -> BaseModel:
        return self.job.align

    def run(self, tables: Tables, context: StageContext) -> Tables:
        config = self.job.align
        documents = tables["documents"]
        sentences, doc_ids, doc = grouped_sentences(tables["sentences"])
        texts = matching_texts(sentences)
        lexicon = fit_lexicon(texts)
        if len(doc_ids) < 2:  # nothing to pair: skip the corpus search and its matrices
            context.stats.update(document_pairs=0, parallel_pairs=0, comparable_pairs=0,
                                 corpus_links=0)
            context.stats["notice"] = why_empty(documents, len(sentences), config, 0)
            return {"document_pairs": pd.DataFrame(columns=PAIR_COLUMNS), "lexicon": lexicon}
        corpus = mining_corpus(documents, tables["embeddings"], sentences, doc_ids, doc,
                               tfidf_rows(texts, lexicon))
        context.progress.total(len(sentences) * max(len(set(corpus.lang.tolist())), 1))
        plan = plan_pairs(corpus, planning_params(config), context.progress.advance)
        pairs = pd.DataFrame([{
            "doc_a": doc_ids[p.a], "doc_b": doc_ids[p.b], "mode": p.mode,
            "links": p.links,
            "anchors_a": [a for a, _ in p.anchors], "anchors_b": [b for _, b in p.anchors],
            "matched_a": list(p.matched_a), "matched_b": list(p.matched_b),
        } for p in plan.pairs], columns=PAIR_COLUMNS)
        modes = pairs["mode"].tolist()
        context.stats.update(document_pairs=len(pairs), parallel_pairs=modes.count("parallel"),
                             comparable_pairs=modes.count("comparable"), corpus_links=plan.links)
        if pairs.empty:
            context.stats["notice"] = why_empty(documents, len(sentences), config, plan.links)
        return {"document_pairs": pairs, "lexicon": lexicon}
