"""The embedding cache at scale: lazy key index, reads only for hits, concurrent writers, the
per-user default location, and the hashing backend's bypass."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import pipeline.models.vector_cache as embed_module
from pipeline.models.embedder import Embedder, EmbeddingCache, text_key
from pipeline.models.paths import cache_home, embedding_cache_root
from pipeline.stages.embed import Embed


def keys_and_vectors(count: int, start: int = 0, dim: int = 8) -> tuple[list[str], np.ndarray]:
    keys = [text_key("m", "query", f"text {n}") for n in range(start, start + count)]
    rng = np.random.default_rng(start)
    return keys, rng.normal(size=(count, dim)).astype(np.float32)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[str, ...]]]:
    """Every ``pq.read_table`` the cache makes: (file name, columns)."""
    calls: list[tuple[str, tuple[str, ...]]] = []
    real = pq.read_table

    def counting(path, *args, columns=None, **kwargs):
        calls.append((Path(path).name, tuple(columns or ())))
        return real(path, *args, columns=columns, **kwargs)

    monkeypatch.setattr(embed_module.pq, "read_table", counting)
    return calls


def fresh_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget the per-process key indexes, as a new worker process would start."""
    monkeypatch.setattr(embed_module, "_INDEXES", {})


def test_construction_reads_nothing(tmp_path: Path, reads, monkeypatch) -> None:
    cache = EmbeddingCache(tmp_path)
    for n in range(3):
        cache.add(*keys_and_vectors(10, start=10 * n))
    fresh_process(monkeypatch)
    reads.clear()
    EmbeddingCache(tmp_path)
    Embedder("m", "query", 8, tmp_path, backend="hashing")
    assert reads == []


def test_lookup_reads_keys_once_and_vectors_only_of_hit_shards(tmp_path: Path, reads,
                                                              monkeypatch) -> None:
    cache = EmbeddingCache(tmp_path)
    shards = [keys_and_vectors(20, start=20 * n) for n in range(5)]
    for keys, matrix in shards:
        cache.add(keys, matrix)
    fresh_process(monkeypatch)
    reads.clear()
    keys_2, matrix_2 = shards[2]
    wanted = [keys_2[3], "f" * 32, keys_2[7], keys_2[3]]
    found = EmbeddingCache(tmp_path).get(wanted)
    assert set(found) == {keys_2[3], keys_2[7]}
    np.testing.assert_array_equal(found[keys_2[7]], matrix_2[7])
    np.testing.assert_array_equal(found[keys_2[3]], matrix_2[3])
    assert sorted(columns for _, columns in reads) == [("key",)] * 5 + [("vector",)]

    # The key index is kept for the process: another lookup reads only the hit shard's vectors.
    reads.clear()
    keys_4, matrix_4 = shards[4]
    found = EmbeddingCache(tmp_path).get([keys_4[0], "e" * 32])
    np.testing.assert_array_equal(found[keys_4[0]], matrix_4[0])
    assert [columns for _, columns in reads] == [("vector",)]
    reads.clear()
    assert EmbeddingCache(tmp_path).get(["e" * 32]) == {}
    assert reads == []


def test_shards_written_by_other_processes_are_found(tmp_path: Path, reads) -> None:
    cache = EmbeddingCache(tmp_path)
    cache.add(*keys_and_vectors(5))
    assert cache.get(["a" * 32]) == {}
    # Another process writes a shard this process has not seen.
    keys, matrix = keys_and_vectors(5, start=100)
    table = pa.table({"key": keys, "vector": pa.FixedSizeListArray.from_arrays(
        pa.array(matrix.ravel()), 8)})
    pq.write_table(table, tmp_path / "part-0123456789abcdef.parquet")
    (tmp_path / ".part-fedcba9876543210.parquet.x1y2.tmp").write_bytes(b"half a file")
    reads.clear()
    found = cache.get(keys)
    np.testing.assert_array_equal(np.stack([found[k] for k in keys]), matrix)
    assert [name for name, columns in reads if columns == ("key",)] == [
        "part-0123456789abcdef.parquet"]  # temporary files are never read


def test_an_unreadable_shard_is_skipped(tmp_path: Path, caplog) -> None:
    keys, matrix = keys_and_vectors(4)
    EmbeddingCache(tmp_path).add(keys, matrix)
    (tmp_path / "part-badbadbadbadbad0.parquet").write_bytes(b"not parquet")
    other = tmp_path / "other"
    other.mkdir()
    for path in tmp_path.glob("part-*.parquet"):
        path.rename(other / path.name)
    with caplog.at_level("WARNING", logger="quotetrace"):
        found = EmbeddingCache(other).get(keys)
    assert len(found) == 4
    assert "part-badbadbadbadbad0.parquet" in caplog.text


