"""Sentence embedder with a per-user, content-keyed vector cache (any stage or reader may use it).

Texts are NFC normalised (decomposed Vietnamese drifts otherwise), the model's prompt (e5:
``query: ``) is prepended through sentence-transformers' named prompts, and vectors are
L2-normalised. Texts the model has to embed are sorted longest first before batching, so each
batch holds texts of similar length and little padding is computed.

The cache (:class:`EmbeddingCache`) keys each vector by (model identity, prompt, text): a text
seen before is never embedded again, in this job or any other job of this user. It lives in
``embed.cache_dir`` or, by default, in the per-user cache
(:func:`pipeline.models.paths.embedding_cache_root`: ``$QUOTETRACE_CACHE_DIR/embeddings``, else
``$XDG_CACHE_HOME/quotetrace/embeddings`` or ``~/.cache/quotetrace/embeddings``). New vectors
are written in shards as they are computed, so a killed job keeps its progress, and several
processes (executor workers, Ray actors, concurrent jobs) may write into one cache at once.
The ``hashing`` backend skips the cache: its vectors are a pure function of the text, and
caching them would about double a first run's time (writing ``hashing_dim`` floats per text
into the shared cache) for a backend meant to measure the pipeline's throughput on large,
mostly new corpora.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import unicodedata
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.config import EmbedConfig
from pipeline.io import atomic_path
from pipeline.models.embedding import load_sentence_transformer, model_identity
from pipeline.models.onnx_embedding import load_onnx_encoder

SHARD_SIZE = 512
SHARD_GLOB = "part-*.parquet"
KEY_CHARS = 32

logger = logging.getLogger("quotetrace")


def text_key(model_id: str, prompt: str | None, text: str) -> str:
    return hashlib.sha256(f"{model_id}\x00{prompt or ''}\x00{text}".encode()).hexdigest()[:32]


def _key_array(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A key column as a numpy ``S32`` array (zero-copy from Arrow's buffer when it can be)."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_string(array.type) and array.null_count == 0 and len(array):
        offsets = np.frombuffer(array.buffers()[1], dtype=np.int32,
                                count=len(array) + 1, offset=4 * array.offset)
        if offsets[-1] - offsets[0] == KEY_CHARS * len(array) and np.all(
                np.diff(offsets) == KEY_CHARS):
            return np.frombuffer(array.buffers()[2], dtype=f"S{KEY_CHARS}", count=len(array),
                                 offset=int(offsets[0])).copy()
    return np.array([str(key).encode() for key in array.to_pylist()], dtype=f"S{KEY_CHARS}")


class _ShardIndex:
    """Which keys a cache folder holds and where (shard, row): one per folder and process.

    Built from the shards' ``key`` columns only, and grown as new shard files appear (ours or
    other processes'), so each shard's keys are read once per process. About 40 bytes per
    cached vector: the vectors themselves stay on disk until a lookup hits them.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.shards: list[Path] = []
        self.seen: set[str] = set()
        self.keys = np.empty(0, dtype=f"S{KEY_CHARS}")  # sorted
        self.where = np.empty(0, dtype=np.int64)  # shard number << 32 | row, as keys
        self.lock = threading.Lock()

    def refresh(self) -> None:
        """Index shards written since the last refresh (by any process)."""
        if not self.folder.is_dir():
            return
        paths, arrays = [], []
        for path in sorted(p for p in self.folder.glob(SHARD_GLOB) if p.name not in self.seen):
            self.seen.add(path.name)
            try:
                column = pq.read_table(path, columns=["key"], use_threads=False).column("key")
            except (OSError, pa.ArrowException) as error:  # not ours to fix: skip it
                logger.warning("embedding cache: skipping unreadable shard %s (%s)", path, error)
                continue
            paths.append(path)
            arrays.append(_key_array(column))
        self._merge(paths, arrays)

    def register(self, path: Path, keys: np.ndarray) -> None:
        """Index one shard this process has just written."""
        if path.name not in self.seen:
            self.seen.add(path.name)
            self._merge([path], [keys])

    def _merge(self, paths: list[Path], arrays: list[np.ndarray]) -> None:
        """Add shards' keys to the sorted index: new keys are sorted, then inserted in one pass."""
        if not paths:
            return
        first = len(self.shards)
        self.shards.extend(paths)
        keys = np.concatenate(arrays)
        where = np.concatenate([((first + n) << 32) | np.arange(len(a), dtype=np.int64)
                                for n, a in enumerate(arrays)])
        order = np.argsort(keys, kind="stable")
        keys, where = keys[order], where[order]
        at = np.searchsorted(self.keys, keys)
        self.keys = np.insert(self.keys, at, keys)
        self.where = np.insert(self.where, at, where)

    def locate(self, keys: list[str]) -> np.ndarray:
        """``shard << 32 | row`` of each key, or -1 where the cache does not hold it."""
        wanted = np.array([key.encode() for key in keys], dtype=f"S{KEY_CHARS}")
        found = np.full(len(keys), -1, dtype=np.int64)
        if len(self.keys) and len(keys):
            at = np.minimum(np.searchsorted(self.keys, wanted), len(self.keys) - 1)
            hit = self.keys[at] == wanted
            found[hit] = self.where[at[hit]]
        return found


