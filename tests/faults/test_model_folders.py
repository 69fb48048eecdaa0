"""Hostile model folders: a folder that ships code is refused (exit 4), and its code never runs.

transformers runs a model folder's Python files when its config.json has an ``auto_map`` and
the caller trusts remote code; left at its default it asks ``[y/N]`` on stdin. Each job here is
a real ``quotetrace run`` in a subprocess whose stdin holds "y" and then ends, so a prompt would
be answered yes (running evil.py, which writes a marker file) or hit end of file, never block.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

import pipeline
from pipeline.errors import ModelUnavailableError
from pipeline.models.remote_code import RemoteCodeRefused, refuse_remote_code
from tests.conftest import job_data

REPO = Path(pipeline.__file__).resolve().parents[1]
#: A refused job stops before any model work; this only bounds a regression that blocks.
JOB_TIMEOUT_S = 240

EVIL_PY = """\
from pathlib import Path

Path({marker!r}).write_text("evil.py ran", encoding="utf-8")

from transformers import PretrainedConfig, PreTrainedModel


class EvilConfig(PretrainedConfig):
    model_type = "evil-remote-code"


class EvilModel(PreTrainedModel):
    config_class = EvilConfig
"""

AUTO_MAP = {
    "AutoConfig": "evil.EvilConfig",
    "AutoModel": "evil.EvilModel",
    "AutoModelForSeq2SeqLM": "evil.EvilModel",
}


def plant_evil(folder: Path, marker: Path, *, known_type: bool) -> Path:
    """Give ``folder`` an evil.py (writes ``marker`` when imported) and point its config.json's
    ``auto_map`` at it. ``known_type=False`` also renames the model type to one transformers
    does not know, so that, without ``trust_remote_code=False``, it would prompt."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "evil.py").write_text(EVIL_PY.format(marker=str(marker)), encoding="utf-8")
    config_path = folder / "config.json"
    config = json.loads(config_path.read_text()) if config_path.exists() else {}
    config["auto_map"] = AUTO_MAP
    if not known_type:
        config["model_type"] = "evil-remote-code"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    return folder


def run_job(tmp_path: Path, data: dict[str, Any], *args: str) -> tuple[int, str, float]:
    """``quotetrace run`` in a subprocess (stdin: "y" then end of file)."""
    config = tmp_path / "job.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1"}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "run", str(config), *args],
        input="y\n", capture_output=True, text=True, timeout=JOB_TIMEOUT_S, cwd=tmp_path,
        env=env)
    return done.returncode, done.stdout + done.stderr, time.monotonic() - started


def assert_refused(code: int, output: str, folder: Path, marker: Path) -> None:
    flat = " ".join(output.split())
    assert not marker.exists(), f"the model folder's code ran:\n{output}"
    assert code == 4, output
    assert "".join(str(folder).split()) in "".join(output.split()), output  # rich wraps lines
    assert "never runs code shipped with a model" in flat, output
    assert "Traceback" not in output
    assert "[y/N]" not in output


# --------------------------------------------------------------------------- the whole job


@pytest.mark.parametrize(("backend", "known_type"), [
    ("transformers", False),  # transformers would prompt [y/N] for this one
    ("transformers", True),  # ... and silently ignore this one's auto_map
    ("ctranslate2", False),
], ids=["transformers-custom-type", "transformers-marian-type", "ctranslate2-custom-type"])
def test_translate_model_with_remote_code_exits_4(
        tmp_path: Path, tiny_marian: Path, tiny_st_dir: Path, backend: str,
        known_type: bool) -> None:
    marker = tmp_path / "evil-ran"
    folder = tmp_path / "evil-translator"
    shutil.copytree(tiny_marian, folder)
    plant_evil(folder, marker, known_type=known_type)
    output = tmp_path / "out"
    data = job_data(output, tiny_st_dir, translate={"enabled": True, "backend": backend})
    code, text, _ = run_job(tmp_path, data, "--set", f"translate.model={folder}")
    assert_refused(code, text, folder, marker)
    assert not (output / "alignments.parquet").exists()  # the job did not go on without it


