"""Completed stage results on disk, verified on read (the runner's cache and resume).

Each stage's result is kept under ``<output>/.cache/stages/<stage>-<key>/``: its tables, its
stats and, written last, a ``done`` marker with every file's sha256 (:mod:`pipeline.integrity`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path
from typing import Any

from pipeline import integrity
from pipeline.base import Stage, Tables
from pipeline.io import write_json_atomic, write_parquet_atomic

logger = logging.getLogger("quotetrace")


def content_fingerprint(key: str, tables: Tables) -> str:
    digest = hashlib.sha256(key.encode())
    for name in sorted(tables):
        frame = tables[name]
        digest.update(name.encode())
        digest.update(frame.to_json(orient="split", default_handler=str).encode())
    return digest.hexdigest()[:16]


class StageCache:
    """Completed stage results on disk, one folder per (stage, key), marked done last, with the
    stage's stats (``stats.json``) so that a cached stage still reports its notice."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, stage: Stage, key: str) -> Path:
        return self.root / f"{stage.name}-{key}"

    @staticmethod
    def _files(stage: Stage) -> list[str]:
        """The files of an entry, each checksummed in its ``done`` marker."""
        return [*(f"{name}.parquet" for name in stage.writes), "stats.json"]

    def load(self, stage: Stage, key: str) -> Tables | None:
        """The cached tables, or None when there are none or they fail their checksums.

        A damaged entry is removed with one warning, so the stage is recomputed instead of
        every rerun crashing until ``--force`` (one an older version wrote, with a plain-key
        ``done`` and no checksums, cannot be verified: it is recomputed too, quietly).
        """
        folder = self.folder(stage, key)
        if not (folder / "done").exists():
            return None
        try:
            marker = integrity.read_marker(folder / "done", self._files(stage),
                                           outdated=lambda text: text.strip() == key)
            if marker.get("key") != key:
                raise integrity.DamagedCache("done marks another key")
            files = marker["files"]
            stats = integrity.read_verified(folder, "stats.json", files["stats.json"])
            integrity.json_value(stats, "stats.json")
            return {name: integrity.parquet_frame(
                integrity.read_verified(folder, f"{name}.parquet", files[f"{name}.parquet"]),
                f"{name}.parquet") for name in stage.writes}
        except integrity.OutdatedCache:
            logger.info("stage %s: cache %s predates checksums; recomputing", stage.name, folder)
        except integrity.DamagedCache as error:
            logger.warning("stage %s: damaged cache %s (%s): removed; the stage is recomputed",
                           stage.name, folder, error)
        shutil.rmtree(folder, ignore_errors=True)
        return None

    def load_stats(self, stage: Stage, key: str) -> dict[str, Any]:
        path = self.folder(stage, key) / "stats.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def save(self, stage: Stage, key: str, tables: Tables,
             stats: dict[str, Any] | None = None) -> None:
        """Write the tables and stats, then (last, atomically) ``done`` with their checksums:
        the entry counts only once every file it needs is recorded."""
        folder = self.folder(stage, key)
        shutil.rmtree(folder, ignore_errors=True)
        for name in stage.writes:
            write_parquet_atomic(folder / f"{name}.parquet", tables[name])
        write_json_atomic(folder / "stats.json", json.loads(json.dumps(stats or {}, default=str)))
        checksums = integrity.file_checksums(folder, self._files(stage))
        write_json_atomic(folder / "done", integrity.marker(checksums, key=key))
        for stale in self.root.glob(f"{stage.name}-*"):
            if stale != folder:
                shutil.rmtree(stale, ignore_errors=True)
