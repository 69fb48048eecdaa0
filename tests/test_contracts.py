"""Stage table contracts: the runner checks what each stage reads and writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.config import parse_config
from pipeline.data import QUOTES, SENTENCES
from pipeline.errors import QuotetraceError
from pipeline.runner import STAGES, run_job
from pipeline.stages.attribute import Attribute
from pipeline.stages.translate import Translate
from tests.conftest import job_data


def test_every_stage_declares_schemas_for_its_tables() -> None:
    written: set[str] = set()
    for stage in STAGES:
        assert all(hasattr(schema, "names") for schema in stage.reads.values()), stage.name
        assert all(hasattr(schema, "names") for schema in stage.writes.values()), stage.name
        assert set(stage.reads) <= written, f"{stage.name} reads a table nobody wrote before"
        written |= set(stage.writes)


def test_a_stage_that_drops_a_column_fails_naming_stage_and_column(
        tiny_st_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_run = Attribute.run

    def drops_speaker(self: Attribute, tables: Any, context: Any) -> Any:
        out = real_run(self, tables, context)
        return {"quotes": out["quotes"].drop(columns=["speaker"])}

    monkeypatch.setattr(Attribute, "run", drops_speaker)
    with pytest.raises(QuotetraceError, match="stage attribute writes quotes: no column "
                                              "'speaker'"):
        run_job(parse_config(job_data(tmp_path / "out", tiny_st_dir)))
    assert not (tmp_path / "out" / "quotes.parquet").exists()
    assert "speaker" in QUOTES.names


def test_a_wrong_type_fails_naming_the_column(tiny_st_dir: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    real_run = Translate.run

    def text_as_numbers(self: Translate, tables: Any, context: Any) -> Any:
        sentences = real_run(self, tables, context)["sentences"].copy()
        sentences["idx"] = [{"not": "a number"}] * len(sentences)
        return {"sentences": sentences}

    monkeypatch.setattr(Translate, "run", text_as_numbers)
    with pytest.raises(QuotetraceError, match="stage translate writes sentences: column 'idx' "
                                              "is not int32"):
        run_job(parse_config(job_data(tmp_path / "out", tiny_st_dir)))
    assert SENTENCES.field("idx")
