"""align: sentence pairs that state the same thing across documents of other outlets.

Contract: ``documents`` + ``sentences`` + ``embeddings`` → ``alignments`` (doc_a, sent_ids_a,
text_a, doc_b, sent_ids_b, text_b, score, margin, kind). Three library steps:

1. :mod:`pipeline.corpusmining` mines the whole corpus at once (ratio margins over corpus-wide
   neighbourhoods, per language pair) and keeps the document pairs its links support: two
   documents of different stories are never aligned just because both exist.
2. A supported pair whose links keep one order and cover the documents is a translation
   (``parallel``): :func:`pipeline.orderedalign.align_ordered` aligns it monotonically, with
   1-0 / 0-1 and merges up to ``max_align``. Other pairs are comparable news: reordered, mostly
   without counterparts, aligned by :func:`pipeline.alignlib.align_pair`. ``align.mode`` forces
   one or the other.
3. Rows are written per document pair in document-id order.

Eligibility (outlets, ``align.pairs``, ``date_window_days``) is decided in step 1; within-document
pairs never appear. The lexical half of the similarity reads ``text_en`` where a translation
exists. A job that ends with no pairs says why (``stats["notice"]``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from pipeline.alignlib import AlignParams
from pipeline.base import Stage, StageContext, Tables
from pipeline.config import AlignConfig
from pipeline.corpusalign import (
    CorpusAlignParams,
    align_planned,
    document_side,
    plan_pairs,
    run_sizes,
)
from pipeline.corpusmining import CorpusData, MiningParams
from pipeline.errors import ModelUnavailableError
from pipeline.models.embedder import Embedder
from pipeline.models.paths import embedding_cache_root
from pipeline.orderedalign import OrderedParams
from pipeline.text import word_tokens

COLUMNS = ["doc_a", "sent_ids_a", "text_a", "doc_b", "sent_ids_b", "text_b", "score", "margin",
           "kind"]


def lexical_matrix(texts: list[str]):
    """L2-normalised, sublinear TF-IDF rows over the job's sentences."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(tokenizer=word_tokens, lowercase=False, token_pattern=None,
                                 sublinear_tf=True, dtype=np.float32)
    if not any(texts):
        from scipy import sparse

        return sparse.csr_matrix((len(texts), 1), dtype=np.float32)
    return vectorizer.fit_transform(texts).tocsr()


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


def why_empty(documents: pd.DataFrame, sentences: int, config, links: int) -> str:
    """One sentence on why a job has no aligned pairs."""
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
        return ("0 pairs: every document has the same outlet and align.same_outlet is false")
    return (f"0 pairs: no two documents share enough restated sentences ({links} corpus-wide "
            f"links found; a pair needs {config.min_links}, or one of margin ≥ "
            f"{config.strong_margin}); they look like different stories")


def align_params(config: AlignConfig) -> CorpusAlignParams:
    """The library parameters an ``align`` config section describes."""
    return CorpusAlignParams(
        mining=MiningParams(
            k=config.k, candidates=config.candidates, lexical_weight=config.lexical_weight,
            min_margin=config.evidence_min_margin, min_score=config.evidence_min_score,
            min_links=config.min_links, min_link_share=config.min_link_share,
            strong_margin=config.strong_margin, pairs=config.pairs,
            same_outlet=config.same_outlet, date_window_days=config.date_window_days),
        pair=AlignParams(**config.model_dump(include=set(AlignParams.__dataclass_fields__))),
        ordered=OrderedParams(max_align=config.max_align, band=config.band, skip=config.skip,
                              skip_unmatched=config.skip_unmatched),
        mode=config.mode, parallel_min_order=config.parallel_min_order,
        parallel_min_coverage=config.parallel_min_coverage)


