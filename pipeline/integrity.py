"""Checksummed cache entries: stage results and finished shards are trusted only if they verify.

A cache entry is a folder of files plus a JSON marker written last (atomically) that records each
file's sha256. Reading an entry checks every file against its marker, so a damaged entry (a
truncated copy, bytes overwritten on disk, a file replaced by hand) is dropped and recomputed
instead of crashing every rerun until ``--force`` or, worse, being used as if it were right.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

#: Version of the marker layout: ``{"format": 2, "files": {name: sha256}, ...}``.
MARKER_FORMAT = 2


class DamagedCache(Exception):
    """A cache entry failed verification: it must be recomputed, never used."""


class OutdatedCache(DamagedCache):
    """A cache entry written by an older quotetrace (no checksums): recomputed, since it cannot be
    verified, but it is no sign of damage."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_checksums(folder: Path, names: Iterable[str]) -> dict[str, str]:
    """sha256 of each named file in ``folder`` (read back after writing: still in page cache)."""
    return {name: sha256_bytes((folder / name).read_bytes()) for name in names}


def marker(files: dict[str, str], **fields: Any) -> dict[str, Any]:
    """The JSON content of an entry's marker: its files' checksums and any other ``fields``."""
    return {"format": MARKER_FORMAT, **fields, "files": files}


def read_marker(path: Path, names: Iterable[str],
                outdated: Callable[[str], bool] = lambda text: False) -> dict[str, Any]:
    """The marker at ``path``, checked to list the checksum of exactly ``names``.

    Raises :class:`OutdatedCache` where ``outdated(text)`` says an older version wrote it, and
    :class:`DamagedCache` for anything else that is not a marker of ours.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DamagedCache(f"cannot read {path.name}: {error}") from error
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict) or data.get("format") != MARKER_FORMAT:
        if outdated(text):
            raise OutdatedCache(f"{path.name} was written by an older quotetrace")
        raise DamagedCache(f"{path.name} is not a cache marker")
    files = data.get("files")
    if not isinstance(files, dict) or set(files) != set(names) or not all(
            isinstance(value, str) for value in files.values()):
        raise DamagedCache(f"{path.name} does not list the expected files")
    return data


def read_verified(folder: Path, name: str, checksum: str) -> bytes:
    """The bytes of ``folder / name``, which must match ``checksum``."""
    try:
        data = (folder / name).read_bytes()
    except OSError as error:
        raise DamagedCache(f"cannot read {name}: {error.strerror or error}") from error
    if sha256_bytes(data) != checksum:
        raise DamagedCache(f"{name} does not match its checksum")
    return data


def parquet_frame(data: bytes, name: str) -> pd.DataFrame:
    """A Parquet file's bytes (already verified, so read once) as a DataFrame."""
    try:
        return pq.read_table(pa.BufferReader(data)).to_pandas()
    except (OSError, ValueError, pa.ArrowException) as error:
        raise DamagedCache(f"cannot decode {name}: {error}") from error


def json_value(data: bytes, name: str) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise DamagedCache(f"cannot decode {name}: {error}") from error
