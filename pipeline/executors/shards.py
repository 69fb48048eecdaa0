"""Shards of whole documents: how per-document stages are split, stored and put back together.

A shard is a contiguous run of ``shard_documents`` rows of the ``documents`` table, with every
row of the other input tables that belongs to those documents (matched on ``doc_id``; a table
without ``doc_id``, such as ``embeddings``, is never read by a per-document stage). The plan
depends only on the input tables and the shard size, never on the executor, and the outputs are
concatenated in shard order — which is why every executor writes the same tables.

Finished shards are kept under ``<output>/.cache/shards/<stage>-<key>/`` (one Parquet file per
output table, then a ``.done`` marker holding the shard's stats); a rerun after a killed worker or
driver skips them. The folder goes once the whole stage result is cached.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.base import Tables
from pipeline.io import read_parquet, write_parquet_atomic


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


class ShardStore:
    """Finished shards of one (stage, key) on disk; a shard counts once its marker exists."""

    def __init__(self, folder: Path, writes: tuple[str, ...]) -> None:
        self.folder = folder
        self.writes = writes

    def _marker(self, index: int) -> Path:
        return self.folder / f"{index:06d}.done"

    def finished(self) -> set[int]:
        if not self.folder.is_dir():
            return set()
        return {int(p.stem) for p in self.folder.glob("*.done")}

    def save(self, result: ShardResult) -> None:
        for name in self.writes:
            write_parquet_atomic(self.folder / f"{result.index:06d}-{name}.parquet",
                                 result.tables[name])
        self._marker(result.index).write_text(json.dumps(result.stats, default=str))

    def load(self, index: int) -> ShardResult:
        stats = json.loads(self._marker(index).read_text())
        tables = {name: read_parquet(self.folder / f"{index:06d}-{name}.parquet")
                  for name in self.writes}
        return ShardResult(index, tables, stats, True)

    def clear(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
