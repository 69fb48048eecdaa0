"""The Ray executor: shards as a Ray Data dataset, stages as ``map_batches``.

Each row of the dataset is one shard: its index and its input tables as Arrow IPC bytes (no
pickle, and no shared file system needed: outputs come back the same way and the driver writes
them). Stateless stages run as Ray tasks (``executor.concurrency`` at a time, default: the
cluster's CPUs); model stages (translate, embed) run in an actor pool of
``executor.model_concurrency`` actors, each building the stage — and loading its model — once.
Ray retries a shard whose worker died; the driver records every finished shard, so a rerun after
a killed driver redoes only the unfinished ones.

Every node needs quotetrace installed (the same ``pip install``) and the models at the same
paths (``models/`` or hub ids); input files are read by the driver only.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterable
from typing import Any

import pandas as pd
import pyarrow as pa

from pipeline.base import Progress, Stage, Tables
from pipeline.config import JobConfig
from pipeline.errors import ConfigError
from pipeline.executors.base import Executor, OnShardDone, run_shard
from pipeline.executors.shards import ShardResult

logger = logging.getLogger("quotetrace")


def encode_table(frame: pd.DataFrame) -> bytes:
    sink = io.BytesIO()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def decode_table(blob: bytes) -> pd.DataFrame:
    return pa.ipc.open_stream(blob).read_all().to_pandas()


def _encode_result(result: ShardResult) -> dict[str, Any]:
    import json

    row: dict[str, Any] = {"shard": result.index, "cacheable": result.cacheable,
                           "stats": json.dumps(result.stats, default=str)}
    for name, frame in result.tables.items():
        row[f"out:{name}"] = encode_table(frame)
    return row


def _run_batch(stage: Stage, batch: dict[str, Any]) -> dict[str, list[Any]]:
    rows: list[dict[str, Any]] = []
    for n, index in enumerate(batch["shard"]):
        tables = {name: decode_table(batch[f"in:{name}"][n]) for name in stage.reads}
        rows.append(_encode_result(run_shard(stage, int(index), tables)))
    return {key: [row[key] for row in rows] for key in rows[0]}


def run_stateless(batch: dict[str, Any], stage_type: type[Stage],
                  job_json: str) -> dict[str, list[Any]]:
    """A Ray task: build the (cheap) stage and run it on the batch's shards."""
    return _run_batch(stage_type(JobConfig.model_validate_json(job_json)), batch)


class ShardWorker:
    """A Ray actor for a model stage: builds the stage (and loads its model) once."""

    def __init__(self, stage_type: type[Stage], job_json: str) -> None:
        self.stage = stage_type(JobConfig.model_validate_json(job_json))

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        return _run_batch(self.stage, batch)


class RayExecutor(Executor):
    name = "ray"

    def __init__(self, job: JobConfig) -> None:
        super().__init__(job)
        try:
            import ray
        except ImportError:
            raise ConfigError(
                "executor: ray needs the ray package: pip install 'ray[data]'") from None
        self._started_here = False
        if not ray.is_initialized():
            address = job.executor.ray_address
            options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                       "logging_level": logging.WARNING}
            if address is None and not os.environ.get("RAY_ADDRESS"):
                # A private instance (unless RAY_ADDRESS names a cluster): with no address,
                # ray.init() would join any cluster whose address file is left in the temp
                # folder, even one that has stopped.
                address = "local"
                options["num_cpus"] = job.executor.concurrency or os.cpu_count() or 1
            try:
                ray.init(address=address, **options)
            except (ConnectionError, RuntimeError, ValueError) as error:
                if address == "local":
                    raise ConfigError(f"executor: ray: cannot start a local Ray instance "
                                      f"({error}); use --executor local") from None
                raise ConfigError(
                    f"executor.ray_address {address!r}: cannot connect to Ray ({error}); start a "
                    "cluster with `ray start --head` or leave ray_address unset") from None
            self._started_here = True
        import ray.data

        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        self.cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))

    def map_shards(self, stage: Stage, shards: Iterable[tuple[int, Tables]],
                   on_done: OnShardDone, progress: Progress) -> None:
        import json

        import ray.data

        items = [{"shard": index,
                  **{f"in:{name}": encode_table(tables[name]) for name in stage.reads}}
                 for index, tables in shards]
        if not items:
            return
        progress.total(len(items))
        dataset = ray.data.from_items(items, override_num_blocks=len(items))
        arguments = {"stage_type": type(stage), "job_json": self.job.model_dump_json()}
        if stage.loads_model:
            mapped = dataset.map_batches(
                ShardWorker, batch_size=1, num_cpus=1, fn_constructor_kwargs=arguments,
                compute=ray.data.ActorPoolStrategy(size=self.job.executor.model_concurrency))
        else:
            size = min(len(items), self.job.executor.concurrency or self.cpus)
            mapped = dataset.map_batches(
                run_stateless, batch_size=1, num_cpus=1, fn_kwargs=arguments,
                compute=ray.data.TaskPoolStrategy(size=size))
        for row in mapped.iter_rows():
            tables = {name: decode_table(row[f"out:{name}"]) for name in stage.writes}
            on_done(ShardResult(int(row["shard"]), tables, json.loads(row["stats"]),
                                bool(row["cacheable"])))
            progress.advance()

    def close(self) -> None:
        if self._started_here:
            import ray

            ray.shutdown()
            self._started_here = False
