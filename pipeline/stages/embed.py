"""embed: sentences → unit-length vectors from a sentence-transformers model, cached per text.

Contract: ``sentences`` → ``embeddings`` (sent_id, embedding[, embedding_en]). Texts are NFC
normalised (decomposed Vietnamese drifts otherwise), the model's prompt (e5: ``query: ``) is
prepended through sentence-transformers' named prompts, and vectors are L2-normalised.

The cache (:class:`EmbeddingCache`) keys each vector by (model identity, prompt, text): a text
seen before is never embedded again, in this job or any job that shares ``embed.cache_dir``.
New vectors are written in shards as they are computed, so a killed job keeps its progress.
"""

from __future__ import annotations

import hashlib
import unicodedata
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.base import Stage, StageContext, Tables
from pipeline.config import EmbedConfig
from pipeline.io import atomic_path
from pipeline.models.embedding import load_sentence_transformer, model_identity
from pipeline.models.onnx_embedding import load_onnx_encoder

SHARD_SIZE = 512


def text_key(model_id: str, prompt: str | None, text: str) -> str:
    return hashlib.sha256(f"{model_id}\x00{prompt or ''}\x00{text}".encode()).hexdigest()[:32]


class EmbeddingCache:
    """Vectors on disk, keyed by a hash of (model, prompt, text); Parquet shards, append-only."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.vectors: dict[str, np.ndarray] = {}
        for shard in sorted(folder.glob("part-*.parquet")):
            table = pq.read_table(shard)
            keys = table.column("key").to_pylist()
            matrix = np.stack(table.column("vector").to_numpy(zero_copy_only=False))
            self.vectors.update(zip(keys, matrix.astype(np.float32), strict=True))

    def add(self, keys: list[str], matrix: np.ndarray) -> None:
        if not keys:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256("".join(keys).encode()).hexdigest()[:16]
        vector_type = pa.list_(pa.float32(), matrix.shape[1])
        table = pa.table(
            {"key": pa.array(keys), "vector": pa.array(list(matrix), type=vector_type)}
        )
        with atomic_path(self.folder / f"part-{name}.parquet") as tmp:
            pq.write_table(table, tmp)
        self.vectors.update(zip(keys, matrix, strict=True))


class Embedder:
    """Embeds texts with one model and prompt, through an :class:`EmbeddingCache`."""

    def __init__(self, model_name: str, prompt_name: str | None, batch_size: int,
                 cache_root: Path, backend: str = "torch", hashing_dim: int = 1024) -> None:
        self.model_name = model_name
        self.prompt_name = prompt_name
        self.batch_size = batch_size
        self.backend = backend
        self.cache_root = cache_root
        self.hashing_dim = hashing_dim
        if backend == "hashing":
            from pipeline.models.hashing_embedding import HashingEncoder

            self._hashing = HashingEncoder(hashing_dim)
            self.identity = self._hashing.identity  # no model: the vectors depend on nothing else
        else:
            self.identity = model_identity(model_name)
        if backend == "onnx-int8":  # int8 vectors differ slightly: never mix them with torch's
            self.identity += f"|{backend}"
        folder = hashlib.sha256(self.identity.encode()).hexdigest()[:16]
        self.cache = EmbeddingCache(cache_root / folder)
        self._model: Any = None
        self.computed = 0

    @classmethod
    def from_config(cls, config: EmbedConfig, cache_root: Path) -> Embedder:
        """The embedder a job's ``embed`` section describes (every stage embeds through this)."""
        return cls(config.model, config.prompt_name, config.batch_size, cache_root,
                   backend=config.backend, hashing_dim=config.hashing_dim)

    @property
    def model(self) -> Any:
        if self._model is None:
            if self.backend == "hashing":
                self._model = self._hashing
            elif self.backend == "onnx-int8":
                self._model = load_onnx_encoder(self.model_name, self.cache_root / "onnx")
            else:
                self._model = load_sentence_transformer(self.model_name)
            prompts = getattr(self._model, "prompts", {}) or {}
            if self.prompt_name and self.prompt_name not in prompts:
                from pipeline.errors import ConfigError

                raise ConfigError(
                    f"embed.prompt_name: {self.prompt_name!r} is not a prompt of "
                    f"{self.model_name}; valid: {sorted(prompts) or 'none (set it to null)'}"
                )
        return self._model

    def embed(self, texts: list[str], progress: Any = None) -> np.ndarray:
        """Unit vectors for ``texts`` (row i for text i); only unseen texts reach the model."""
        normalised = [unicodedata.normalize("NFC", t).strip() for t in texts]
        keys = [text_key(self.identity, self.prompt_name, t) for t in normalised]
        missing = sorted({k: t for k, t in zip(keys, normalised, strict=True)
                          if k not in self.cache.vectors}.items(),
                         key=lambda item: (-len(item[1]), item[0]))
        if progress is not None:
            progress.total(len(missing))
        for start in range(0, len(missing), SHARD_SIZE):
            chunk = missing[start:start + SHARD_SIZE]
            matrix = self.model.encode(
                [text for _, text in chunk],
                prompt_name=self.prompt_name,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            ).astype(np.float32)
            self.cache.add([key for key, _ in chunk], matrix)
            self.computed += len(chunk)
            if progress is not None:
                progress.advance(len(chunk))
        if not keys:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self.cache.vectors[k] for k in keys])


class Embed(Stage):
    name: ClassVar[str] = "embed"
    reads = ("sentences",)
    writes = ("embeddings",)
    per_document = True
    loads_model = True

    def key_parts(self) -> dict[str, Any]:
        return {"model": model_identity(self.job.embed.model)}

    def cache_root(self) -> Path:
        config = self.job.embed
        if config.cache_dir:
            return Path(config.cache_dir)
        return self.job.output_dir / ".cache" / "vectors"

    def run(self, tables: Tables, context: StageContext) -> Tables:
        config = self.job.embed
        sentences = tables["sentences"]
        embedder = Embedder.from_config(config, self.cache_root())
        texts = sentences["text"].tolist()
        if config.embed_translation:
            texts += [t for t in sentences["text_en"].tolist() if t]
        embedder.embed(texts, progress=context.progress)
        vectors = embedder.embed(sentences["text"].tolist())
        frame = pd.DataFrame({"sent_id": sentences["sent_id"], "embedding": list(vectors)})
        if config.embed_translation:
            english = sentences["text_en"].fillna("").tolist()
            vectors_en = embedder.embed([t or s for t, s in zip(english, sentences["text"],
                                                                  strict=True)])
            frame["embedding_en"] = list(vectors_en)
        context.stats["embedded"] = embedder.computed
        context.stats["cached"] = len(set(texts)) - embedder.computed
        return {"embeddings": frame}
