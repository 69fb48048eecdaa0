"""The Ray executor on a real local Ray cluster (``ray.init(num_cpus=2)``): same tables as the
local executor, and a killed driver's rerun redoes only the unfinished shards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.config import parse_config
from pipeline.runner import run_job
from tests.conftest import job_data, record_shard_saves

ray = pytest.importorskip("ray", reason="the ray executor needs ray[data] (requirements.txt)")

OUTPUTS = ["documents.parquet", "sentences.parquet", "alignments.parquet", "embeddings.parquet",
           "quotes.parquet", "clusters.parquet"]


@pytest.fixture
def local_ray_cluster() -> Any:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
                                       "TOKENIZERS_PARALLELISM": "false"}})
    yield
    ray.shutdown()


def test_ray_writes_the_local_tables_and_resumes_a_killed_driver(
        local_ray_cluster: Any, tiny_st_dir: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    sharding = {"shard_documents": 2}  # three shards: a real split, and something to resume
    local = tmp_path / "local"
    run_job(parse_config(job_data(local, tiny_st_dir, executor=sharding)))

    on_ray = tmp_path / "ray"
    job = parse_config(job_data(on_ray, tiny_st_dir, executor={**sharding, "name": "ray"}))
    saved = record_shard_saves(monkeypatch, "embed", die_after=1)
    with pytest.raises(KeyboardInterrupt):
        run_job(job)

    resaved = record_shard_saves(monkeypatch, "embed")
    result = run_job(job)
    assert sorted(saved + resaved) == [0, 1, 2], "only the unfinished shards are redone"
    embed = next(r for r in result.reports if r.name == "embed")
    assert not embed.cached
    assert (embed.stats["shards"], embed.stats["shards_resumed"]) == (3, 1)
    assert embed.stats["executor"] == "ray"
    assert [r.name for r in result.reports if r.cached] == [
        "clean", "segment", "detect", "translate"]
    for name in OUTPUTS:
        assert (on_ray / name).read_bytes() == (local / name).read_bytes(), name
