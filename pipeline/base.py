"""The stage contract: named input tables in, named output tables out, keyed by config.

Like datatrove's ``PipelineStep``, a stage declares its name and version as class attributes and
implements one method, :meth:`Stage.run`. The runner owns caching, progress and timing; a stage
never knows whether its result will be cached or which executor called it. A stage declares
``per_document`` when it may run on shards of documents; the executors in
:mod:`pipeline.executors` rely on that and on nothing else.
"""

from __future__ import annotations

import hashlib
import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd
import pyarrow as pa
from pydantic import BaseModel

from pipeline import __version__
from pipeline.config import RUNTIME_KEYS, JobConfig
from pipeline.data import contract

Tables = dict[str, pd.DataFrame]


class Progress:
    """A progress sink a stage reports to; the runner connects it to a progress bar."""

    def __init__(self, on_total: Callable[[int], None] | None = None,
                 on_advance: Callable[[int], None] | None = None) -> None:
        self._on_total = on_total
        self._on_advance = on_advance

    def total(self, n: int) -> None:
        if self._on_total:
            self._on_total(n)

    def advance(self, n: int = 1) -> None:
        if self._on_advance:
            self._on_advance(n)


class AccumulatingProgress(Progress):
    """Forwards to ``inner`` with totals added up, for a stage that runs once per shard."""

    def __init__(self, inner: Progress) -> None:
        super().__init__()
        self.inner = inner
        self.sum = 0

    def total(self, n: int) -> None:
        self.sum += n
        self.inner.total(self.sum)

    def advance(self, n: int = 1) -> None:
        self.inner.advance(n)


@dataclass
class StageContext:
    """What the runner hands a stage besides its input tables."""

    job: JobConfig
    progress: Progress = field(default_factory=Progress)
    #: What the stage reports (numbers add up across shards). ``stats["notice"]``: one line
    #: (or a list of lines) the runner logs as a warning and the summary shows, e.g. why a stage
    #: produced nothing.
    stats: dict[str, Any] = field(default_factory=dict)
    #: A stage sets this to False when its result must not be reused (e.g. a model was missing,
    #: so a later run with the model should recompute).
    cacheable: bool = True
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("quotetrace"))


class Stage(ABC):
    """One step of a job: reads named tables, returns named tables."""

    name: ClassVar[str]
    version: ClassVar[int] = 1
    #: The tables this stage reads and writes, each with the Arrow schema of the columns it
    #: relies on or promises (:mod:`pipeline.data`); the runner checks both at the boundary.
    reads: ClassVar[Mapping[str, pa.Schema]] = contract()
    writes: ClassVar[Mapping[str, pa.Schema]] = contract()
    #: True when a document's output rows depend only on that document's input rows, so the
    #: executor may split the input tables into shards of whole documents (by ``doc_id``), run
    #: the stage on each shard anywhere, and concatenate the results in shard order.
    per_document: ClassVar[bool] = False
    #: True when the stage's rows depend on one document pair each (rows of a pairs table):
    #: it then splits its inputs itself (:meth:`plan_shards`) and executors run the shards
    #: anywhere; the results are concatenated in shard order, as for ``per_document``.
    per_pair: ClassVar[bool] = False
    #: What this stage's output depends on in the job config: section names (``"align"``) or
    #: dotted keys (``"embed.prompt_name"``); None: the stage's own section. The cache key hashes
    #: exactly these (plus :meth:`key_parts`, e.g. a model's identity), so a config change
    #: recomputes the stages that declare it and, through their tables, those downstream.
    #: ``tests/test_cache_dependencies.py`` checks that a stage reads no config beyond these and
    #: :data:`pipeline.config.RUNTIME_KEYS`.
    depends_on: ClassVar[tuple[str, ...] | None] = None
    #: True for stages that load a model: executors keep one long-lived worker per model copy.
    loads_model: ClassVar[bool] = False

    def __init__(self, job: JobConfig) -> None:
        self.job = job

    @property
    def config(self) -> BaseModel | None:
        """The job config section of this stage (``job.<name>``), if any."""
        return getattr(self.job, self.name, None)

    def plan_shards(self, tables: Tables, size: int) -> list[Tables]:
        """Shards of the input tables, for a ``per_pair`` stage (``size``: pairs per shard)."""
        raise NotImplementedError(f"stage {self.name} is not per_pair")

    def key_parts(self) -> dict[str, Any]:
        """Extra values that change this stage's output (e.g. a model's identity)."""
        return {}

    def dependencies(self) -> tuple[str, ...]:
        """The config sections and keys this stage declares (see :attr:`depends_on`)."""
        if self.depends_on is not None:
            return self.depends_on
        return (self.name,) if self.name in JobConfig.model_fields else ()

    def config_values(self) -> dict[str, Any]:
        """The declared config values, by dotted key (sections as JSON mappings, without their
        :data:`~pipeline.config.RUNTIME_KEYS`)."""
        values = {}
        for dotted in self.dependencies():
            value: Any = self.job
            for part in dotted.split("."):
                value = getattr(value, part)
            if isinstance(value, BaseModel):
                runtime = {key.rpartition(".")[2] for key in RUNTIME_KEYS
                           if key.rpartition(".")[0] == dotted}
                value = value.model_dump(mode="json", exclude=runtime)
            values[dotted] = value
        return values

    def cache_key(self, input_fingerprints: dict[str, str]) -> str:
        """Hash of stage identity, its declared config, extra key parts and its inputs."""
        config = self.config_values()
        payload = {
            "quotetrace": __version__,  # a new release recomputes rather than trusting old results
            "stage": self.name,
            "version": self.version,
            "config": config,
            "extra": self.key_parts(),
            "inputs": {name: input_fingerprints[name] for name in self.reads},
        }
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @abstractmethod
    def run(self, tables: Tables, context: StageContext) -> Tables:
        """Return the tables named in ``writes``, computed from those named in ``reads``."""

    def finish(self, tables: Tables, context: StageContext) -> None:  # noqa: B027 — optional
        """Job-level check, called once on the whole result (every shard merged, their stats in
        ``context.stats``) before it is cached: may set ``context.stats["notice"]``, a line the
        run's log and summary show, or raise to fail the job with nothing kept."""
