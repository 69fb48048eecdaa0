"""The per-user, content-keyed vector cache of :class:`pipeline.models.embedder.Embedder`.

Each vector is keyed by (model identity, prompt, text): a text seen before is never embedded
again, in this job or any other job of this user. Vectors live in append-only Parquet shards of
up to :data:`SHARD_SIZE`, each written to a temporary file and renamed into place, so several
processes (executor workers, Ray actors, concurrent jobs) may write into one cache at once and
a killed job keeps its progress. Each shard carries the sha256 of its keys and vectors in its
metadata, verified once per process; a damaged shard is quarantined and its vectors recomputed.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.io import atomic_path

logger = logging.getLogger("quotetrace")

SHARD_SIZE = 512
SHARD_GLOB = "part-*.parquet"
KEY_CHARS = 32
#: Where shards that fail verification are moved (outside SHARD_GLOB: never read again).
QUARANTINE = "quarantine"
#: Schema metadata of a shard: sha256 of its keys (``S32`` bytes, in row order) and of its
#: vectors (little-endian float32, row-major).
KEYS_SHA256 = b"quotetrace.keys_sha256"
VECTORS_SHA256 = b"quotetrace.vectors_sha256"
#: How far from 1 a cached unit vector's norm may be (float32 rounding is ~1e-6).
UNIT_TOLERANCE = 1e-3

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


def _digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def _vectors_digest(matrix: np.ndarray) -> str:
    return _digest(np.ascontiguousarray(matrix, dtype="<f4"))


def _sound_rows(matrix: np.ndarray, unit: bool) -> np.ndarray:
    """Which rows are finite and, when ``unit``, of length 1 (within UNIT_TOLERANCE)."""
    ok = np.isfinite(matrix).all(axis=1)
    if unit:  # a row with NaN or inf has a NaN or inf norm: never within the tolerance
        with np.errstate(invalid="ignore", over="ignore"):
            ok &= np.abs(np.sqrt(np.einsum("ij,ij->i", matrix, matrix)) - 1) <= UNIT_TOLERANCE
    return ok


class _Damaged(Exception):
    """A shard failed verification."""


def _checksums(metadata: dict[bytes, bytes] | None) -> tuple[str, str] | None:
    """A shard's (keys, vectors) checksums, or None for a shard written before they existed."""
    metadata = metadata or {}
    if KEYS_SHA256 not in metadata and VECTORS_SHA256 not in metadata:
        return None
    try:
        return metadata[KEYS_SHA256].decode("ascii"), metadata[VECTORS_SHA256].decode("ascii")
    except (KeyError, UnicodeDecodeError) as error:
        raise _Damaged("incomplete checksums") from error


