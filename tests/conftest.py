"""Shared fixtures: offline environment, the seed corpus, a tiny embedding model, job configs.

Nothing here reaches the network: the hub is switched off for every test and models are the tiny
random ones built by :mod:`tests.tiny_models`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Before anything imports transformers / huggingface_hub (they read these at import time).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
SEED_FILES = sorted(SEEDS.glob("*.txt"))
SEED_IDS = [path.stem for path in SEED_FILES]


@pytest.fixture(scope="session", autouse=True)
def session_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The per-user quotetrace cache (embeddings, ONNX graphs) of this test session.

    Session-scoped and autouse, so it is set before any module-scoped fixture runs a job: no
    test writes to ~/.cache."""
    folder = tmp_path_factory.mktemp("quotetrace-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("QUOTETRACE_CACHE_DIR", str(folder))
        yield folder


@pytest.fixture(autouse=True)
def offline_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory,
                session_cache_dir: Path) -> Path:
    """No hub, no dataset downloads, a private (empty) models folder for every test, and a
    per-session user cache, so no test writes to ~/.cache."""
    models = tmp_path_factory.mktemp("quotetrace-models")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("QUOTETRACE_MODELS", str(models))
    monkeypatch.setenv("QUOTETRACE_CACHE_DIR", str(session_cache_dir))
    return models


@pytest.fixture(autouse=True)
def restore_quotetrace_logger() -> Iterator[None]:
    """The CLI adds a handler and turns propagation off; undo that after each test."""
    logger = logging.getLogger("quotetrace")
    handlers, level, propagate = list(logger.handlers), logger.level, logger.propagate
    yield
    for handler in list(logger.handlers):
        if handler not in handlers:
            logger.removeHandler(handler)
    logger.setLevel(level)
    logger.propagate = propagate


@pytest.fixture(scope="session")
def tiny_st_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random sentence-transformers folder (BERT, hidden 32), built once per session."""
    from tests.tiny_models import build_tiny_sentence_transformer

    return build_tiny_sentence_transformer(tmp_path_factory.mktemp("tiny-st") / "model")


@pytest.fixture(scope="session")
def tiny_marian(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random MarianMT with a trained sentencepiece vocabulary, built once per session."""
    from tests.tiny_models import build_tiny_marian

    return build_tiny_marian(tmp_path_factory.mktemp("tiny-marian") / "model")


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    """The repository's seed corpus (five articles and metadata.csv)."""
    return SEEDS


@pytest.fixture(scope="session")
def seed_texts() -> dict[str, str]:
    """Raw text of each seed article by document id (the file stem)."""
    return {path.stem: path.read_text(encoding="utf-8") for path in SEED_FILES}


def job_data(output: Path, model: Path | str, **sections: Any) -> dict[str, Any]:
    """Config mapping for the seed job into ``output``, embedding with ``model``.

    Translation is off by default (no translation model offline; the stage would only spend
    time failing to load one); keyword arguments replace or extend top-level keys, and a dict
    value for a section is merged into that section.
    """
    data: dict[str, Any] = {
        "job": "test-seeds",
        "inputs": [str(SEEDS / "*.txt")],
        "output": str(output),
        "ingest": {"metadata": str(SEEDS / "metadata.csv")},
        "translate": {"enabled": False},
        "embed": {"model": str(model), "batch_size": 64},
    }
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


@pytest.fixture
def make_job(tiny_st_dir: Path, tmp_path: Path) -> Callable[..., Any]:
    """``make_job(output=None, **sections)`` → a validated JobConfig using the tiny model."""
    from pipeline.config import parse_config

    def make(output: Path | None = None, **sections: Any):
        return parse_config(job_data(output or tmp_path / "out", tiny_st_dir, **sections))

    return make


def run_on_texts(raw_texts: dict[str, str], stages: tuple[type, ...], **sections: Any
                 ) -> tuple[dict[str, Any], Any]:
    """Run the real ``stages`` in order on raw texts (doc id → text) without ingest or a model.

    ``sections`` are job config sections, e.g. ``quotes={"indirect": False}``. Returns the
    tables and the shared stage context (its ``stats``).
    """
    import pandas as pd

    from pipeline.base import StageContext
    from pipeline.config import parse_config

    job = parse_config({"job": "t", "inputs": ["x"], **sections})
    tables: dict[str, Any] = {"documents": pd.DataFrame({
        "doc_id": list(raw_texts), "path": list(raw_texts), "raw_text": list(raw_texts.values()),
        "date": [None] * len(raw_texts), "title": [None] * len(raw_texts),
    })}
    context = StageContext(job=job)
    for stage in stages:
        tables.update(stage(job).run({name: tables[name] for name in stage.reads}, context))
    return tables, context


def record_shard_saves(monkeypatch: pytest.MonkeyPatch, stage: str,
                       die_after: int | None = None) -> list[int]:
    """Record the shards of ``stage`` the driver saves (their indices, in the returned list);
    with ``die_after``, the driver dies (KeyboardInterrupt) instead of saving one more."""
    from pipeline.executors.shards import ShardResult, ShardStore

    saved: list[int] = []
    original_save = getattr(ShardStore.save, "__wrapped__", ShardStore.save)  # called twice

    def save(store: ShardStore, result: ShardResult) -> None:
        ours = store.folder.name.startswith(f"{stage}-")
        if ours and die_after is not None and len(saved) == die_after:
            raise KeyboardInterrupt("driver killed")
        original_save(store, result)
        if ours:
            saved.append(result.index)

    save.__wrapped__ = original_save  # type: ignore[attr-defined]
    monkeypatch.setattr(ShardStore, "save", save)
    return saved
