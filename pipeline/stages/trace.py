"""trace: renditions of one statement across outlets and languages, grouped into clusters.

Contract: ``documents`` + ``sentences`` + ``embeddings`` + ``alignments`` + ``quotes`` →
``clusters`` (cluster_id, speaker, speaker_lang, quote_ids, docs, langs, origin_in_corpus,
origin_doc, cited_sources, drift).

A thin adapter over :func:`pipeline.quoteclusters.trace_quotes`, which holds the algorithm
(links, speaker-compatible clustering, the honest-origin rule, drift): the quote texts and their
English forms are embedded with the job's embed model and prompt, through the embed stage's
cache; ``trace.min_similarity`` and ``trace.aligned_min_similarity`` are the link thresholds, and
speakers' languages come from :data:`pipeline.speakers.DEFAULT_SPEAKER_LANGUAGES` updated with
``attribute.speaker_languages``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pipeline.base import Stage, StageContext, Tables
from pipeline.data import ALIGNMENTS, CLUSTERS, QUOTES, SENTENCES, contract
from pipeline.models.embedding import model_identity
from pipeline.models.paths import embedding_cache_root
from pipeline.quoteclusters import TraceParams, empty_clusters, speaker_languages, trace_quotes


class Trace(Stage):
    name: ClassVar[str] = "trace"
    version: ClassVar[int] = 2  # 2: fragment links; alignment links checked
    reads = contract(sentences=SENTENCES, alignments=ALIGNMENTS, quotes=QUOTES)
    writes = contract(clusters=CLUSTERS)
    #: Quote texts and English forms are embedded with the job's model; speakers' languages
    #: decide the honest origin.
    depends_on = ("trace", "embed.model", "embed.prompt_name", "embed.backend",
                  "embed.hashing_dim", "attribute.speaker_languages")

    def key_parts(self) -> dict[str, Any]:
        # The model's files, not only its name: a rebuilt model recomputes the clusters.
        return {"model": model_identity(self.job.embed.model)}

    def cache_root(self) -> Path:
        return embedding_cache_root(self.job.embed.cache_dir)

    def params(self) -> TraceParams:
        """The library's settings from the job's ``trace`` and ``attribute`` sections."""
        config = self.job.trace
        return TraceParams(
            min_similarity=config.min_similarity,
            aligned_min_similarity=config.aligned_min_similarity,
            same_document_min_similarity=config.same_document_min_similarity,
            languages=speaker_languages(self.job.attribute.speaker_languages))

    def run(self, tables: Tables, context: StageContext) -> Tables:
        from pipeline.models.embedder import Embedder

        quotes = tables["quotes"]
        if quotes.empty:
            context.stats.update(quotes=0, clusters=0)
            return {"clusters": empty_clusters()}
        embedder = Embedder.from_config(self.job.embed, self.cache_root())
        context.progress.total(2)
        clusters = trace_quotes(quotes, tables["sentences"], tables["alignments"],
                                embedder.embed, self.params(), advance=context.progress.advance)
        context.stats["quotes"] = len(quotes)
        context.stats["clusters"] = len(clusters)
        context.stats["multi_outlet"] = int((clusters["docs"].map(len) > 1).sum())
        context.stats["embedded"] = embedder.computed
        return {"clusters": clusters}