class Align(Stage):
    name: ClassVar[str] = "align"
    version: ClassVar[int] = 2
    reads = ("documents", "sentences", "embeddings")
    writes = ("alignments",)

    def key_parts(self) -> dict[str, Any]:
        if not self.job.align.embed_runs:
            return {}
        return {"runs": self.job.embed.model_dump(mode="json",
                                                  exclude={"batch_size", "cache_dir"})}

    def embed_runs(self, texts: list[str], starts: np.ndarray, docs: set[int], sizes: range,
                   dim: int, context: StageContext) -> dict[int, dict[int, np.ndarray]]:
        """Embeddings of every run of ``sizes`` consecutive sentences of ``docs`` (document →
        size → one row per run), with the job's embedder and cache; {} without a model."""
        wanted, counts = [], []
        for doc in sorted(docs):
            own = texts[starts[doc]:starts[doc + 1]]
            for size in sizes:
                wanted += [" ".join(own[end - size:end]) for end in range(size, len(own) + 1)]
                counts.append((doc, size, max(len(own) - size + 1, 0)))
        if not wanted:
            return {}
        embedder = Embedder.from_config(self.job.embed,
                                        embedding_cache_root(self.job.embed.cache_dir))
        try:
            vectors = embedder.embed(wanted)
        except ModelUnavailableError as error:
            context.logger.warning("align: translations aligned with averaged sentence vectors "
                                   "(%s)", error)
            return {}
        if vectors.shape[1] != dim:
            context.logger.warning("align: the embed model's vectors (%d) differ from the "
                                   "embeddings table's (%d); averaging sentence vectors",
                                   vectors.shape[1], dim)
            return {}
        context.stats["runs_embedded"] = embedder.computed
        out: dict[int, dict[int, np.ndarray]] = {}
        offset = 0
        for doc, size, count in counts:
            out.setdefault(doc, {})[size] = vectors[offset:offset + count]
            offset += count
        return out


    def run(self, tables: Tables, context: StageContext) -> Tables:
        config = self.job.align
        sentences = tables["sentences"].reset_index(drop=True)
        documents = tables["documents"]
        stored = tables["embeddings"].set_index("sent_id")["embedding"]
        doc_ids = sorted(set(sentences["doc_id"]))
        doc_index = {doc: n for n, doc in enumerate(doc_ids)}
        # Sentences grouped by document (document-id order), in their order within it.
        order = np.lexsort((np.arange(len(sentences)), sentences["doc_id"].map(doc_index)))
        sentences = sentences.iloc[order].reset_index(drop=True)
        matching_text = [en or text for en, text in
                         zip(sentences["text_en"].fillna(""), sentences["text"], strict=True)]
        embeddings = (np.stack(stored.loc[sentences["sent_id"]].to_numpy()).astype(np.float32)
                      if len(sentences) else np.zeros((0, 1), dtype=np.float32))
        doc = sentences["doc_id"].map(doc_index).to_numpy(dtype=np.int64)
        facts = document_facts(documents, doc_ids)
        corpus = CorpusData(embeddings, lexical_matrix(matching_text), doc, facts["outlet"],
                            facts["lang"], facts["stem"], facts["day"])
        params = align_params(config)

        searched = len(sentences) * max(len(set(facts["lang"].tolist())), 1)
        context.progress.total(searched)
        plan = plan_pairs(corpus, params, progress=context.progress.advance)
        context.progress.total(searched + len(plan.pairs))

        lengths = np.array([len(t) for t in sentences["text"]], dtype=np.float32)
        starts = np.searchsorted(doc, np.arange(len(doc_ids) + 1))
        sent_ids, texts = sentences["sent_id"].tolist(), sentences["text"].tolist()
        parallel = {d for pair in plan.pairs if pair.mode == "parallel" for d in (pair.a, pair.b)}
        runs = (self.embed_runs(texts, starts, parallel, run_sizes(params),
                                embeddings.shape[1], context)
                if config.embed_runs else {})
        out = []
        for pair in plan.pairs:
            a, b = pair.a, pair.b
            found = align_planned(document_side(corpus, lengths, a),
                                  document_side(corpus, lengths, b), pair, params,
                                  runs.get(a), runs.get(b))
            for link in found:
                ia = [starts[a] + i for i in link.a]
                ib = [starts[b] + j for j in link.b]
                out.append({
                    "doc_a": doc_ids[a], "sent_ids_a": [sent_ids[i] for i in ia],
                    "text_a": " ".join(texts[i] for i in ia),
                    "doc_b": doc_ids[b], "sent_ids_b": [sent_ids[i] for i in ib],
                    "text_b": " ".join(texts[i] for i in ib),
                    "score": round(link.score, 6), "margin": round(link.margin, 6),
                    "kind": link.kind,
                })
            context.progress.advance()
        alignments = pd.DataFrame(out, columns=COLUMNS)
        modes = [pair.mode for pair in plan.pairs]
        context.stats.update(pairs=len(alignments), document_pairs=len(plan.pairs),
                             parallel_pairs=modes.count("parallel"),
                             comparable_pairs=modes.count("comparable"), corpus_links=plan.links)
        if len(alignments) == 0:
            context.stats["notice"] = why_empty(documents, len(sentences), config, plan.links)
            context.logger.warning("align: %s", context.stats["notice"])
        return {"alignments": alignments}
