"""align: the sentence links of every document pair the ``stories`` stage found.

Contract: ``sentences`` + ``embeddings`` + ``document_pairs`` + ``lexicon`` → ``alignments``
(doc_a, sent_ids_a, text_a, doc_b, sent_ids_b, text_b, score, margin, kind). Each pair is
aligned on its own by :func:`pipeline.corpusalign.align_planned`: a ``parallel`` pair (a
translation) by ordered dynamic programming anchored on its corpus links, with 1-0 / 0-1 and
merges up to ``align.max_align``; a ``comparable`` pair (reordered news) by non-monotone margin
mining with 1-2 / 2-1 merges. Pairs are independent, so executors run the stage on shards of
``executor.shard_documents`` document pairs, and the rows come out in ``document_pairs`` order
either way. Parallel pairs' runs of consecutive sentences are embedded with the job's embedder
(``align.embed_runs``). The lexical half of the similarity reads ``text_en`` where a
translation exists, weighted by the corpus-wide ``lexicon``.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from pipeline.alignlib import SideData
from pipeline.base import Stage, StageContext, Tables
from pipeline.corpusalign import PairPlan, align_planned, params_from_config, run_sizes
from pipeline.data import (
    ALIGNMENTS,
    DOCUMENT_PAIRS,
    EMBEDDINGS,
    LEXICON,
    SENTENCES,
    contract,
    embedding_matrix,
    grouped_sentences,
    matching_texts,
)
from pipeline.errors import ModelUnavailableError
from pipeline.lexical import tfidf_rows
from pipeline.models.embedder import Embedder
from pipeline.models.paths import embedding_cache_root

COLUMNS = ["doc_a", "sent_ids_a", "text_a", "doc_b", "sent_ids_b", "text_b", "score", "margin",
           "kind"]


def pair_shards(tables: Tables, size: int) -> list[Tables]:
    """Shards of ``size`` document pairs, each with the sentences and vectors of its documents
    and the whole lexicon."""
    pairs = tables["document_pairs"]
    shards = []
    for start in range(0, max(len(pairs), 1), size):
        chunk = pairs.iloc[start:start + size].reset_index(drop=True)
        docs = set(chunk["doc_a"]) | set(chunk["doc_b"])
        sentences = tables["sentences"]
        sentences = sentences[sentences["doc_id"].isin(docs)].reset_index(drop=True)
        embeddings = tables["embeddings"]
        embeddings = embeddings[embeddings["sent_id"].isin(set(sentences["sent_id"]))]
        shards.append({"document_pairs": chunk, "sentences": sentences,
                       "embeddings": embeddings.reset_index(drop=True),
                       "lexicon": tables["lexicon"]})
    return shards


class Align(Stage):
    name: ClassVar[str] = "align"
    version: ClassVar[int] = 4  # 4: ordered pairs: merge cost, two neighbours, checked flags
    reads = contract(sentences=SENTENCES, embeddings=EMBEDDINGS, document_pairs=DOCUMENT_PAIRS,
                     lexicon=LEXICON)
    writes = contract(alignments=ALIGNMENTS)
    per_pair = True

    def plan_shards(self, tables: Tables, size: int) -> list[Tables]:
        return pair_shards(tables, size)

    #: Runs of sentences are embedded with the job's model (``align.embed_runs``).
    depends_on = ("align", "embed.model", "embed.prompt_name", "embed.backend",
                  "embed.hashing_dim")

    def embed_runs(self, texts: list[str], starts: np.ndarray, docs: dict[int, range],
                   dim: int, context: StageContext) -> dict[int, dict[int, np.ndarray]]:
        """Embeddings of every run of consecutive sentences of ``docs`` (document → sizes) as
        document → size → one row per run, with the job's embedder and cache; {} without a
        model."""
        wanted, counts = [], []
        for doc, sizes in sorted(docs.items()):
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
        params = params_from_config(config)
        sentences, doc_ids, doc = grouped_sentences(tables["sentences"])
        embeddings = embedding_matrix(tables["embeddings"], sentences["sent_id"])
        lexical = tfidf_rows(matching_texts(sentences), tables["lexicon"])
        lengths = np.array([len(t) for t in sentences["text"]], dtype=np.float32)
        starts = np.searchsorted(doc, np.arange(len(doc_ids) + 1))
        index = {d: n for n, d in enumerate(doc_ids)}
        sent_ids, texts = sentences["sent_id"].tolist(), sentences["text"].tolist()
        pairs = tables["document_pairs"]
        context.progress.total(len(pairs))
        wanted: dict[int, range] = {}
        for mode, *docs in zip(pairs["mode"], pairs["doc_a"], pairs["doc_b"], strict=True):
            if config.embed_runs == "all" or (config.embed_runs == "parallel"
                                              and mode == "parallel"):
                for d in docs:
                    sizes = run_sizes(params, mode)
                    wanted[index[d]] = max(wanted.get(index[d], sizes), sizes, key=len)
        runs = self.embed_runs(texts, starts, wanted, embeddings.shape[1], context)

        def side(d: int) -> SideData:
            rows = slice(starts[d], starts[d + 1])
            return SideData(embeddings[rows], lexical[rows], lengths[rows], runs.get(d))

        out = []
        for row in pairs.itertuples(index=False):
            a, b = index[row.doc_a], index[row.doc_b]
            plan = PairPlan(a, b, row.mode, tuple(zip(row.anchors_a, row.anchors_b, strict=True)),
                            tuple(row.matched_a), tuple(row.matched_b), row.links)
            for link in align_planned(side(a), side(b), plan, params):
                ia = [starts[a] + i for i in link.a]
                ib = [starts[b] + j for j in link.b]
                out.append({
                    "doc_a": row.doc_a, "sent_ids_a": [sent_ids[i] for i in ia],
                    "text_a": " ".join(texts[i] for i in ia),
                    "doc_b": row.doc_b, "sent_ids_b": [sent_ids[i] for i in ib],
                    "text_b": " ".join(texts[i] for i in ib),
                    "score": round(link.score, 6), "margin": round(link.margin, 6),
                    "kind": link.kind,
                })
            context.progress.advance()
        context.stats["pairs"] = len(out)
        return {"alignments": pd.DataFrame(out, columns=COLUMNS)}
