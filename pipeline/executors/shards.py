"""Shards of whole documents: how per-document stages are split, stored and put back together.

A shard is a contiguous run of ``shard_documents`` rows of the ``documents`` table, with every
row of the other input tables that belongs to those documents (matched on ``doc_id``; a table
without ``doc_id``, such as ``embeddings``, is never read by a per-document stage). The plan
depends only on the input tables and the shard size, never on the executor, and the outputs are
concatenated in shard order — which is why every executor writes the same tables.

Finished shards are kept under ``<output>/.cache/shards/<stage>-<key>/`` (one Parquet file per
output table, then a ``.done`` marker holding the shard's stats and its tables' checksums); a
rerun after a killed worker or driver skips them, and recomputes any that fail verification. The
folder goes once the whole stage result is cached.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.base import Tables
from pipeline.integrity import (
    DamagedCache,
    OutdatedCache,
    file_checksums,
    marker,
    parquet_frame,
    read_marker,
    read_verified,
)
from pipeline.io import write_parquet_atomic, write_text_atomic

logger = logging.getLogger("quotetrace")


@dataclass
class ShardResult:
    """What running a stage on one shard produced."""

    index: int
    tables: Tables
    stats: dict[str, Any] = field(default_factory=dict)
    cacheable: bool = True


def plan_shards(tables: Tables, reads: tuple[str, ...], shard_documents: int) -> list[Tables]:
    """Split the ``reads`` tables into shards of ``shard_documents`` documents, in table order.

    The driving table is ``documents`` when the stage reads it, else the first table read; the
    documents of a shard are the distinct ``doc_id`` values of its rows, in order of appearance.
    """
    driving = "documents" if "documents" in reads else reads[0]
    doc_ids = pd.unique(tables[driving]["doc_id"])
    shard_of_doc = {doc: n // shard_documents for n, doc in enumerate(doc_ids)}
    count = max(1, -(-len(doc_ids) // shard_documents))
    shards: list[Tables] = [{} for _ in range(count)]
    for name in reads:
        frame = tables[name]
        positions = frame["doc_id"].map(shard_of_doc).to_numpy()
        if len(frame) and pd.isna(positions).any():
            missing = frame["doc_id"][pd.isna(positions)].iloc[0]
            raise ValueError(f"{name}: doc_id {missing!r} is not in the {driving} table")
        rows_of = pd.Series(np.arange(len(frame))).groupby(positions).indices if len(frame) else {}
        for n in range(count):
            rows = rows_of.get(n, np.zeros(0, dtype=np.int64))
            shards[n][name] = frame.iloc[rows].reset_index(drop=True)
    return shards


def merge_outputs(results: list[ShardResult], writes: tuple[str, ...]) -> Tables:
    """Concatenate shard outputs in shard order (empty shards add no rows and no dtypes)."""
    ordered = sorted(results, key=lambda r: r.index)
    merged: Tables = {}
    for name in writes:
        frames = [r.tables[name] for r in ordered]
        nonempty = [f for f in frames if len(f)] or frames[:1]
        merged[name] = pd.concat(nonempty, ignore_index=True) if len(nonempty) > 1 \
            else nonempty[0].reset_index(drop=True)
    return merged


def merge_stats(results: list[ShardResult]) -> dict[str, Any]:
    """Numbers add up across shards, mappings merge key by key; anything else keeps the first."""

    def combine(into: dict[str, Any], stats: dict[str, Any]) -> None:
        for key, value in stats.items():
            if key not in into:
                into[key] = json.loads(json.dumps(value, default=str))
            elif isinstance(value, bool) or not isinstance(value, (int, float, dict)):
                continue
            elif isinstance(value, dict) and isinstance(into[key], dict):
                combine(into[key], value)
            elif isinstance(value, (int, float)) and isinstance(into[key], (int, float)):
                into[key] = into[key] + value

    merged: dict[str, Any] = {}
    for result in sorted(results, key=lambda r: r.index):
        combine(merged, result.stats)
    return merged


def _stats_only(text: str) -> bool:
    """Whether a marker is in the format before checksums: the shard's stats alone (JSON)."""
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


class ShardStore:
    """Finished shards of one (stage, key) on disk; a shard counts once its marker exists and
    every file it lists matches its checksum.

    The marker ``<index>.done`` is written last, atomically, and holds the shard's stats and the
    sha256 of each of its tables; a shard whose marker or files fail that check is removed (one
    warning per store) and recomputed, instead of crashing every rerun until ``--force``.
    """

    def __init__(self, folder: Path, writes: tuple[str, ...]) -> None:
        self.folder = folder
        self.writes = writes
        self._verified: dict[int, ShardResult] = {}  # read by finished(), handed out by load()

    def _marker(self, index: int) -> Path:
        return self.folder / f"{index:06d}.done"

    def _files(self, index: int) -> dict[str, str]:
        """Table name → file name of one shard."""
        return {name: f"{index:06d}-{name}.parquet" for name in self.writes}

    def finished(self) -> set[int]:
        """The shards whose marker and tables verify (read here, once, for :meth:`load`)."""
        if not self.folder.is_dir():
            return set()
        done: set[int] = set()
        damaged: list[str] = []
        outdated = 0
        for path in sorted(self.folder.glob("*.done")):
            if not path.stem.isdigit():
                continue
            index = int(path.stem)
            try:
                self._verified[index] = self._read(index)
                done.add(index)
            except OutdatedCache:
                outdated += 1
                self._drop(index)
            except DamagedCache as error:
                damaged.append(f"{index:06d}: {error}")
                self._drop(index)
        if damaged:
            logger.warning("shard cache %s: %d damaged shard(s) removed and recomputed (%s)",
                           self.folder, len(damaged), "; ".join(damaged))
        if outdated:
            logger.info("shard cache %s: %d shard(s) predate checksums; recomputing", self.folder,
                        outdated)
        return done

    def save(self, result: ShardResult) -> None:
        files = self._files(result.index)
        for name, filename in files.items():
            write_parquet_atomic(self.folder / filename, result.tables[name])
        checksums = file_checksums(self.folder, files.values())
        stats = json.loads(json.dumps(result.stats, default=str))
        write_text_atomic(self._marker(result.index), json.dumps(marker(checksums, stats=stats)))

    def load(self, index: int) -> ShardResult:
        """A finished shard (as verified by :meth:`finished`); raises :class:`DamagedCache` if it
        was not listed there and fails verification now."""
        result = self._verified.pop(index, None)
        return result if result is not None else self._read(index)

    def _read(self, index: int) -> ShardResult:
        files = self._files(index)
        data = read_marker(self._marker(index), files.values(), outdated=_stats_only)
        stats = data.get("stats")
        if not isinstance(stats, dict):
            raise DamagedCache(f"{self._marker(index).name} holds no stats")
        tables = {name: parquet_frame(read_verified(self.folder, filename,
                                                    data["files"][filename]), filename)
                  for name, filename in files.items()}
        return ShardResult(index, tables, stats, True)

    def _drop(self, index: int) -> None:
        """Remove one shard, its marker first (so no half-removed shard counts as finished)."""
        self._verified.pop(index, None)
        self._marker(index).unlink(missing_ok=True)
        for filename in self._files(index).values():
            (self.folder / filename).unlink(missing_ok=True)
