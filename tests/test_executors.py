"""Executors and shards without Ray: the plan, merging, shard-size invariance, the process pool
and mid-stage resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipeline.config import load_config, parse_config
from pipeline.executors.shards import (
    ShardResult,
    merge_outputs,
    merge_stats,
    plan_shards,
)
from pipeline.runner import run_job
from tests.conftest import ROOT, job_data, record_shard_saves

OUTPUTS = ["documents.parquet", "sentences.parquet", "alignments.parquet", "embeddings.parquet",
           "quotes.parquet", "clusters.parquet"]


def table_bytes(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in OUTPUTS}


def assert_same_outputs(folder: Path, expected: Path) -> None:
    """Every table byte-identical, except that vectors may differ in the last float bits: a
    model batches a shard's sentences together, and padding to another length changes the
    rounding (alignment scores, rounded to 1e-6, are still identical)."""
    ours, theirs = table_bytes(folder), table_bytes(expected)
    vectors = [pd.read_parquet(f / "embeddings.parquet") for f in (folder, expected)]
    assert vectors[0]["sent_id"].tolist() == vectors[1]["sent_id"].tolist()
    for a, b in zip(vectors[0]["embedding"], vectors[1]["embedding"], strict=True):
        assert abs(a - b).max() < 1e-6
    assert {k: v for k, v in ours.items() if k != "embeddings.parquet"} == {
        k: v for k, v in theirs.items() if k != "embeddings.parquet"}


def stage_stats(result: Any, name: str) -> dict[str, Any]:
    return next(r.stats for r in result.reports if r.name == name)


@pytest.fixture(scope="module")
def one_shard_run(tiny_st_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeds job in one shard per stage (the default shard size exceeds five documents)."""
    output = tmp_path_factory.mktemp("one-shard") / "out"
    run_job(parse_config(job_data(output, tiny_st_dir)))
    return output


def test_plan_keeps_whole_documents_in_order() -> None:
    documents = pd.DataFrame({"doc_id": ["b", "a", "c"], "text": ["B", "A", "C"]})
    sentences = pd.DataFrame({"doc_id": ["b", "b", "a", "c", "c", "c"],
                              "sent_id": ["b1", "b2", "a1", "c1", "c2", "c3"]})
    shards = plan_shards({"documents": documents, "sentences": sentences},
                         ("documents", "sentences"), 2)
    assert [s["documents"]["doc_id"].tolist() for s in shards] == [["b", "a"], ["c"]]
    assert [s["sentences"]["sent_id"].tolist() for s in shards] == [
        ["b1", "b2", "a1"], ["c1", "c2", "c3"]]
    merged = merge_outputs([ShardResult(1, shards[1]), ShardResult(0, shards[0])],
                           ("documents", "sentences"))
    pd.testing.assert_frame_equal(merged["sentences"], sentences)
    pd.testing.assert_frame_equal(merged["documents"], documents)


def test_plan_rejects_rows_of_unknown_documents() -> None:
    documents = pd.DataFrame({"doc_id": ["a"]})
    sentences = pd.DataFrame({"doc_id": ["a", "zz"]})
    with pytest.raises(ValueError, match="'zz'"):
        plan_shards({"documents": documents, "sentences": sentences},
                    ("documents", "sentences"), 10)


def test_stats_add_up_across_shards() -> None:
    results = [ShardResult(0, {}, {"quotes": 2, "languages": {"en": 3}, "error": "x"}),
               ShardResult(1, {}, {"quotes": 5, "languages": {"en": 1, "vi": 2}, "error": "y"})]
    assert merge_stats(results) == {"quotes": 7, "languages": {"en": 4, "vi": 2}, "error": "x"}


def test_shard_size_does_not_change_any_table(one_shard_run: Path, tiny_st_dir: Path,
                                              tmp_path: Path) -> None:
    output = tmp_path / "out"
    result = run_job(parse_config(job_data(output, tiny_st_dir,
                                           executor={"shard_documents": 1})))
    assert stage_stats(result, "segment")["shards"] == 5
    assert stage_stats(result, "segment")["sentences"] == len(result.tables["sentences"])
    assert_same_outputs(output, one_shard_run)
    assert not (output / ".cache" / "shards").exists() or not any(
        (output / ".cache" / "shards").iterdir()), "shards are dropped once a stage is cached"


def test_process_pool_gives_the_same_tables(one_shard_run: Path, tiny_st_dir: Path,
                                            tmp_path: Path) -> None:
    output = tmp_path / "out"
    run_job(parse_config(job_data(output, tiny_st_dir,
                                  executor={"shard_documents": 2, "concurrency": 2})))
    assert_same_outputs(output, one_shard_run)


def test_killed_job_redoes_only_unfinished_shards(one_shard_run: Path, tiny_st_dir: Path,
                                                  tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    output = tmp_path / "out"
    job = parse_config(job_data(output, tiny_st_dir, executor={"shard_documents": 1}))
    saved = record_shard_saves(monkeypatch, "quotes", die_after=2)
    with pytest.raises(KeyboardInterrupt):
        run_job(job)
    resaved = record_shard_saves(monkeypatch, "quotes")
    result = run_job(job)
    assert sorted(resaved) == sorted(set(range(5)) - set(saved)), "finished shards not redone"
    assert stage_stats(result, "quotes")["shards_resumed"] == 2
    assert stage_stats(result, "quotes")["quotes"] == len(result.tables["quotes"])
    assert_same_outputs(output, one_shard_run)


def test_executor_is_not_part_of_any_stage_key(tiny_st_dir: Path, tmp_path: Path) -> None:
    from pipeline.runner import build_stages

    local = parse_config(job_data(tmp_path, tiny_st_dir))
    ray = parse_config(job_data(tmp_path, tiny_st_dir, executor="ray"))
    assert ray.executor.name == "ray"
    keys = [[stage.cache_key(dict.fromkeys(stage.reads, "x")) for stage in build_stages(job)]
            for job in (local, ray)]
    assert keys[0] == keys[1]


def test_executor_flag_extends_a_shorthand_config(tmp_path: Path) -> None:
    config = tmp_path / "job.yaml"
    config.write_text("job: j\ninputs: [x]\nexecutor: ray\n")
    job = load_config(config, settings=["executor.ray_address=auto"])
    assert (job.executor.name, job.executor.ray_address) == ("ray", "auto")
    assert load_config(ROOT / "configs" / "seeds.yaml").executor.name == "local"