def _write_shards(folder: str, worker: int, shards: int) -> None:
    cache = EmbeddingCache(Path(folder))
    for n in range(shards):
        # Workers overlap: shard n of every worker repeats the keys of shard n of worker 0.
        cache.add(*keys_and_vectors(16, start=1000 * worker + 16 * n))
        cache.add(*keys_and_vectors(16, start=16 * n))
        cache.get([text_key("m", "query", f"text {16 * n}")])


def test_concurrent_writers(tmp_path: Path, monkeypatch) -> None:
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_write_shards, args=(str(tmp_path), w, 12))
               for w in range(1, 4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(120)
        assert process.exitcode == 0
    assert not [p for p in tmp_path.iterdir() if not p.name.startswith("part-")]
    fresh_process(monkeypatch)
    cache = EmbeddingCache(tmp_path)
    for worker in range(4):  # worker 0's keys were written by every worker
        for n in range(12):
            keys, matrix = keys_and_vectors(16, start=1000 * worker + 16 * n)
            found = cache.get(keys)
            np.testing.assert_array_equal(np.stack([found[k] for k in keys]), matrix)


def test_default_cache_is_per_user(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                   make_job) -> None:
    monkeypatch.setenv("QUOTETRACE_CACHE_DIR", str(tmp_path / "qt"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert embedding_cache_root() == tmp_path / "qt" / "embeddings"
    assert embedding_cache_root(str(tmp_path / "mine")) == tmp_path / "mine"
    monkeypatch.delenv("QUOTETRACE_CACHE_DIR")
    assert embedding_cache_root(None) == tmp_path / "xdg" / "quotetrace" / "embeddings"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_home() == tmp_path / "home" / ".cache" / "quotetrace"
    monkeypatch.setenv("QUOTETRACE_CACHE_DIR", str(tmp_path / "qt"))
    assert Embed(make_job()).cache_root() == tmp_path / "qt" / "embeddings"
    assert Embed(make_job(embed={"cache_dir": str(tmp_path / "c")})).cache_root() == \
        tmp_path / "c"


def test_two_jobs_share_the_default_cache(make_job, tmp_path: Path, monkeypatch) -> None:
    from pipeline.runner import run_job

    monkeypatch.setenv("QUOTETRACE_CACHE_DIR", str(tmp_path / "user-cache"))
    first = run_job(make_job(output=tmp_path / "one"))
    second = run_job(make_job(output=tmp_path / "two"))
    stats = [result.reports[[r.name for r in result.reports].index("embed")].stats
             for result in (first, second)]
    assert stats[0]["embedded"] == len(first.tables["sentences"]) and stats[0]["cached"] == 0
    assert stats[1]["embedded"] == 0 and stats[1]["cached"] == stats[0]["embedded"]
    assert any((tmp_path / "user-cache" / "embeddings").rglob("part-*.parquet"))


def test_hashing_backend_skips_the_cache(tmp_path: Path) -> None:
    embedder = Embedder("unused", "query", 8, tmp_path, backend="hashing", hashing_dim=64)
    texts = ["Putin met Pezeshkian.", "Putin met Pezeshkian.", "Another sentence."]
    vectors = embedder.embed(texts)
    assert embedder.computed == 2
    np.testing.assert_array_equal(vectors[0], vectors[1])
    assert not any(tmp_path.iterdir())  # nothing written
    again = Embedder("unused", "query", 8, tmp_path, backend="hashing", hashing_dim=64)
    np.testing.assert_array_equal(again.embed(texts), vectors)


def test_texts_reach_the_model_longest_first(tiny_st_dir: Path, tmp_path: Path,
                                             monkeypatch) -> None:
    embedder = Embedder(str(tiny_st_dir), "query", 2, tmp_path)
    seen: list[list[str]] = []
    real = embedder._encode

    def spy(texts: list[str]) -> np.ndarray:
        seen.append(list(texts))
        return real(texts)

    monkeypatch.setattr(embedder, "_encode", spy)
    monkeypatch.setattr(embed_module, "SHARD_SIZE", 3)
    texts = ["a b", "a much longer sentence here", "mid length one", "x", "medium words"]
    vectors = embedder.embed(texts)
    flat = [t for chunk in seen for t in chunk]
    assert flat == sorted(texts, key=len, reverse=True)
    assert [len(chunk) for chunk in seen] == [3, 2]
    single = Embedder(str(tiny_st_dir), "query", 2, tmp_path / "other")
    np.testing.assert_allclose(vectors, np.stack([single.embed([t])[0] for t in texts]),
                               atol=1e-6)


def test_embedders_of_one_process_share_the_model(tiny_st_dir: Path, tmp_path: Path) -> None:
    first = Embedder(str(tiny_st_dir), "query", 8, tmp_path)
    second = Embedder(str(tiny_st_dir), "query", 8, tmp_path / "elsewhere")
    assert first.model is second.model
