"""Damaged caches: a stage result, a finished shard or an embedding-cache shard whose bytes were
truncated, overwritten or replaced is recomputed with one warning, never used and never fatal;
the job's tables come out as a clean run's."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import pipeline.models.vector_cache as embed_module
from pipeline.config import parse_config
from pipeline.executors.shards import ShardResult, ShardStore
from pipeline.models.embedder import EmbeddingCache, text_key
from pipeline.runner import JobResult, run_job
from pipeline.stagecache import StageCache
from tests.conftest import job_data, record_shard_saves

TABLES = ["documents.parquet", "sentences.parquet", "alignments.parquet", "embeddings.parquet",
          "quotes.parquet", "clusters.parquet"]
#: Per-document stages run in 3 shards of the 5 seed articles, in this process.
SHARDED = {"shard_documents": 2, "concurrency": 1}


def tables(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in TABLES}


def cached(result: JobResult) -> list[str]:
    return [report.name for report in result.reports if report.cached]


def new_log(folder: Path, before: int) -> str:
    """What a run appended to ``run.log`` (``before``: its length in bytes until then)."""
    return (folder / "run.log").read_bytes()[before:].decode("utf-8")


def damage_warnings(log: str) -> list[str]:
    return [line for line in log.splitlines() if " WARNING " in line and "damaged" in line]


def log_size(folder: Path) -> int:
    path = folder / "run.log"
    return path.stat().st_size if path.exists() else 0


# How a file gets damaged: each keeps the file in place, so only its content is wrong.
def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def garbage(path: Path) -> None:
    path.write_bytes(b"\x00garbage\xff" * 37)


def flip_bytes(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for at in range(len(data) // 3, len(data) // 3 + 8):
        data[at] ^= 0xFF
    path.write_bytes(bytes(data))


def delete(path: Path) -> None:
    path.unlink()


@pytest.fixture(scope="module")
def embedding_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private embedding cache for the job-level tests of this module."""
    return tmp_path_factory.mktemp("embedding-cache")