@pytest.mark.parametrize("backend", ["torch", "onnx-int8"])
def test_embed_model_with_remote_code_exits_4(tmp_path: Path, tiny_st_dir: Path,
                                              backend: str) -> None:
    marker = tmp_path / "evil-ran"
    folder = tmp_path / "evil-embedder"
    shutil.copytree(tiny_st_dir, folder)
    plant_evil(folder, marker, known_type=False)
    data = job_data(tmp_path / "out", tiny_st_dir, embed={"backend": backend})
    code, text, seconds = run_job(tmp_path, data, "--set", f"embed.model={folder}")
    assert_refused(code, text, folder, marker)
    assert seconds < JOB_TIMEOUT_S


# --------------------------------------------------------------------------- the check itself


def _write(folder: Path, name: str, data: Any) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


HOSTILE_LAYOUTS: dict[str, list[tuple[str, Any]]] = {
    "config-auto-map": [("config.json", {"model_type": "bert", "auto_map": AUTO_MAP})],
    "tokenizer-auto-map": [("config.json", {"model_type": "bert"}),
                           ("tokenizer_config.json",
                            {"auto_map": {"AutoTokenizer": ["evil.Tok", None]}})],
    "custom-pipelines": [("config.json", {"custom_pipelines": {"x": {"impl": "evil.P"}}})],
    "trust-remote-code-setting": [("config.json", {"trust_remote_code": True})],
    "st-custom-module": [("modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "evil.EvilModule"}])],
    "st-model-args": [("modules.json", [
        {"idx": 0, "name": "0", "path": "",
         "type": "sentence_transformers.sentence_transformer.modules.Transformer"}]),
        ("sentence_bert_config.json", {"model_args": {"trust_remote_code": True}})],
    "st-config": [("config_sentence_transformers.json", {"model_kwargs": {
        "trust_remote_code": True}})],
    "module-subfolder": [("0_Transformer/config.json", {"auto_map": AUTO_MAP})],
}


@pytest.mark.parametrize("layout", sorted(HOSTILE_LAYOUTS))
def test_refuse_remote_code_finds_every_way_to_ask(tmp_path: Path, layout: str) -> None:
    folder = tmp_path / "model"
    for name, data in HOSTILE_LAYOUTS[layout]:
        _write(folder, name, data)
    with pytest.raises(RemoteCodeRefused) as info:
        refuse_remote_code(folder, "test model 'm'")
    assert isinstance(info.value, ModelUnavailableError) and info.value.exit_code == 4
    message = str(info.value)
    assert str(folder) in message and "never runs code shipped with a model" in message
    assert len(message) < 600


def test_ordinary_folders_and_hub_ids_pass(tiny_marian: Path, tiny_st_dir: Path,
                                           tmp_path: Path) -> None:
    refuse_remote_code(tiny_marian, "translation model")
    refuse_remote_code(tiny_st_dir, "embedding model")
    refuse_remote_code("Helsinki-NLP/opus-mt-vi-en", "translation model")  # not a folder
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json", encoding="utf-8")
    refuse_remote_code(broken, "m")  # left to the loader, which reports a broken folder
    _write(tmp_path / "off", "config.json", {"trust_remote_code": False, "auto_map": {}})
    refuse_remote_code(tmp_path / "off", "m")


def test_loaders_refuse_before_reading_the_folder(tmp_path: Path, tiny_marian: Path,
                                                  tiny_st_dir: Path) -> None:
    """Each loader, called directly, refuses and never imports evil.py."""
    from pipeline.models.ct2_translation import load_ct2_translator
    from pipeline.models.embedding import load_sentence_transformer
    from pipeline.models.onnx_embedding import load_onnx_encoder
    from pipeline.models.translation import load_translator

    marker = tmp_path / "evil-ran"
    translator = tmp_path / "t"
    shutil.copytree(tiny_marian, translator)
    plant_evil(translator, marker, known_type=False)
    embedder = tmp_path / "e"
    shutil.copytree(tiny_st_dir, embedder)
    plant_evil(embedder, marker, known_type=False)
    calls = [
        lambda: load_translator(str(translator)),
        lambda: load_ct2_translator(str(translator), cache_dir=tmp_path / "ct2"),
        lambda: load_sentence_transformer(str(embedder)),
        lambda: load_onnx_encoder(str(embedder), tmp_path / "onnx"),
    ]
    for call in calls:
        with pytest.raises(RemoteCodeRefused):
            call()
    assert not marker.exists()
    assert not (tmp_path / "ct2").exists() and not (tmp_path / "onnx").exists()
