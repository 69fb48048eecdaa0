"""Executors run per-document stages over shards of documents: locally or on Ray Data.

Which one runs a job is ``executor.name``, looked up in :data:`pipeline.registry.EXECUTORS`:
a new executor is an :class:`Executor` subclass taking the job config, plus one ``register``
line. Ray is imported only when chosen.
"""

from __future__ import annotations

from pipeline.config import JobConfig
from pipeline.executors.base import Executor
from pipeline.registry import EXECUTORS

__all__ = ["Executor", "make_executor"]


def make_executor(job: JobConfig) -> Executor:
    """The executor a job's ``executor`` section names; a missing package (ray) is a
    `BackendUnavailable` (exit 2) that says what to install."""
    executor: Executor = EXECUTORS.create(job.executor.name, job)
    if executor.name == Executor.name:  # a plugin that did not name itself: its config name
        executor.name = job.executor.name
    return executor