@pytest.fixture(scope="module")
def reference(tiny_st_dir: Path, embedding_cache: Path,
              tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean run of the seeds job (sharded per-document stages), with its stage cache."""
    output = tmp_path_factory.mktemp("reference") / "out"
    run_job(parse_config(job_data(output, tiny_st_dir, executor=SHARDED,
                                  embed={"cache_dir": str(embedding_cache)})))
    return output


@pytest.fixture
def seeds_job(tiny_st_dir: Path, embedding_cache: Path) -> Callable[[Path], Any]:
    def make(output: Path) -> Any:
        return parse_config(job_data(output, tiny_st_dir, executor=SHARDED,
                                     embed={"cache_dir": str(embedding_cache)}))

    return make


# --- stage cache ------------------------------------------------------------------------------

@pytest.mark.parametrize(("stage", "filename", "damage"), [
    ("segment", "sentences.parquet", truncate),
    ("align", "alignments.parquet", garbage),
    ("quotes", "quotes.parquet", flip_bytes),
    ("stories", "lexicon.parquet", delete),
    ("embed", "stats.json", garbage),
    ("trace", "done", garbage),
])
def test_a_damaged_stage_cache_is_recomputed(reference: Path, seeds_job, tmp_path: Path,
                                             stage: str, filename: str,
                                             damage: Callable[[Path], None]) -> None:
    output = tmp_path / "out"
    shutil.copytree(reference, output)
    folder = next((output / ".cache" / "stages").glob(f"{stage}-*"))
    damage(folder / filename)
    before = log_size(output)

    result = run_job(seeds_job(output))  # no --force

    assert stage not in cached(result)
    assert "clean" in cached(result)
    assert tables(output) == tables(reference)
    warnings = damage_warnings(new_log(output, before))
    assert len(warnings) == 1, warnings
    assert folder.name in warnings[0]
    again = log_size(output)
    rerun = run_job(seeds_job(output))  # the recomputed entry is whole again
    assert stage in cached(rerun) and not damage_warnings(new_log(output, again))


def test_a_stage_cache_without_checksums_is_recomputed_quietly(reference: Path, seeds_job,
                                                               tmp_path: Path) -> None:
    """``done`` holding the plain key (the format before checksums) cannot be verified."""
    output = tmp_path / "out"
    shutil.copytree(reference, output)
    folder = next((output / ".cache" / "stages").glob("align-*"))
    (folder / "done").write_text(folder.name.removeprefix("align-"))
    before = log_size(output)
    result = run_job(seeds_job(output))
    assert "align" not in cached(result) and "embed" in cached(result)
    assert tables(output) == tables(reference)
    assert not damage_warnings(new_log(output, before))


def test_stage_cache_marker_lists_every_file(tmp_path: Path) -> None:
    stage: Any = SimpleNamespace(name="s", writes=("a", "b"))
    cache = StageCache(tmp_path)
    frames = {"a": pd.DataFrame({"x": [1, 2]}), "b": pd.DataFrame({"y": ["u"]})}
    cache.save(stage, "k1", frames, {"notice": "n"})
    marker = json.loads((cache.folder(stage, "k1") / "done").read_text())
    assert marker["key"] == "k1"
    assert sorted(marker["files"]) == ["a.parquet", "b.parquet", "stats.json"]
    loaded = cache.load(stage, "k1")
    assert loaded is not None and loaded["a"].equals(frames["a"])
    assert cache.load(stage, "k2") is None


# --- finished shards --------------------------------------------------------------------------

@pytest.mark.parametrize(("target", "damage"), [
    ("000000-quotes.parquet", garbage),
    ("000000-quotes.parquet", truncate),
    ("000000-quotes.parquet", delete),
    ("000000.done", garbage),
    ("000000.done", truncate),
])
def test_a_damaged_shard_is_recomputed(reference: Path, seeds_job, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch, target: str,
                                       damage: Callable[[Path], None]) -> None:
    output = tmp_path / "out"
    job = seeds_job(output)
    saved = record_shard_saves(monkeypatch, "quotes", die_after=2)
    with pytest.raises(KeyboardInterrupt):
        run_job(job)
    assert sorted(saved) == [0, 1]
    folder = next((output / ".cache" / "shards").glob("quotes-*"))
    damage(folder / target)
    before = log_size(output)

    resaved = record_shard_saves(monkeypatch, "quotes")
    result = run_job(job)

    assert sorted(resaved) == [0, 2], "the damaged shard and the unfinished one are redone"
    stats = next(r.stats for r in result.reports if r.name == "quotes")
    assert stats["shards_resumed"] == 1
    assert tables(output) == tables(reference)
    warnings = damage_warnings(new_log(output, before))
    assert len(warnings) == 1, warnings
    assert folder.name in warnings[0]


def test_shard_store_verifies_each_shard(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = ShardStore(tmp_path / "shards", ("t",))
    for index in range(3):
        store.save(ShardResult(index, {"t": pd.DataFrame({"x": [index]})}, {"n": index}))
    garbage(store.folder / "000001-t.parquet")
    (store.folder / "000002.done").write_text(json.dumps({"n": 2}))  # before checksums
    with caplog.at_level(logging.INFO, logger="quotetrace"):
        assert ShardStore(store.folder, ("t",)).finished() == {0}
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "000001" in warnings[0].getMessage()
    assert sorted(p.name for p in store.folder.iterdir()) == ["000000-t.parquet", "000000.done"]
    result = store.load(0)
    assert result.stats == {"n": 0} and result.tables["t"]["x"].tolist() == [0]


# --- embedding cache --------------------------------------------------------------------------

def cache_shards(root: Path) -> list[Path]:
    return sorted(root.rglob("part-*.parquet"))


def rewrite(path: Path, vectors: Callable[[np.ndarray], np.ndarray], keep_metadata: bool) -> None:
    """Rewrite a cache shard with pyarrow: the same keys, other vectors (a valid Parquet file)."""
    table = pq.read_table(path)
    matrix = np.stack(table.column("vector").to_numpy(zero_copy_only=False)).astype(np.float32)
    changed = np.ascontiguousarray(vectors(matrix), dtype=np.float32)
    column = pa.FixedSizeListArray.from_arrays(pa.array(changed.ravel()), matrix.shape[1])
    new = pa.table({"key": table.column("key"), "vector": column})
    if keep_metadata:
        new = new.replace_schema_metadata(table.schema.metadata)
    pq.write_table(new, path)


def rolled(matrix: np.ndarray) -> np.ndarray:
    """Every vector moved to the next key: still unit vectors, only a checksum can tell."""
    return np.roll(matrix, 1, axis=0)


def scaled(matrix: np.ndarray) -> np.ndarray:
    return matrix * 1.5


def one_nan(matrix: np.ndarray) -> np.ndarray:
    matrix = matrix.copy()
    matrix[len(matrix) // 2, 0] = np.nan
    return matrix


def fresh_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget the per-process shard indexes, as the next job's process would start."""
    monkeypatch.setattr(embed_module, "_INDEXES", {})


@pytest.mark.parametrize("damage", [
    pytest.param(lambda p: rewrite(p, rolled, keep_metadata=True), id="vectors-swapped"),
    pytest.param(lambda p: rewrite(p, one_nan, keep_metadata=True), id="nan"),
    pytest.param(lambda p: rewrite(p, scaled, keep_metadata=False), id="not-unit-no-checksum"),
    pytest.param(lambda p: pq.write_table(pq.read_table(p, columns=["key"]), p),
                 id="no-vector-column"),
    pytest.param(truncate, id="truncated"),
    pytest.param(garbage, id="not-parquet"),
])
def test_a_damaged_embedding_cache_is_recomputed(make_job, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 damage: Callable[[Path], None]) -> None:
    cache = tmp_path / "user-cache"
    monkeypatch.setenv("QUOTETRACE_CACHE_DIR", str(cache))
    clean = run_job(make_job(output=tmp_path / "one")).output_dir
    shard = cache_shards(cache)[0]
    damage(shard)

    fresh_process(monkeypatch)
    second = run_job(make_job(output=tmp_path / "two"))
    assert tables(second.output_dir) == tables(clean)
    vectors = np.stack(second.tables["embeddings"]["embedding"])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    warnings = damage_warnings(new_log(second.output_dir, 0))
    assert len(warnings) == 1, warnings
    assert shard.name in warnings[0]
    assert (shard.parent / "quarantine" / shard.name).exists()

    fresh_process(monkeypatch)  # every later job finds the recomputed vectors, and no damage
    third = run_job(make_job(output=tmp_path / "three"))
    embed = next(r.stats for r in third.reports if r.name == "embed")
    assert embed["embedded"] == 0
    assert tables(third.output_dir) == tables(clean)
    assert not damage_warnings(new_log(third.output_dir, 0))


def unit_vectors(count: int, start: int = 0, dim: int = 8) -> tuple[list[str], np.ndarray]:
    keys = [text_key("m", "query", f"text {n}") for n in range(start, start + count)]
    matrix = np.random.default_rng(start).normal(size=(count, dim)).astype(np.float32)
    return keys, matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def test_cache_shards_are_verified_once_per_process(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    cache = EmbeddingCache(tmp_path, unit_vectors=True)
    keys, matrix = unit_vectors(20)
    cache.add(keys, matrix)
    fresh_process(monkeypatch)
    digests: list[int] = []
    real = embed_module._vectors_digest
    monkeypatch.setattr(embed_module, "_vectors_digest",
                        lambda m: digests.append(len(m)) or real(m))
    for _ in range(3):
        found = EmbeddingCache(tmp_path, unit_vectors=True).get(keys[:5])
        np.testing.assert_array_equal(np.stack([found[k] for k in keys[:5]]), matrix[:5])
    assert digests == [20], "the whole shard is hashed once, on its first load"


def test_old_shards_are_kept_when_their_vectors_are_unit(tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    """Shards written before checksums: accepted if finite unit vectors, else quarantined."""
    good, good_matrix = unit_vectors(4)
    bad, bad_matrix = unit_vectors(4, start=10)
    for name, keys, matrix in [("0", good, good_matrix), ("1", bad, bad_matrix * 2)]:
        pq.write_table(pa.table({"key": keys, "vector": pa.FixedSizeListArray.from_arrays(
            pa.array(matrix.ravel()), 8)}), tmp_path / f"part-{name * 16}.parquet")
    with caplog.at_level(logging.WARNING, logger="quotetrace"):
        found = EmbeddingCache(tmp_path, unit_vectors=True).get(good + bad)
    assert sorted(found) == sorted(good)
    assert len(caplog.records) == 1 and "part-1111111111111111" in caplog.text
    assert [p.name for p in tmp_path.glob("part-*.parquet")] == ["part-0000000000000000.parquet"]
    assert (tmp_path / "quarantine" / "part-1111111111111111.parquet").exists()


def test_vectors_that_are_not_sound_are_never_cached(tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    keys, matrix = unit_vectors(4)
    matrix[1] = np.nan
    matrix[2] *= 3
    cache = EmbeddingCache(tmp_path, unit_vectors=True)
    with caplog.at_level(logging.WARNING, logger="quotetrace"):
        cache.add(keys, matrix)
    assert "2 vector(s) not cached" in caplog.text
    assert sorted(cache.get(keys)) == sorted([keys[0], keys[3]])


def test_stale_temporary_shards_of_a_killed_writer_are_removed(tmp_path: Path) -> None:
    import os
    import time

    from pipeline.models.embedder import STALE_TEMP_SECONDS, remove_stale_temporary_files

    old = tmp_path / ".part-abc.parquet.x1.tmp"
    fresh = tmp_path / ".part-def.parquet.x2.tmp"  # another process may be writing it now
    for path in (old, fresh):
        path.write_bytes(b"half a shard")
    stale_time = time.time() - STALE_TEMP_SECONDS - 60
    os.utime(old, (stale_time, stale_time))
    assert remove_stale_temporary_files(tmp_path) == 1
    assert not old.exists() and fresh.exists()
