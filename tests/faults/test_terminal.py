"""Article text with terminal escape sequences never reaches the terminal; tables keep it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.terminal import terminal_safe
from tests.conftest import job_data

CLEAR_SCREEN = "\x1b[2J\x1b[H"
TITLE = "\x1b]0;pwned\x07"
RED = "\x1b[31m"
C1_CSI = "\x9b31m"
BIDI = "\u202e"
HOSTILE = (f"{CLEAR_SCREEN}President Putin said{TITLE} on Friday that Russia and Iran "
           f"{RED}\"have very close positions\"{C1_CSI} on world events.{BIDI} The talks in "
           "Ashgabat lasted two hours, officials said.\n"
           "Pezeshkian said Iran valued its strategic partnership with Russia.\n")
DANGEROUS = ("\x1b", "\x9b", "\x07", BIDI)


@pytest.fixture(scope="module")
def hostile_job(tiny_st_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    inputs = folder / "texts"
    inputs.mkdir()
    (inputs / "evil.txt").write_text(HOSTILE, encoding="utf-8")
    (inputs / "plain.txt").write_text(terminal_safe(HOSTILE), encoding="utf-8")
    output = folder / "job"
    data = job_data(output, tiny_st_dir, inputs=[str(inputs)], ingest={})
    config = folder / "job.yaml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(app, ["run", str(config)])
    assert result.exit_code == 0, result.output
    return output


def test_the_text_itself_is_kept(hostile_job: Path) -> None:
    documents = pd.read_parquet(hostile_job / "documents.parquet")
    evil = documents[documents["doc_id"].str.startswith("evil")].iloc[0]
    assert "have very close positions" in evil["text_clean"]
    shown = CliRunner().invoke(app, ["inspect", str(hostile_job), "--doc", "evil"]).output
    assert "closepositions" in "".join(shown.split())


@pytest.mark.parametrize("args", [
    ["inspect", "{job}", "--doc", "evil"],
    ["inspect", "{job}", "--pair", "evil", "plain"],
    ["inspect", "{job}"],
    ["trace", "{job}", f"{CLEAR_SCREEN}Russia and Iran have very close positions"],
])
def test_commands_print_no_escape_sequences(hostile_job: Path, args: list[str]) -> None:
    result = CliRunner().invoke(app, [arg.format(job=hostile_job) for arg in args])
    assert result.exit_code == 0, result.output
    assert not any(char in result.output for char in DANGEROUS), repr(result.output)


def test_json_output_escapes_them_and_keeps_the_value(hostile_job: Path) -> None:
    result = CliRunner().invoke(app, ["inspect", str(hostile_job), "--doc", "evil", "--json"])
    assert result.exit_code == 0, result.output
    assert not any(char in result.output for char in DANGEROUS)
    assert "President Putin" in json.dumps(json.loads(result.output), ensure_ascii=False)


def test_terminal_safe_keeps_ordinary_text() -> None:
    text = "Tổng thống Putin nói: «Nga và Iran» — 100%\tok\nnext line"
    assert terminal_safe(text) == text
    assert terminal_safe("a\r\nb\rc") == "a\nb\nc"
    assert terminal_safe(f"x{CLEAR_SCREEN}{TITLE}{RED}y{C1_CSI}z\x00\x7f") == "xyz"
