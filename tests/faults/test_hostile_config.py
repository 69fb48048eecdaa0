"""Hostile job configs: alias bombs, huge files, values that are not mappings or not finite.

Each fails with exit 2 and one short message that names the file (or key) at fault, quickly and
without quoting the hostile value in full.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
import types
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel
from typer.testing import CliRunner

import pipeline
from pipeline.cli import app
from pipeline.config import MAX_CONFIG_BYTES, JobConfig, load_config
from pipeline.errors import ConfigError
from tests.conftest import SEEDS

REPO = Path(pipeline.__file__).resolve().parents[1]
MINIMAL = f"job: t\ninputs: ['{SEEDS}/*.txt']\n"
#: Longest acceptable one-line error for a hostile config.
SHORT = 500


def billion_laughs(levels: int = 9, top: str = "list") -> str:
    """The classic alias bomb: each level repeats the one before nine times (9**levels lols)."""
    lines = ['- &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    names = "abcdefghijklmnopqrstuvwxyz"
    for level in range(1, levels):
        refs = ",".join([f"*{names[level - 1]}"] * 9)
        lines.append(f"- &{names[level]} [{refs}]")
    text = "\n".join(lines) + "\n"
    if top == "mapping":  # the same bomb as the value of a real key
        text = MINIMAL + "align:\n  pairs:\n" + "".join(f"    {line}\n" for line in lines)
    return text


def write(tmp_path: Path, text: str, name: str = "job.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def config_error(path: Path, **kwargs: Any) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path, **kwargs)
    assert info.value.exit_code == 2
    return str(info.value)


def _limit_memory() -> None:  # pragma: no cover - runs in the child
    """2 GiB of address space: a regression fails with MemoryError instead of eating the host."""
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def run_cli(tmp_path: Path, *args: str, timeout: float = 20) -> tuple[int, str, float]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=tmp_path, env=env,
                          stdin=subprocess.DEVNULL, preexec_fn=_limit_memory)
    return done.returncode, done.stdout + done.stderr, time.monotonic() - started


# --------------------------------------------------------------------------- alias bombs


@pytest.mark.parametrize("top", ["list", "mapping"])
def test_alias_bomb_exits_2_quickly_with_a_short_message(tmp_path: Path, top: str) -> None:
    bomb = write(tmp_path, billion_laughs(top=top), "bomb.yaml")
    code, output, seconds = run_cli(tmp_path, "run", str(bomb))
    assert code == 2, output
    assert seconds < 20
    assert len(output) < SHORT, output
    flat = "".join(output.split())
    assert "bomb.yaml" in flat and "aliases" in output and "line" in output
    assert "lol" not in output
    assert "Traceback" not in output
    assert not (tmp_path / "outputs").exists()


def test_alias_bomb_names_the_line(tmp_path: Path) -> None:
    message = config_error(write(tmp_path, billion_laughs()))
    assert "job.yaml" in message and "line 2" in message
    assert "\n" not in message and len(message) < SHORT


def test_set_values_refuse_aliases_too(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    message = config_error(path, settings=["align.pairs=[&a [x, x], [*a, *a]]"])
    assert "--set" in message and "aliases" in message and len(message) < SHORT


def test_anchors_without_aliases_are_harmless(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, MINIMAL + "output: &o out/x\n")).output == "out/x"


# --------------------------------------------------------------------------- size and shape


def test_oversized_config_names_file_and_size(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "# " + "x" * MAX_CONFIG_BYTES + "\n")
    message = config_error(path)
    size = path.stat().st_size
    assert str(path) in message and f"{size:,}" in message and "too large" in message
    assert len(message) < SHORT


@pytest.mark.parametrize("text", [
    "- job\n- t\n",
    "- " + "x" * 200_000 + "\n",
    "[" + ", ".join(["lol"] * 50_000) + "]\n",
    "just a string\n",
    "'" + "y" * 200_000 + "'\n",
    "",
    "null\n",
    "~\n",
    "42\n",
    ".nan\n",
], ids=["list", "long-item", "long-list", "scalar", "long-scalar", "empty", "null", "tilde",
        "number", "nan"])
def test_non_mapping_is_one_short_line(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    message = config_error(path)
    assert str(path) in message and "must be a YAML mapping" in message
    assert "\n" not in message
    assert len(message) < len(str(path)) + 200, message


def test_non_mapping_through_the_cli(tmp_path: Path) -> None:
    path = write(tmp_path, "- " + "z" * 100_000 + "\n")
    result = CliRunner().invoke(app, ["run", str(path)])
    assert result.exit_code == 2
    assert "mapping" in result.output and len(result.output) < SHORT


@pytest.mark.parametrize(("text", "words"), [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    (MINIMAL + "align:\n  k: " + "9" * 10_000 + "\n", "digits"),
    ("job: 2024-13-45\n", "month"),
    ("job: t\n\x00\n", "character 8: unacceptable character #x0000"),
], ids=["deep-nesting", "huge-int", "bad-date", "nul-byte"])
def test_yaml_the_parser_rejects_is_a_config_error(tmp_path: Path, text: str,
                                                   words: str) -> None:
    message = config_error(write(tmp_path, text))
    assert "not valid YAML" in message and words in message
    assert "\n" not in message and len(message) < SHORT


def test_many_bad_keys_are_listed_up_to_a_limit(tmp_path: Path) -> None:
    keys = "".join(f"  bad{i}: 1\n" for i in range(1000))
    message = config_error(write(tmp_path, MINIMAL + "align:\n" + keys))
    assert "align.bad0" in message and "and 980 more" in message
    assert len(message.splitlines()) <= 22


def test_huge_key_and_set_are_cut_short(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "k" * 100_000 + ": 1\n")
    assert len(config_error(path)) < 2 * SHORT
    path = write(tmp_path, MINIMAL)
    assert len(config_error(path, settings=["x" * 100_000])) < SHORT
    assert len(config_error(path, settings=["align.k=" + "[" * 100_000])) < SHORT
    assert len(config_error(path, settings=["align.k=" + "q" * 100_000])) < 2 * SHORT


# --------------------------------------------------------------------------- non-finite numbers


def _float_fields() -> list[str]:
    """Every key of the job config whose value is (or may be) a float, as "section.key"."""
    found = []
    for section, field in JobConfig.model_fields.items():
        model = field.annotation
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        for name, sub in model.model_fields.items():
            annotation = sub.annotation
            args = typing.get_args(annotation) if isinstance(
                annotation, types.UnionType) else (annotation,)
            if float in args:
                found.append(f"{section}.{name}")
    return found


FLOAT_FIELDS = _float_fields()


def test_float_fields_are_found() -> None:
    assert {"align.min_margin", "align.one_sided_margin", "attribute.fuzzy_threshold",
            "trace.min_similarity"} <= set(FLOAT_FIELDS)


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", "nan", "1e999"])
@pytest.mark.parametrize("key", FLOAT_FIELDS)
def test_non_finite_numbers_are_rejected(tmp_path: Path, key: str, value: str) -> None:
    message = config_error(write(tmp_path, MINIMAL), settings=[f"{key}={value}"])
    assert f"'{key}'" in message and "finite" in message


def test_non_finite_in_the_file_and_through_the_cli(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "trace:\n  min_similarity: .NaN\n")
    assert "'trace.min_similarity'" in config_error(path)
    result = CliRunner().invoke(app, ["run", str(write(tmp_path, MINIMAL, "ok.yaml")),
                                      "--set", "align.min_margin=.nan"])
    assert result.exit_code == 2, result.output
    assert "align.min_margin" in result.output
    assert not (tmp_path / "outputs").exists()


# --------------------------------------------------------------------------- --output vs --set


def test_set_output_conflicting_with_output_option_exits_2(tmp_path: Path) -> None:
    config = write(tmp_path, MINIMAL + f"output: {tmp_path / 'from-config'}\n")
    wanted, other = tmp_path / "wanted", tmp_path / "other"
    result = CliRunner().invoke(app, ["run", str(config), "--output", str(wanted),
                                      "--set", f"output={other}"])
    assert result.exit_code == 2, result.output
    flat = "".join(result.output.split())
    assert "--output" in flat and "--set" in flat
    assert str(wanted) in flat and str(other) in flat
    for folder in (wanted, other, tmp_path / "from-config"):
        assert not folder.exists()


def test_output_option_wins_and_agreeing_set_is_fine(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "output: out/config\n")
    assert load_config(path, {"output": "out/cli"}).output == "out/cli"
    assert load_config(path, {"output": "out/cli"}, settings=["output=out/cli/"]).output == (
        "out/cli")
    assert load_config(path, {"output": None}, settings=["output=out/set"]).output == "out/set"
    message = config_error(path, overrides={"inputs": ["a.txt"]}, settings=["inputs=[b.txt]"])
    assert "--input" in message and "--set" in message


def test_bad_yaml_file_is_still_reported(tmp_path: Path) -> None:
    """The safe loader keeps ordinary YAML errors as they were: file, line and problem."""
    message = config_error(write(tmp_path, "job: t\ninputs: [seeds/\n"))
    assert "job.yaml" in message and "not valid YAML" in message and "line" in message
    assert yaml.safe_load(MINIMAL) == {"job": "t", "inputs": [f"{SEEDS}/*.txt"]}
