"""Cache keys rest on declared inputs, not on implicit contracts.

1. Every config key, changed in turn, recomputes exactly the stages that declare it
   (:attr:`pipeline.base.Stage.depends_on`) and those downstream of them through their tables;
   a runtime key (:data:`pipeline.config.RUNTIME_KEYS`) recomputes nothing.
2. Running every stage on the seeds with a job config that records what is read shows that no
   stage reads a config key it does not declare (a key read but undeclared would let a stale
   cache survive a config change).
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
from pydantic import BaseModel

from pipeline.base import StageContext
from pipeline.config import RUNTIME_KEYS, JobConfig, parse_config
from pipeline.registry import Registry
from pipeline.runner import STAGES, build_stages
from tests.conftest import job_data

#: Keys that change what a command other than ``run`` writes (no stage reads them).
NOT_STAGE_KEYS = ("license",)

#: Replacement values where "a different valid value" is not obvious from the type.
SPECIAL = {
    "job": "another-job",
    "inputs": ["elsewhere/*.txt"],
    "detect.languages": ["en"],
    "translate.source_languages": ["vi", "zh"],
    "translate.target_language": "fr",
    "ingest.extensions": [".txt"],
    "attribute.aliases": {"Vladimir Putin": ["Putin the president"]},
    "attribute.speaker_languages": {"Vladimir Putin": "ru"},
    "embed.prompt_name": "passage",
}


def leaf_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys += leaf_keys(annotation, f"{prefix}{name}.")
        else:
            keys.append(f"{prefix}{name}")
    return keys


def field_of(dotted: str) -> Any:
    model: Any = JobConfig
    *sections, leaf = dotted.split(".")
    for section in sections:
        model = model.model_fields[section].annotation
    return model.model_fields[leaf]


def candidates(dotted: str, value: Any) -> list[Any]:
    """Different values to try for ``dotted`` (currently ``value``), most likely valid first."""
    if dotted in SPECIAL:
        return [SPECIAL[dotted]]
    registries = [item for item in field_of(dotted).metadata if isinstance(item, Registry)]
    if registries:  # a backend name: another registered backend
        return [name for name in registries[0].names() if name != value]
    annotation = field_of(dotted).annotation
    options = [arg for arg in get_args(annotation) if arg is not type(None)]
    literals = [option for option in options if get_origin(option) is typing.Literal]
    if get_origin(annotation) is typing.Literal or literals:
        choices = get_args(annotation) if not literals else get_args(literals[0])
        return [choice for choice in choices if choice != value]
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 1, value - 1]
    if isinstance(value, float):
        return [round(value + 0.01, 6), round(value - 0.01, 6)]
    if isinstance(value, str):
        return [value + "-x"]
    if isinstance(value, list):
        return [value[:-1] if value else ["^never$"], [*value, "^never$"]]
    if value is None:
        return [3, 1.1, "something", "auto", ["x"]]
    raise AssertionError(f"no replacement value for {dotted}={value!r}")


def changed(data: dict[str, Any], dotted: str) -> JobConfig:
    base = parse_config(data)
    current: Any = base
    for part in dotted.split("."):
        current = getattr(current, part)
    for value in candidates(dotted, current):
        new = {section: dict(v) if isinstance(v, dict) else v for section, v in data.items()}
        *sections, leaf = dotted.split(".")
        node = new
        for section in sections:
            node = node.setdefault(section, {})
        node[leaf] = value
        try:
            job = parse_config(new)
        except Exception:  # not valid: try the next candidate
            continue
        if job != base:
            return job
    raise AssertionError(f"found no valid different value for {dotted}")


def stage_keys(job: JobConfig) -> dict[str, str]:
    """Each stage's cache key as the runner chains them (ingest's documents fixed)."""
    fingerprints: dict[str, str] = {}
    keys = {}
    for stage in build_stages(job):
        key = stage.cache_key(fingerprints if stage.name != "ingest" else {})
        keys[stage.name] = key
        fingerprints.update({name: key for name in stage.writes})
    return keys


def covers(declared: str, dotted: str) -> bool:
    return dotted == declared or dotted.startswith(declared + ".")


def declarers(job: JobConfig, dotted: str) -> set[str]:
    names = {stage.name for stage in build_stages(job)
             if any(covers(d, dotted) for d in stage.dependencies())}
    if dotted == "inputs":
        names.add("ingest")  # the input list is in ingest's key_parts
    return names


def downstream(names: set[str]) -> set[str]:
    """``names`` and every stage that reads a table one of them (transitively) wrote."""
    tainted_tables: set[str] = set()
    result = set()
    for cls in STAGES:
        if cls.name in names or tainted_tables & set(cls.reads):
            result.add(cls.name)
            tainted_tables |= set(cls.writes)
    return result


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return job_data(tmp_path_factory.mktemp("deps") / "out", "tiny/model")


KEYS = leaf_keys(JobConfig)


@pytest.mark.parametrize("dotted", KEYS)
def test_a_config_key_recomputes_exactly_its_stages(data: dict[str, Any], dotted: str) -> None:
    base_job = parse_config(data)
    before = stage_keys(base_job)
    after = stage_keys(changed(data, dotted))
    recomputed = {name for name in before if before[name] != after[name]}
    if any(covers(key, dotted) for key in (*RUNTIME_KEYS, *NOT_STAGE_KEYS)):
        assert recomputed == set(), f"{dotted} is a runtime key but recomputes {recomputed}"
    else:
        expected = downstream(declarers(base_job, dotted))
        assert expected, f"{dotted}: no stage declares it (add it to a stage's depends_on, " \
                         "or to RUNTIME_KEYS if it never changes an output)"
        assert recomputed == expected


# ---------------------------------------------------------------- what stages actually read

class Recording:
    """A read-only view of a config (section) that records the dotted keys read through it."""

    def __init__(self, target: BaseModel, path: str, log: set[str]) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_log", log)

    def __getattr__(self, name: str) -> Any:
        target, path, log = self._target, self._path, self._log
        value = getattr(target, name)
        dotted = f"{path}.{name}" if path else name
        if isinstance(value, BaseModel):
            return Recording(value, dotted, log)
        if name in type(target).model_fields:
            log.add(dotted)
        elif callable(value) and name.startswith("model_"):
            log.add(path or "<whole config>")  # model_dump and friends read everything
        return value


def test_no_stage_reads_config_it_does_not_declare(tiny_st_dir: Path, tmp_path: Path) -> None:
    job = parse_config(job_data(tmp_path / "out", tiny_st_dir))
    tables: dict[str, Any] = {}
    undeclared = {}
    for stage in build_stages(job):
        log: set[str] = set()
        stage.job = Recording(job, "", log)  # type: ignore[assignment]
        context = StageContext(job=job)
        outputs = stage.run({name: tables[name] for name in stage.reads}, context)
        stage.finish(outputs, context)
        tables.update(outputs)
        allowed = (*stage.dependencies(), *RUNTIME_KEYS, *(("inputs",) if stage.name ==
                                                          "ingest" else ()))
        extra = sorted(key for key in log if not any(covers(a, key) for a in allowed))
        if extra:
            undeclared[stage.name] = extra
    assert undeclared == {}, f"stages read config keys they do not declare: {undeclared}"
    assert len(tables["alignments"]) > 0 and len(tables["clusters"]) > 0
