"""The Ray executor on a real local Ray cluster (``ray.init(num_cpus=2)``): same tables as the
local executor, and a killed driver's rerun redoes only the unfinished shards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.config import parse_config
from pipeline.executors.shards import ShardResult, ShardStore
from pipeline.runner import run_job
from tests.conftest import job_data

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
    original_save = ShardStore.save
    saved: list[int] = []

    def dies_after_one_embed_shard(store: ShardStore, result: ShardResult) -> None:
        if store.folder.name.startswith("embed-") and saved:
            raise KeyboardInterrupt("driver killed")
        original_save(store, result)
        if store.folder.name.startswith("embed-"):
            saved.append(result.index)

    monkeypatch.setattr(ShardStore, "save", dies_after_one_embed_shard)
    with pytest.raises(KeyboardInterrupt):
        run_job(job)
    monkeypatch.setattr(ShardStore, "save", original_save)

    result = run_job(job)
    embed = next(r for r in result.reports if r.name == "embed")
    assert not embed.cached
    assert (embed.stats["shards"], embed.stats["shards_resumed"]) == (3, 1)
    assert embed.stats["executor"] == "ray"
    assert [r.name for r in result.reports if r.cached] == [
        "clean", "segment", "detect", "translate"]
    for name in OUTPUTS:
        assert (on_ray / name).read_bytes() == (local / name).read_bytes(), name