class _ShardIndex:
    """Which keys a cache folder holds and where (shard, row): one per folder and process.

    Built from the shards' ``key`` columns only, and grown as new shard files appear (ours or
    other processes'), so each shard's keys are read once per process. About 40 bytes per
    cached vector: the vectors themselves stay on disk until a lookup hits them.

    Each shard is verified once per process, in two halves that cost no extra read: its keys
    against their checksum when it is indexed, its vectors when they are first loaded (see
    :meth:`EmbeddingCache.get`). A shard that fails is moved to ``quarantine/`` with one warning
    and its keys leave the index, so its vectors are computed again and never used.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.shards: list[Path] = []
        self.rows: list[int] = []  # per shard number: how many vectors it holds
        self.vectors_sha256: list[str | None] = []  # per shard number (None: no checksum)
        self.verified: set[tuple[int, bool]] = set()  # (shard number, checked as unit vectors)
        self.dropped: set[int] = set()
        self.seen: set[str] = set()
        self.keys = np.empty(0, dtype=f"S{KEY_CHARS}")  # sorted
        self.where = np.empty(0, dtype=np.int64)  # shard number << 32 | row, as keys
        self.lock = threading.Lock()

    def refresh(self) -> None:
        """Index shards written since the last refresh (by any process); call with the lock."""
        if not self.folder.is_dir():
            return
        paths, arrays, sums = [], [], []
        for path in sorted(p for p in self.folder.glob(SHARD_GLOB) if p.name not in self.seen):
            self.seen.add(path.name)
            try:
                table = pq.read_table(path, columns=["key"], use_threads=False)
                keys = _key_array(table.column("key"))
                checksums = _checksums(table.schema.metadata)
                if checksums is not None and _digest(keys) != checksums[0]:
                    raise _Damaged("keys do not match their checksum")
            except FileNotFoundError:  # moved aside by another process meanwhile
                self.seen.discard(path.name)
                continue
            except (OSError, KeyError, ValueError, pa.ArrowException, _Damaged) as error:
                self._quarantine(path, error)
                continue
            paths.append(path)
            arrays.append(keys)
            sums.append(checksums[1] if checksums else None)
        self._merge(paths, arrays, sums)

    def register(self, path: Path, keys: np.ndarray, vectors_sha256: str, unit: bool) -> None:
        """Index one shard this process has just written (its vectors were checked by ``add``)."""
        if path.name not in self.seen:
            self.seen.add(path.name)
            self._merge([path], [keys], [vectors_sha256])
            number = len(self.shards) - 1
            self.verified.update({(number, False), (number, unit)})

    def _merge(self, paths: list[Path], arrays: list[np.ndarray],
               sums: list[str | None]) -> None:
        """Add shards' keys to the sorted index: new keys are sorted, then inserted in one pass."""
        if not paths:
            return
        first = len(self.shards)
        self.shards.extend(paths)
        self.rows.extend(len(a) for a in arrays)
        self.vectors_sha256.extend(sums)
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

    def vectors(self, number: int, unit: bool) -> np.ndarray:
        """All vectors of one indexed shard, verified the first time this process loads them
        (checksum when it has one; finite, and unit length when ``unit``, always)."""
        column = pq.read_table(self.shards[number], columns=["vector"],
                               use_threads=False).column("vector")
        array = column.combine_chunks()
        if not (pa.types.is_fixed_size_list(array.type)
                and array.type.value_type == pa.float32()):
            raise _Damaged(f"vector column of type {array.type}")
        if len(array) != self.rows[number] or array.null_count:
            raise _Damaged("vectors do not match the keys")
        matrix = array.flatten().to_numpy(zero_copy_only=False).reshape(len(array), -1)
        if (number, unit) not in self.verified:
            expected = self.vectors_sha256[number]
            if expected is not None and _vectors_digest(matrix) != expected:
                raise _Damaged("vectors do not match their checksum")
            if not _sound_rows(matrix, unit).all():
                raise _Damaged("vectors that are not finite" + (" unit vectors" if unit else ""))
            self.verified.add((number, unit))
        return matrix

    def drop(self, number: int, error: Exception) -> None:
        """Stop using one indexed shard: quarantined (or gone), its keys out of the index."""
        with self.lock:
            if number in self.dropped:
                return
            self.dropped.add(number)
            keep = (self.where >> 32) != number
            self.keys, self.where = self.keys[keep], self.where[keep]
            path = self.shards[number]
            if isinstance(error, FileNotFoundError):  # removed by someone else: nothing to move
                logger.info("embedding cache: %s has gone; its vectors are recomputed", path)
                self.seen.discard(path.name)
            else:
                self._quarantine(path, error)

    def _quarantine(self, path: Path, error: Exception) -> None:
        """Move a damaged shard out of SHARD_GLOB (one warning); call with the lock."""
        target = path.parent / QUARANTINE / path.name
        try:
            target.parent.mkdir(exist_ok=True)
            os.replace(path, target)
        except FileNotFoundError:  # another process moved it first
            pass
        except OSError as move_error:  # not ours to move: ignore it for this process
            logger.warning("embedding cache: damaged shard %s (%s) ignored; cannot move it "
                           "aside (%s)", path, error, move_error)
            return
        logger.warning("embedding cache: damaged shard %s (%s) moved to %s; its vectors are "
                       "recomputed", path, error, target.parent)
        self.seen.discard(path.name)  # a new shard of that name (recomputed) is indexed again


_INDEXES: dict[Path, _ShardIndex] = {}
_INDEXES_LOCK = threading.Lock()


def _shard_index(folder: Path) -> _ShardIndex:
    with _INDEXES_LOCK:
        key = folder.absolute()
        if key not in _INDEXES:
            _INDEXES[key] = _ShardIndex(folder)
            remove_stale_temporary_files(folder)
        return _INDEXES[key]


#: A temporary shard older than this was left by a killed writer (a live one renames it into
#: place within seconds), so the first process to open the cache folder removes it.
STALE_TEMP_SECONDS = 3600


