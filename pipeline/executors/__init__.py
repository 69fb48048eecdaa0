"""Executors run per-document stages over shards of documents: locally or on Ray Data."""

from __future__ import annotations

from pipeline.config import JobConfig
from pipeline.executors.base import Executor


def make_executor(job: JobConfig) -> Executor:
    """The executor a job's ``executor`` section names (Ray is imported only when chosen)."""
    if job.executor.name == "ray":
        from pipeline.executors.ray_data import RayExecutor

        return RayExecutor(job)
    from pipeline.executors.local import LocalExecutor

    return LocalExecutor(job)
