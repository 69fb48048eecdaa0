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

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

#: How every table is written. Row groups of 32,768 rows bound the writer's buffers: with one
#: row group per table, writing 250,000 embeddings held about 600 MB of pages in memory.
PARQUET_OPTIONS: dict[str, Any] = {"compression": "zstd", "write_statistics": True,
                                   "row_group_size": 32_768}

@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success."""
    tmp_path = _temporary_beside(target)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp creates 0600; outputs are meant to be read
        try:
            os.replace(tmp_path, target)
        except OSError as error:
            raise OSError(error.errno, error.strerror, str(target)) from None
    finally:
        tmp_path.unlink(missing_ok=True)


def _temporary_beside(target: Path) -> Path:
    """A new empty temporary file in ``target``'s folder (named after it, hidden)."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as error:  # name the file the user asked for, not our temporary one
        raise OSError(error.errno, error.strerror, str(target)) from None
    os.close(fd)
    return Path(tmp)


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
    """``frame`` as an Arrow table (columns and types of ``schema`` when given).

    A column of 1-D numpy vectors (embeddings) is converted from one concatenated buffer:
    pandas' own conversion of such a column takes about 2.3 times the vectors' size in
    temporary memory, which is most of a large job's peak.
    """
    if schema is not None:
        frame = frame[[field.name for field in schema]]
    vectors = [name for name in frame.columns if _is_vector_column(frame[name])]
    if not vectors:
        return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    others = [name for name in frame.columns if name not in vectors]
    rest_schema = pa.schema([schema.field(n) for n in others]) if schema is not None else None
    table = pa.Table.from_pandas(frame[others], schema=rest_schema, preserve_index=False)
    table = table.replace_schema_metadata(None)
    for name in vectors:
        array = _list_array(frame[name])
        if schema is not None:
            array = array.cast(schema.field(name).type)
        table = table.add_column(list(frame.columns).index(name), name, array)
    return table


def _is_vector_column(column: pd.Series) -> bool:
    if column.dtype != object or not len(column):
        return False
    first = column.iloc[0]
    if not (isinstance(first, np.ndarray) and first.ndim == 1 and first.dtype.kind == "f"):
        return False
    return all(isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype == first.dtype
               for value in column)


def _list_array(column: pd.Series) -> pa.ListArray:
    lengths = np.fromiter((len(value) for value in column), dtype=np.int64, count=len(column))
    offsets = np.zeros(len(column) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    values = np.concatenate(column.to_list()) if len(column) else np.zeros(0, np.float32)
    offset_type = np.int32 if offsets[-1] < 2**31 else np.int64
    make = pa.ListArray if offset_type is np.int32 else pa.LargeListArray
    return make.from_arrays(pa.array(offsets.astype(offset_type)), pa.array(values))


def write_parquet_atomic(target: Path, frame: pd.DataFrame, schema: pa.Schema | None = None):
    """Write ``frame`` deterministically (fixed schema, no pandas index, zstd)."""
    with atomic_path(target) as tmp:
        pq.write_table(_table_to_write(frame, schema), tmp, **PARQUET_OPTIONS)


def write_parquet_staged(target: Path, frame: pd.DataFrame,
                         schema: pa.Schema | None = None) -> Path:
    """Write ``frame`` as :func:`write_parquet_atomic` does, but to a temporary file beside
    ``target`` that the caller renames into place (with others, once all are written) or
    deletes; returns its path."""
    table = _table_to_write(frame, schema)
    path = _temporary_beside(target)
    try:
        pq.write_table(table, path, **PARQUET_OPTIONS)
        os.chmod(path, 0o666 & ~_umask())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _table_to_write(frame: pd.DataFrame, schema: pa.Schema | None) -> pa.Table:
    table = to_arrow(frame, schema)
    # With a fixed schema, pandas' metadata would only restate it (and vary with pandas).
    return table.replace_schema_metadata(None) if schema is not None else table


def read_parquet(path: Path) -> pd.DataFrame:
    return pq.read_table(path).to_pandas()