def remove_stale_temporary_files(folder: Path, max_age: float = STALE_TEMP_SECONDS) -> int:
    """Delete the temporary files of shard writes that a kill interrupted; return how many."""
    removed = 0
    now = time.time()
    for path in folder.glob(".*.tmp") if folder.is_dir() else ():
        with contextlib.suppress(OSError):
            if now - path.stat().st_mtime > max_age:
                path.unlink()
                removed += 1
    return removed


class EmbeddingCache:
    """Vectors on disk, keyed by a hash of (model, prompt, text); Parquet shards, append-only.

    Construction reads nothing. :meth:`get` reads the ``key`` column of shards it has not
    indexed yet (a per-process index shared by every cache object on the folder), then the
    ``vector`` column only of the shards holding hits, and takes the hit rows. :meth:`add`
    writes one new shard, named by the hash of its keys, to a temporary file renamed into
    place: concurrent writers never clash and readers never see a partial shard.

    Each shard carries the sha256 of its keys and of its vectors in its schema metadata (one
    file, one atomic rename), checked once per process (see :class:`_ShardIndex`): a damaged
    shard is quarantined and its vectors recomputed, never used. Vectors that are not finite
    (or, with ``unit_vectors``, not of length 1) count as damage, and :meth:`add` never writes
    them. Shards written before checksums existed are kept when their vectors pass that cheap
    check: re-embedding a whole per-user cache would cost every corpus the user ever ran, and
    damage to stored floats (a truncated or overwritten page) almost always breaks the file or
    the vectors' norms; a vector replaced whole by another unit vector is what only a checksum
    catches, and every shard written from now on has one.
    """

    def __init__(self, folder: Path, unit_vectors: bool = False) -> None:
        self.folder = folder
        self.unit_vectors = unit_vectors

    def get(self, keys: list[str]) -> dict[str, np.ndarray]:
        """The cached vectors of those ``keys`` the cache holds (float32 rows)."""
        index = _shard_index(self.folder)
        with index.lock:
            index.refresh()
            found = index.locate(keys)
        hits = np.flatnonzero(found >= 0)
        hits = hits[np.argsort(found[hits], kind="stable")]  # grouped by shard, rows in order
        shard_of = found[hits] >> 32
        bounds = np.flatnonzero(np.diff(shard_of)) + 1
        out: dict[str, np.ndarray] = {}
        for chosen in np.split(hits, bounds) if len(hits) else []:
            number = int(found[chosen[0]] >> 32)
            rows = found[chosen] & 0xFFFFFFFF
            try:
                matrix = index.vectors(number, self.unit_vectors)
            except (OSError, ValueError, pa.ArrowException, _Damaged) as error:
                index.drop(number, error)  # damaged or removed: embed again
                continue
            out.update(zip((keys[i] for i in chosen), matrix[rows], strict=True))
        return out

    def add(self, keys: list[str], matrix: np.ndarray) -> None:
        """Write one shard of ``keys`` and their vectors (rows that are not sound are left out:
        a later read would count them as damage)."""
        if not keys:
            return
        matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        sound = _sound_rows(matrix, self.unit_vectors)
        if not sound.all():
            logger.warning("embedding cache: %d vector(s) not cached: not finite%s",
                           int((~sound).sum()), " unit vectors" if self.unit_vectors else "")
            keys = [key for key, ok in zip(keys, sound, strict=True) if ok]
            matrix = matrix[sound]
        if not keys:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256("".join(keys).encode()).hexdigest()[:16]
        key_bytes = np.array([key.encode() for key in keys], dtype=f"S{KEY_CHARS}")
        vectors_sha256 = _vectors_digest(matrix)
        vector_type = pa.list_(pa.float32(), matrix.shape[1])
        vectors = pa.FixedSizeListArray.from_arrays(pa.array(matrix.ravel()), type=vector_type)
        table = pa.table({"key": pa.array(keys, type=pa.string()), "vector": vectors})
        table = table.replace_schema_metadata({KEYS_SHA256: _digest(key_bytes),
                                               VECTORS_SHA256: vectors_sha256})
        path = self.folder / f"part-{name}.parquet"
        with atomic_path(path) as tmp:  # vectors: neither dictionary-encoded nor compressed
            pq.write_table(table, tmp, use_dictionary=False, compression={
                "key": "snappy", "vector": "none"})
        index = _shard_index(self.folder)
        with index.lock:
            index.register(path, key_bytes, vectors_sha256, self.unit_vectors)
