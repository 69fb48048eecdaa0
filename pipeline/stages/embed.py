"""embed: sentences → unit-length vectors, through :class:`pipeline.models.embedder.Embedder`.

Contract: ``sentences`` → ``embeddings`` (sent_id, embedding[, embedding_en]). The embedder
normalises texts (NFC), adds the model's prompt (e5: ``query: ``), L2-normalises the vectors and
keeps every vector in the per-user cache, keyed by (model identity, prompt, text). The model
comes from the ``embed.backend`` registry (:data:`pipeline.registry.EMBED_BACKENDS`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from pipeline.base import Stage, StageContext, Tables
from pipeline.data import EMBEDDINGS, SENTENCES, contract
from pipeline.models.embedder import Embedder
from pipeline.models.embedding import model_identity
from pipeline.models.paths import embedding_cache_root


class Embed(Stage):
    name: ClassVar[str] = "embed"
    reads = contract(sentences=SENTENCES)
    writes = contract(embeddings=EMBEDDINGS)
    per_document = True
    loads_model = True

    def key_parts(self) -> dict[str, Any]:
        return {"model": model_identity(self.job.embed.model)}

    def cache_root(self) -> Path:
        return embedding_cache_root(self.job.embed.cache_dir)

    def run(self, tables: Tables, context: StageContext) -> Tables:
        config = self.job.embed
        sentences = tables["sentences"]
        embedder = Embedder.from_config(config, self.cache_root())
        texts = sentences["text"].tolist()
        english = sentences["text_en"].fillna("").tolist() if config.embed_translation else []
        translations = [t for t in english if t]
        # One call for every text: each is looked up (or embedded) once.
        vectors = embedder.embed(texts + translations, progress=context.progress)
        frame = pd.DataFrame({"sent_id": sentences["sent_id"],
                              "embedding": list(vectors[:len(texts)])})
        if config.embed_translation:
            extra = iter(vectors[len(texts):])
            frame["embedding_en"] = [next(extra) if t else own
                                     for t, own in zip(english, vectors, strict=False)]
        context.stats["embedded"] = embedder.computed
        context.stats["cached"] = len(set(texts + translations)) - embedder.computed
        return {"embeddings": frame}
