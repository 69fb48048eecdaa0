"""Atomic file writes and Parquet helpers.

Every file the pipeline writes goes to a temporary name in the same folder and is renamed into
place, so a killed job never leaves a half-written table behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp creates 0600; outputs are meant to be read
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(target: Path, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(target: Path, data: Any) -> None:
    write_text_atomic(target, json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n")


def to_arrow(frame: pd.DataFrame, schema: pa.Schema | None = None) -> pa.Table:
    if schema is not None:
        frame = frame[[field.name for field in schema]]
    return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)


def write_parquet_atomic(target: Path, frame: pd.DataFrame, schema: pa.Schema | None = None):
    """Write ``frame`` deterministically (fixed schema, no pandas index, zstd)."""
    table = to_arrow(frame, schema)
    if schema is not None:
        table = table.replace_schema_metadata(None)
    with atomic_path(target) as tmp:
        pq.write_table(table, tmp, compression="zstd", write_statistics=True)


def write_parquet_staged(target: Path, frame: pd.DataFrame,
                         schema: pa.Schema | None = None) -> Path:
    """Write ``frame`` as :func:`write_parquet_atomic` does, but to a temporary file beside
    ``target`` that the caller renames into place (with others, once all are written) or
    deletes; returns its path."""
    table = to_arrow(frame, schema)
    if schema is not None:
        table = table.replace_schema_metadata(None)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    path = Path(tmp)
    try:
        pq.write_table(table, path, compression="zstd", write_statistics=True)
        os.chmod(path, 0o666 & ~_umask())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def read_parquet(path: Path) -> pd.DataFrame:
    return pq.read_table(path).to_pandas()
