"""Sentence embedder with a per-user, content-keyed vector cache (any stage or reader may use it).

Texts are NFC normalised (decomposed Vietnamese drifts otherwise), the model's prompt (e5:
``query: ``) is prepended through sentence-transformers' named prompts, and vectors are
L2-normalised. Texts the model has to embed are sorted longest first before batching, so each
batch holds texts of similar length and little padding is computed.

The cache (:class:`EmbeddingCache`, in :mod:`pipeline.models.vector_cache`) keys each vector by
(model identity, prompt, text): a text seen before is never embedded again, in this job or any
other job of this user. It lives in ``embed.cache_dir`` or, by default, in the per-user cache
(:func:`pipeline.models.paths.embedding_cache_root`: ``$QUOTETRACE_CACHE_DIR/embeddings``, else
``$XDG_CACHE_HOME/quotetrace/embeddings`` or ``~/.cache/quotetrace/embeddings``). New vectors
are written in shards as they are computed, so a killed job keeps its progress, and several
processes (executor workers, Ray actors, concurrent jobs) may write into one cache at once. Each
shard carries checksums of its keys and vectors, checked once per process: a damaged shard is
moved to ``quarantine/`` and its vectors computed again, so it never leaks into a job. The model
comes from the ``embed.backend`` registry (:mod:`pipeline.registry`,
:mod:`pipeline.models.embed_backends`), so the Embedder never branches on a backend's name. The
``hashing`` backend skips the cache: its vectors are a pure function of the text, and caching
them would about double a first run's time (writing ``hashing_dim`` floats per text into the
shared cache) for a backend meant to measure the pipeline's throughput on large, mostly new
corpora. """

from __future__ import annotations

import hashlib
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.config import EmbedConfig
from pipeline.errors import ConfigError
from pipeline.models import vector_cache
from pipeline.models.embed_backends import EmbedBackend
from pipeline.models.vector_cache import (  # noqa: F401 — importable from here too
    STALE_TEMP_SECONDS,
    EmbeddingCache,
    remove_stale_temporary_files,
    text_key,
)
from pipeline.registry import EMBED_BACKENDS

#: Models loaded in this process, most recent last, by (backend name, backend): an Embedder
#: is built per shard of documents, and each would otherwise load the model again.
_MODELS: OrderedDict[Hashable, Any] = OrderedDict()
_MODELS_KEPT = 2
_MODELS_LOCK = threading.Lock()


def _load_model(name: str, backend: EmbedBackend) -> Any:
    """``backend.load()``, once per process for backends that compare by value; a package the
    backend imports late that is missing is reported with what to install."""
    try:
        key: Hashable | None = (name, backend)
        hash(key)
    except TypeError:  # compares by identity only: nothing to share between shards
        key = None
    with _MODELS_LOCK:
        if key is not None and key in _MODELS:
            _MODELS.move_to_end(key)
            return _MODELS[key]
        try:
            model = backend.load()
        except ImportError as error:
            raise EMBED_BACKENDS.unavailable(name, error.name or str(error), error) from error
        if key is not None:
            _MODELS[key] = model
            while len(_MODELS) > _MODELS_KEPT:
                _MODELS.popitem(last=False)
        return model


class Embedder:
    """Embeds texts with one model and prompt, through an :class:`EmbeddingCache`.

    Cheap to build (nothing is read and no model is loaded until :meth:`embed` needs it), so an
    executor may build one per shard of documents: models are kept per process and the cache's
    key index is shared by every Embedder of the process.
    """

    def __init__(self, model_name: str, prompt_name: str | None, batch_size: int,
                 cache_root: Path, backend: str = "torch", hashing_dim: int = 1024) -> None:
        self.model_name = model_name
        self.prompt_name = prompt_name
        self.batch_size = batch_size
        self.backend = backend
        self.cache_root = cache_root
        self.hashing_dim = hashing_dim
        EMBED_BACKENDS.get(backend)  # an unknown name: a ConfigError listing the backends
        config = EmbedConfig(model=model_name, prompt_name=prompt_name, batch_size=batch_size,
                             backend=backend, hashing_dim=hashing_dim)
        self._backend: EmbedBackend = EMBED_BACKENDS.create(backend, config, cache_root)
        self.identity: str = self._backend.identity
        folder = hashlib.sha256(self.identity.encode()).hexdigest()[:16]
        self.cache = EmbeddingCache(cache_root / folder, unit_vectors=True)
        self._model: Any = None
        self.computed = 0

    @classmethod
    def from_config(cls, config: EmbedConfig, cache_root: Path) -> Embedder:
        """The embedder a job's ``embed`` section describes (every stage embeds through this)."""
        return cls(config.model, config.prompt_name, config.batch_size, cache_root,
                   backend=config.backend, hashing_dim=config.hashing_dim)

    @property
    def uses_cache(self) -> bool:
        """False for backends whose vectors cost less to compute than to cache (hashing: see
        the module docstring)."""
        return bool(self._backend.cache_vectors)

    @property
    def model(self) -> Any:
        if self._model is None:
            model = _load_model(self.backend, self._backend)
            prompts = getattr(model, "prompts", {}) or {}
            if self.prompt_name and self.prompt_name not in prompts:
                raise ConfigError(
                    f"embed.prompt_name: {self.prompt_name!r} is not a prompt of "
                    f"{self.model_name}; valid: {sorted(prompts) or 'none (set it to null)'}"
                )
            self._model = model
        return self._model

    def _encode(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(
            texts,
            prompt_name=self.prompt_name,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        ).astype(np.float32)

    def embed(self, texts: list[str], progress: Any = None) -> np.ndarray:
        """Unit vectors for ``texts`` (row i for text i); only unseen texts reach the model.

        Texts to embed are sorted longest first, then cut into batches, so a batch holds texts
        of similar length (little padding); they are written to the cache every
        ``SHARD_SIZE`` texts.
        """
        normalised = [unicodedata.normalize("NFC", t).strip() for t in texts]
        keys = [text_key(self.identity, self.prompt_name, t) for t in normalised]
        if not keys:
            return np.zeros((0, 0), dtype=np.float32)
        rows: dict[str, list[int]] = {}
        for row, key in enumerate(keys):
            rows.setdefault(key, []).append(row)
        unique = dict(zip(keys, normalised, strict=True))
        # Every vector goes straight into its rows of one output matrix (no per-row objects
        # kept, no final copy): on a few hundred thousand texts, that is the stage's memory.
        result: np.ndarray | None = None

        def place(pairs: Any) -> None:
            nonlocal result
            for key, vector in pairs:
                if result is None:
                    result = np.empty((len(keys), len(vector)), dtype=np.float32)
                result[rows[key]] = vector

        cached = self.cache.get(list(unique)) if self.uses_cache else {}
        place(cached.items())
        missing = sorted(((k, t) for k, t in unique.items() if k not in cached),
                         key=lambda item: (-len(item[1]), item[0]))
        del cached
        if progress is not None:
            progress.total(len(missing))
        size = vector_cache.SHARD_SIZE  # one shard per model call: a kill loses at most one
        for start in range(0, len(missing), size):
            chunk = missing[start:start + size]
            chunk_keys = [key for key, _ in chunk]
            matrix = self._encode([text for _, text in chunk])
            if self.uses_cache:
                self.cache.add(chunk_keys, matrix)
            place(zip(chunk_keys, matrix, strict=True))
            self.computed += len(chunk)
            if progress is not None:
                progress.advance(len(chunk))
        assert result is not None
        return result
