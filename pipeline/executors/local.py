"""The local executor: shards in this process, or in a process pool for stateless stages.

Model stages (``loads_model``) always run here, so the model is loaded once per job. Stateless
stages use a pool of ``executor.concurrency`` processes (default: every CPU) when there is more
than one shard; workers are started with ``spawn`` so no torch or thread state is forked.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

from pipeline.base import Progress, Stage, Tables
from pipeline.config import JobConfig
from pipeline.executors.base import Executor, OnShardDone, run_shard
from pipeline.executors.shards import ShardResult


def _run_in_worker(stage_type: type[Stage], job_json: str, index: int,
                   tables: Tables) -> ShardResult:
    return run_shard(stage_type(JobConfig.model_validate_json(job_json)), index, tables)


class LocalExecutor(Executor):
    name = "local"

    def __init__(self, job: JobConfig) -> None:
        super().__init__(job)
        self.workers = job.executor.concurrency or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    def map_shards(self, stage: Stage, shards: Iterable[tuple[int, Tables]],
                   on_done: OnShardDone, progress: Progress) -> None:
        shards = list(shards)
        if stage.loads_model or self.workers == 1 or len(shards) < 2:
            for index, tables in shards:
                on_done(run_shard(stage, index, tables, progress))
            return
        progress.total(len(shards))

        def finish(future: Future[ShardResult]) -> None:
            on_done(future.result())
            progress.advance()

        pool = self._get_pool()
        job_json = self.job.model_dump_json()
        # At most 2 shards per worker in flight: inputs are not all copied to the pool at once.
        pending: set[Future[ShardResult]] = set()
        queue = iter(shards)
        for index, tables in queue:
            pending.add(pool.submit(_run_in_worker, type(stage), job_json, index, tables))
            if len(pending) >= 2 * self.workers:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    finish(future)
        for future in pending:
            finish(future)

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