_INDEXES: dict[Path, _ShardIndex] = {}
_INDEXES_LOCK = threading.Lock()


def _shard_index(folder: Path) -> _ShardIndex:
    with _INDEXES_LOCK:
        key = folder.absolute()
        if key not in _INDEXES:
            _INDEXES[key] = _ShardIndex(folder)
        return _INDEXES[key]


class EmbeddingCache:
    """Vectors on disk, keyed by a hash of (model, prompt, text); Parquet shards, append-only.

    Construction reads nothing. :meth:`get` reads the ``key`` column of shards it has not
    indexed yet (a per-process index shared by every cache object on the folder), then the
    ``vector`` column only of the shards holding hits, and takes the hit rows. :meth:`add`
    writes one new shard, named by the hash of its keys, to a temporary file renamed into
    place: concurrent writers never clash and readers never see a partial shard.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def get(self, keys: list[str]) -> dict[str, np.ndarray]:
        """The cached vectors of those ``keys`` the cache holds (float32 rows)."""
        index = _shard_index(self.folder)
        with index.lock:
            index.refresh()
            found = index.locate(keys)
            shards = list(index.shards)
        hits = np.flatnonzero(found >= 0)
        hits = hits[np.argsort(found[hits], kind="stable")]  # grouped by shard, rows in order
        shard_of = found[hits] >> 32
        bounds = np.flatnonzero(np.diff(shard_of)) + 1
        out: dict[str, np.ndarray] = {}
        for chosen in np.split(hits, bounds) if len(hits) else []:
            path = shards[int(found[chosen[0]] >> 32)]
            rows = found[chosen] & 0xFFFFFFFF
            try:
                column = pq.read_table(path, columns=["vector"], use_threads=False).column(
                    "vector")
            except (OSError, pa.ArrowException) as error:  # removed or damaged: embed again
                logger.warning("embedding cache: cannot read %s (%s)", path, error)
                continue
            taken = column.combine_chunks().take(pa.array(rows))
            matrix = taken.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
            out.update(zip((keys[i] for i in chosen), matrix.reshape(len(rows), -1), strict=True))
        return out

    def add(self, keys: list[str], matrix: np.ndarray) -> None:
        if not keys:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256("".join(keys).encode()).hexdigest()[:16]
        vector_type = pa.list_(pa.float32(), matrix.shape[1])
        vectors = pa.FixedSizeListArray.from_arrays(
            pa.array(np.ascontiguousarray(matrix, dtype=np.float32).ravel()), type=vector_type)
        table = pa.table({"key": pa.array(keys, type=pa.string()), "vector": vectors})
        path = self.folder / f"part-{name}.parquet"
        with atomic_path(path) as tmp:  # vectors: neither dictionary-encoded nor compressed
            pq.write_table(table, tmp, use_dictionary=False, compression={
                "key": "snappy", "vector": "none"})
        index = _shard_index(self.folder)
        with index.lock:
            index.register(path, np.array([key.encode() for key in keys], dtype=f"S{KEY_CHARS}"))


#: Models loaded in this process, most recent last: an Embedder is built per shard of
#: documents, and each would otherwise load the model again.
_MODELS: OrderedDict[tuple[str, ...], Any] = OrderedDict()
_MODELS_KEPT = 2
_MODELS_LOCK = threading.Lock()


def _load_model(backend: str, name: str, identity: str, onnx_dir: Path) -> Any:
    key = (backend, name, identity, str(onnx_dir) if backend == "onnx-int8" else "")
    with _MODELS_LOCK:
        if key in _MODELS:
            _MODELS.move_to_end(key)
            return _MODELS[key]
        if backend == "onnx-int8":
            model = load_onnx_encoder(name, onnx_dir)
        else:
            model = load_sentence_transformer(name)
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
    def uses_cache(self) -> bool:
        """False for the hashing backend: its vectors depend on the text alone, and writing them
        costs more than computing them (see the module docstring)."""
        return self.backend != "hashing"

    @property
    def model(self) -> Any:
        if self._model is None:
            if self.backend == "hashing":
                model = self._hashing
            else:
                model = _load_model(self.backend, self.model_name, self.identity,
                                    self.cache_root / "onnx")
            prompts = getattr(model, "prompts", {}) or {}
            if self.prompt_name and self.prompt_name not in prompts:
                from pipeline.errors import ConfigError

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
        unique = dict(zip(keys, normalised, strict=True))
        vectors = self.cache.get(list(unique)) if self.uses_cache else {}
        missing = sorted(((k, t) for k, t in unique.items() if k not in vectors),
                         key=lambda item: (-len(item[1]), item[0]))
        if progress is not None:
            progress.total(len(missing))
        for start in range(0, len(missing), SHARD_SIZE):
            chunk = missing[start:start + SHARD_SIZE]
            chunk_keys = [key for key, _ in chunk]
            matrix = self._encode([text for _, text in chunk])
            if self.uses_cache:
                self.cache.add(chunk_keys, matrix)
            vectors.update(zip(chunk_keys, matrix, strict=True))
            self.computed += len(chunk)
            if progress is not None:
                progress.advance(len(chunk))
        if not keys:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([vectors[k] for k in keys])
