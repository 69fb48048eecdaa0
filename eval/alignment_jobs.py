"""Running one alignment evaluation job: its config from a shipped one, the run, its links.

Shared by ``evaluate_mixed.py`` and ``evaluate_ordered.py``; the scoring lives in
``alignment_metrics.py``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml
from alignment_metrics import sentence_units, unit_links

UnitLink = tuple[str, tuple[int, ...], str, tuple[int, ...]]


def job_config(base: Path, inputs: Path, output: Path, job: str, settings: list[str] | None,
               embed_model: str | None, **sections: dict) -> dict:
    """``base`` (a YAML job config) on ``inputs`` into ``output``, with ``sections`` merged into
    its sections, ``embed_model`` if given, then ``section.key=value`` ``settings``."""
    from pipeline.config import apply_settings

    data = yaml.safe_load(base.read_text(encoding="utf-8")) or {}
    data.update({"job": job, "inputs": [str(inputs)], "output": str(output)})
    for section, values in sections.items():
        data[section] = {**data.get(section, {}), **values}
    if embed_model:
        data["embed"] = {**data.get("embed", {}), "model": embed_model}
    return apply_settings(data, list(settings or []))


def run_timed(data: dict, source: str) -> tuple[Any, float]:
    """The job's result and its wall seconds."""
    from pipeline.config import parse_config
    from pipeline.runner import run_job

    started = time.perf_counter()
    result = run_job(parse_config(data, source))
    return result, time.perf_counter() - started


def stage_seconds(result: Any, wall: float) -> dict[str, float]:
    return {"job": round(wall, 1), **{r.name: round(r.seconds, 2) for r in result.reports}}


def job_links(result: Any, unit_of: Any = None) -> tuple[list[UnitLink], dict]:
    """The job's alignments as links between units (lines, by default), and the sentence
    coverage check of :func:`alignment_metrics.sentence_units`."""
    documents = result.tables["documents"]
    raw = dict(zip(documents["doc_id"], documents["raw_text"], strict=True))
    unit, coverage = sentence_units(result.tables["sentences"], raw,
                                    unit_of(raw) if unit_of else None)
    return unit_links(result.tables["alignments"], unit), coverage
