"""The executor contract: run one per-document stage over shards, report each shard as it ends.

Executors decide *where* shards run (this process, a process pool, Ray workers); the runner
decides *which* shards run (the plan, resume, caching) and how their outputs are merged, so every
executor produces the same tables. Stages never see the executor.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable

from pipeline.base import Progress, Stage, StageContext, Tables
from pipeline.config import JobConfig
from pipeline.executors.shards import ShardResult

logger = logging.getLogger("quotetrace")

OnShardDone = Callable[[ShardResult], None]


def run_shard(stage: Stage, index: int, tables: Tables,
              progress: Progress | None = None) -> ShardResult:
    """Run ``stage`` on one shard's tables; the same function runs in every executor."""
    context = StageContext(job=stage.job, logger=logger, progress=progress or Progress())
    outputs = stage.run(tables, context)
    return ShardResult(index, {name: outputs[name] for name in stage.writes}, context.stats,
                       context.cacheable)


class Executor(ABC):
    """Runs a per-document stage on shards; ``on_done`` is called in the driver per shard."""

    #: Recorded in the manifest; :func:`pipeline.executors.make_executor` sets it to the
    #: registered name (``executor.name``) when a subclass does not.
    name: str = "executor"

    def __init__(self, job: JobConfig) -> None:
        self.job = job

    @abstractmethod
    def map_shards(self, stage: Stage, shards: Iterable[tuple[int, Tables]],
                   on_done: OnShardDone, progress: Progress) -> None:
        """Run ``stage`` on every ``(index, tables)`` shard; call ``on_done`` as each finishes.

        ``progress`` adds up the totals it is given: a shard run in this process reports the
        stage's own units to it, shards run elsewhere count one each."""

    def close(self) -> None:  # noqa: B027 — most executors hold nothing to release
        """Release workers (pools, Ray connection)."""
