"""The quotetrace command: exit codes and one-line messages for bad configs and inputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.stages.trace import Trace
from tests.conftest import SEEDS, job_data
from tests.language_texts import FRENCH, GERMAN


def flat(text: str) -> str:
    """Output without whitespace, so that rich's line wrapping cannot split what we look for."""
    return "".join(text.split())


def write_config(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_bad_key_exits_2_naming_the_key(runner: CliRunner, tmp_path: Path) -> None:
    config = write_config(tmp_path, {"job": "t", "inputs": [str(SEEDS)],
                                     "align": {"treshold": 1.1}})
    result = runner.invoke(app, ["run", str(config)])
    assert result.exit_code == 2, result.output
    assert "align.treshold" in flat(result.output)
    assert "min_margin" in flat(result.output)  # the valid keys are listed
    assert "Traceback" not in result.output
    assert not (tmp_path / "outputs").exists()


def test_missing_and_malformed_config(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "nope.yaml" in flat(result.output)
    bad = tmp_path / "bad.yaml"
    bad.write_text("job: t\ninputs: [seeds/\n", encoding="utf-8")
    result = runner.invoke(app, ["run", str(bad)])
    assert result.exit_code == 2
    assert "notvalidYAML" in flat(result.output)


def test_empty_input_exits_3_naming_the_file(runner: CliRunner, tmp_path: Path,
                                             tiny_st_dir: Path) -> None:
    empty = tmp_path / "in" / "empty-article.txt"
    empty.parent.mkdir()
    empty.write_text("   \n", encoding="utf-8")
    output = tmp_path / "out"
    config = write_config(tmp_path, job_data(output, tiny_st_dir))
    result = runner.invoke(app, ["run", str(config), "-i", str(SEEDS / "*.txt"),
                                 "--input", str(empty)])
    assert result.exit_code == 3, result.output
    assert flat(str(empty)) in flat(result.output)
    assert "Traceback" not in result.output
    assert not output.exists()


def test_unknown_from_stage(runner: CliRunner, tmp_path: Path, tiny_st_dir: Path) -> None:
    config = write_config(tmp_path, job_data(tmp_path / "out", tiny_st_dir))
    result = runner.invoke(app, ["run", str(config), "--from", "aling"])
    assert result.exit_code == 2  # a usage error
    assert "aling" in flat(result.output) and "align" in result.output


def test_successful_run_prints_the_summary(runner: CliRunner, tmp_path: Path,
                                           tiny_st_dir: Path) -> None:
    config = write_config(tmp_path, job_data(tmp_path / "ignored", tiny_st_dir))
    output = tmp_path / "out"
    result = runner.invoke(app, ["run", str(config), "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert "documents 5 · sentences" in result.output
    for stage in ["ingest", "clean", "segment", "detect", "translate", "embed", "align"]:
        assert stage in result.output
    assert (output / "alignments.parquet").is_file()
    assert not (tmp_path / "ignored").exists()  # --output replaced the config's output
    rerun = runner.invoke(app, ["run", str(config), "--output", str(output)])
    assert rerun.exit_code == 0
    assert rerun.output.count("cached") >= 6


def test_help(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "run" in result.output and "setup-models" in result.output


def test_missing_embedding_model_exits_4_with_the_fix(runner: CliRunner, tmp_path: Path) -> None:
    output = tmp_path / "out"
    config = write_config(tmp_path, job_data(output, "intfloat/multilingual-e5-small"))
    result = runner.invoke(app, ["run", str(config)])
    assert result.exit_code == 4, result.output
    assert "intfloat/multilingual-e5-small" in result.output
    assert "setup-models" in flat(result.output)
    assert "Traceback" not in result.output
    # Earlier stages stay cached for the next run; no final table is half-written.
    assert not (output / "alignments.parquet").exists()
    assert not (output / "manifest.json").exists()


def test_inspect_export_report_and_trace_commands(runner: CliRunner, tmp_path: Path,
                                                  tiny_st_dir: Path) -> None:
    output = tmp_path / "out"
    config = write_config(tmp_path, job_data(output, tiny_st_dir))
    assert runner.invoke(app, ["run", str(config)]).exit_code == 0

    summary = runner.invoke(app, ["inspect", str(output), "--json"])
    assert summary.exit_code == 0, summary.output
    assert '"documents"' in summary.output
    doc = runner.invoke(app, ["inspect", str(output), "--doc", "003", "--limit", "2"])
    assert doc.exit_code == 0 and "003_9bed0cba9f35e0be" in doc.output
    pair = runner.invoke(app, ["inspect", str(output), "--pair", "000", "002"])
    assert pair.exit_code == 0, pair.output
    assert runner.invoke(app, ["inspect", str(output), "--doc", "nope"]).exit_code == 3

    target = tmp_path / "dataset"
    exported = runner.invoke(app, ["export", str(output), "--to", str(target)])
    assert exported.exit_code == 0, exported.output
    assert (target / "README.md").exists() and (target / "hf" / "dataset_dict.json").exists()
    refused = runner.invoke(app, ["export", str(output), "--to", str(target)])
    assert refused.exit_code == 3 and "--overwrite" in flat(refused.output)
    bad = runner.invoke(app, ["export", str(output), "--to", str(tmp_path / "x"),
                              "--format", "xml"])
    assert bad.exit_code != 0 and "hf" in bad.output

    report = runner.invoke(app, ["report", str(output)])
    assert report.exit_code == 0 and (output / "report.html").exists()

    traced = runner.invoke(app, ["trace", str(output), "anything at all", "--json"])
    assert traced.exit_code == 0 and '"matches"' in traced.output
    missing = runner.invoke(app, ["trace", str(tmp_path / "nowhere"), "x"])
    assert missing.exit_code == 3


def test_unknown_executor_exits_2_listing_the_executors(runner: CliRunner,
                                                         tmp_path: Path) -> None:
    config = tmp_path / "job.yaml"
    config.write_text(f"job: j\ninputs: ['{SEEDS}/*.txt']\n")
    result = runner.invoke(app, ["run", str(config), "--executor", "dask"])
    assert result.exit_code == 2
    assert "executor.name" in result.output and "'local' or 'ray'" in result.output
    assert not (tmp_path / "outputs").exists()


def german_and_french(tmp_path: Path, tiny_st_dir: Path) -> tuple[Path, Path]:
    """A job config over one German and one French file, in shards of one document."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "de.txt").write_text(GERMAN, encoding="utf-8")
    (folder / "fr.txt").write_text(FRENCH, encoding="utf-8")
    output = tmp_path / "out"
    data = job_data(output, tiny_st_dir, inputs=[str(folder)], ingest={},
                    executor={"shard_documents": 1, "concurrency": 1})
    return write_config(tmp_path, data), output


def test_text_outside_detect_languages_exits_3_naming_them(runner: CliRunner, tmp_path: Path,
                                                           tiny_st_dir: Path) -> None:
    config, output = german_and_french(tmp_path, tiny_st_dir)
    for _ in range(2):  # the rerun resumes detect's shards and fails the same way
        result = runner.invoke(app, ["run", str(config)])
        assert result.exit_code == 3, result.output
        text = flat(result.output)
        assert flat("detect: 100% of the text is in fr, de, outside detect.languages "
                    "[en, vi]; set detect.languages: [fr, de] (or [] for any), or "
                    "detect.widen: true") in text
        assert "Traceback" not in result.output
        assert [p.name for p in output.glob("*.parquet")] == []
        assert not (output / "manifest.json").exists()
    assert "outside detect.languages" in (output / "run.log").read_text(encoding="utf-8")


def test_widen_runs_the_job_in_the_languages_found(runner: CliRunner, tmp_path: Path,
                                                   tiny_st_dir: Path) -> None:
    import pandas as pd

    config, output = german_and_french(tmp_path, tiny_st_dir)
    result = runner.invoke(app, ["run", str(config), "--set", "detect.widen=true"])
    assert result.exit_code == 0, result.output
    documents = pd.read_parquet(output / "documents.parquet")
    assert dict(zip(documents["doc_id"], documents["lang"], strict=True)) == {"de": "de",
                                                                            "fr": "fr"}
    assert flat("notice: detect: 2 of 2 documents (100% of the text) are in fr, de") \
        in flat(result.output)


def test_a_stage_notice_reaches_the_summary_and_the_log(runner: CliRunner, tmp_path: Path,
                                                        tiny_st_dir: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    notice = "0 clusters: nothing [quoted] twice"
    run_trace = Trace.run

    def run_with_notice(self: Trace, tables: Any, context: Any) -> Any:
        outputs = run_trace(self, tables, context)
        context.stats["notice"] = notice
        return outputs

    monkeypatch.setattr(Trace, "run", run_with_notice)
    output = tmp_path / "out"
    config = write_config(tmp_path, job_data(output, tiny_st_dir))
    for attempt in range(2):  # the rerun takes trace from the cache and still says why
        result = runner.invoke(app, ["run", str(config)])
        assert result.exit_code == 0, result.output
        assert flat(f"notice: trace: {notice}") in flat(result.output)
        log = (output / "run.log").read_text(encoding="utf-8")
        assert log.count(f"WARNING trace: {notice}") == attempt + 1
        manifest = json.loads((output / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["summary"]["notices"] == [f"trace: {notice}"]
    assert "trace" in manifest["summary"]["cached"]
