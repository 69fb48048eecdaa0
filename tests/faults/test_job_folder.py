"""Output folders are owned, locked, written all-or-nothing, and read back only when whole."""

from __future__ import annotations

import errno
import hashlib
import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import pipeline.runner as runner_module
from pipeline.cli import app
from pipeline.config import parse_config
from pipeline.jobfolder import LOCK, MARKER, JobFolder
from pipeline.runner import run_job
from tests.conftest import SEEDS, job_data

TABLES = ("documents", "sentences", "document_pairs", "alignments", "quotes", "clusters",
          "embeddings")


def flat(text: str) -> str:
    return "".join(text.split())


def write_config(folder: Path, data: dict) -> Path:
    path = folder / "job.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def digests(folder: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.glob("*.parquet")) if path.is_file()}


@pytest.fixture(scope="module")
def finished_job(tiny_st_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete job (the seeds, tiny model), copied by tests that change it."""
    output = tmp_path_factory.mktemp("finished") / "job"
    run_job(parse_config(job_data(output, tiny_st_dir)))
    return output


@pytest.fixture(scope="module")
def other_job(tiny_st_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same seeds under another config: tables that differ from ``finished_job``'s."""
    output = tmp_path_factory.mktemp("other") / "job"
    run_job(parse_config(job_data(output, tiny_st_dir, align={"min_margin": 1.2},
                                  segment={"min_chars": 30})))
    return output


@pytest.fixture
def job_copy(finished_job: Path, tmp_path: Path) -> Path:
    target = tmp_path / "job"
    shutil.copytree(finished_job, target)
    return target


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


READERS = [
    ["inspect", "{job}"],
    ["inspect", "{job}", "--doc", "003"],
    ["report", "{job}"],
    ["trace", "{job}", "Russia and Iran have very close positions"],
    ["export", "{job}", "--to", "{tmp}/dataset"],
]


def run_readers(runner: CliRunner, job: Path, tmp_path: Path) -> list[tuple[int, str]]:
    results = []
    for args in READERS:
        argv = [arg.format(job=job, tmp=tmp_path) for arg in args]
        result = runner.invoke(app, argv)
        results.append((result.exit_code, result.output))
    return results


# ------------------------------------------------------------------ the folder belongs to us

def test_a_foreign_folder_is_refused_and_left_intact(runner: CliRunner, tmp_path: Path,
                                                     tiny_st_dir: Path) -> None:
    """A non-empty folder without the job marker is not written, even when it looks like a
    job folder (its own documents.parquet, manifest.json and stage cache)."""
    foreign = tmp_path / "mine"
    (foreign / ".cache" / "stages" / "trace-x").mkdir(parents=True)
    files = {foreign / "documents.parquet": b"my own table",
             foreign / "manifest.json": b'{"mine": true}',
             foreign / ".cache" / "stages" / "trace-x" / "keep.txt": b"keep"}
    for path, data in files.items():
        path.write_bytes(data)
    config = write_config(tmp_path, job_data(tmp_path / "unused", tiny_st_dir))
    result = runner.invoke(app, ["run", str(config), "--output", str(foreign)])
    assert result.exit_code == 3, result.output
    assert flat("not a quotetrace job folder") in flat(result.output)
    assert "Traceback" not in result.output
    assert all(path.read_bytes() == data for path, data in files.items())
    assert sorted(p.name for p in foreign.iterdir()) == [".cache", "documents.parquet",
                                                         "manifest.json"]


@pytest.mark.parametrize("where", ["root", "file", "inputs"])
def test_root_a_file_and_the_input_folder_are_refused(runner: CliRunner, tmp_path: Path,
                                                      tiny_st_dir: Path, where: str) -> None:
    inputs = tmp_path / "texts"
    inputs.mkdir()
    for name, seed in zip(("a.txt", "b.txt"), sorted(SEEDS.glob("*.txt")), strict=False):
        shutil.copy(seed, inputs / name)
    existing_file = tmp_path / "out.txt"
    existing_file.write_text("not a folder", encoding="utf-8")
    output = {"root": Path("/"), "file": existing_file, "inputs": inputs}[where]
    data = job_data(tmp_path / "unused", tiny_st_dir, inputs=[str(inputs)])
    data["ingest"] = {}
    config = write_config(tmp_path, data)
    before = sorted(p.name for p in inputs.iterdir())
    result = runner.invoke(app, ["run", str(config), "--output", str(output)])
    assert result.exit_code == 3, result.output
    expected = {"root": "root of the file system", "file": "is an existing file",
                "inputs": "holds the job's inputs"}[where]
    assert flat(expected) in flat(result.output)
    assert sorted(p.name for p in inputs.iterdir()) == before
    assert existing_file.read_text(encoding="utf-8") == "not a folder"
    assert not (Path("/") / "documents.parquet").exists()


def test_a_job_folder_is_marked_and_reused(tmp_path: Path, tiny_st_dir: Path) -> None:
    output = tmp_path / "job"
    job = parse_config(job_data(output, tiny_st_dir))
    run_job(job)
    assert (output / MARKER).is_file()
    first = digests(output)
    result = run_job(job)  # a marked, non-empty folder is ours: rerun from the caches
    assert all(report.cached for report in result.reports[1:])
    assert digests(output) == first


def test_a_job_folder_of_a_version_without_marker_is_still_ours(job_copy: Path,
                                                               tiny_st_dir: Path) -> None:
    (job_copy / MARKER).unlink()
    run_job(parse_config(job_data(job_copy, tiny_st_dir)))
    assert (job_copy / MARKER).is_file()


def test_a_second_run_into_a_busy_folder_fails_at_once(runner: CliRunner, tmp_path: Path,
                                                       tiny_st_dir: Path) -> None:
    output = tmp_path / "job"
    config = write_config(tmp_path, job_data(output, tiny_st_dir))
    holder = JobFolder(output, "test-seeds", [str(SEEDS / "*.txt")])
    holder.claim()  # another run holds the folder's lock
    try:
        result = runner.invoke(app, ["run", str(config)])
        assert result.exit_code == 3, result.output
        assert "another quotetrace run is writing" in " ".join(result.output.split())
        assert not (output / "manifest.json").exists()
    finally:
        holder.release()
    assert runner.invoke(app, ["run", str(config)]).exit_code == 0
    assert (output / LOCK).exists() and (output / "manifest.json").exists()


def test_temporary_files_of_a_killed_run_are_removed(job_copy: Path, tiny_st_dir: Path) -> None:
    stale = [job_copy / ".alignments.parquet.abc123.tmp",
             next((job_copy / ".cache" / "stages").iterdir()) / ".quotes.parquet.x.tmp"]
    for path in stale:
        path.write_bytes(b"half written")
    run_job(parse_config(job_data(job_copy, tiny_st_dir)))
    assert not any(path.exists() for path in stale)
    assert not list(job_copy.rglob(".*.tmp"))


# ------------------------------------------------------------------ all or nothing on disk

class FailingWrites:
    """Stands in for the runner's staged table writer: the n-th write finds the disk full."""

    def __init__(self, fail_at: int) -> None:
        self.calls = 0
        self.fail_at = fail_at
        self.real = runner_module.write_parquet_staged

    def __call__(self, target: Path, *args, **kwargs) -> Path:
        self.calls += 1
        if self.calls == self.fail_at:
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        return self.real(target, *args, **kwargs)


def test_a_full_disk_while_writing_the_tables_keeps_the_previous_job(
        runner: CliRunner, job_copy: Path, tmp_path: Path, tiny_st_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    before = digests(job_copy)
    manifest = (job_copy / "manifest.json").read_bytes()
    config = write_config(tmp_path, job_data(job_copy, tiny_st_dir, align={"min_margin": 1.2}))
    monkeypatch.setattr(runner_module, "write_parquet_staged", FailingWrites(fail_at=5))
    result = runner.invoke(app, ["run", str(config)])
    assert result.exit_code == 3, result.output
    assert "no space left" in result.output.lower()
    assert "Traceback" not in result.output
    assert flat(result.output).count("nospaceleft") == 1  # one error line, not a log too
    assert result.output.count("error:") == 1
    assert digests(job_copy) == before  # not 4 new tables and 2 old ones
    assert (job_copy / "manifest.json").read_bytes() == manifest
    assert not list(job_copy.glob(".*.tmp"))
    assert all(code == 0 for code, _ in run_readers(runner, job_copy, tmp_path))
    monkeypatch.undo()
    assert runner.invoke(app, ["run", str(config)]).exit_code == 0  # space again: it resumes


def test_a_run_interrupted_between_the_final_tables_is_refused_by_every_reader(
        runner: CliRunner, job_copy: Path, tmp_path: Path, tiny_st_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    renamed = []

    class InterruptedOs:
        def __getattr__(self, name: str):
            import os

            return getattr(os, name)

        @staticmethod
        def replace(source, target) -> None:
            import os

            if len(renamed) == 3:
                raise KeyboardInterrupt  # the run dies after 3 of 7 tables were replaced
            renamed.append(target)
            os.replace(source, target)

    monkeypatch.setattr(runner_module, "os", InterruptedOs())
    with pytest.raises(KeyboardInterrupt):
        run_job(parse_config(job_data(job_copy, tiny_st_dir, align={"min_margin": 1.2},
                                      segment={"min_chars": 30})))
    monkeypatch.undo()
    assert len(renamed) == 3
    for code, output in run_readers(runner, job_copy, tmp_path):
        assert code == 3, output
        assert "did not finish" in " ".join(output.split())
    assert not (tmp_path / "dataset").exists()


def test_tables_from_two_runs_are_refused_by_every_reader(runner: CliRunner, job_copy: Path,
                                                          other_job: Path,
                                                          tmp_path: Path) -> None:
    """The state a killed rerun used to leave: new documents, sentences and alignments with
    the old quotes, clusters and manifest."""
    for name in ("documents", "sentences", "alignments"):
        shutil.copy(other_job / f"{name}.parquet", job_copy / f"{name}.parquet")
    for code, output in run_readers(runner, job_copy, tmp_path):
        assert code == 3, output
        assert "does not match" in " ".join(output.split())
        assert "Traceback" not in output


# ------------------------------------------------------------------ damaged outputs: one line

@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_table_is_one_line_for_every_reader(runner: CliRunner, job_copy: Path,
                                                     tmp_path: Path, damage: str) -> None:
    # Tables written by hand (no job marker, no checksums): the reader must still fail cleanly.
    (job_copy / MARKER).unlink()
    manifest = json.loads((job_copy / "manifest.json").read_text(encoding="utf-8"))
    del manifest["files"]
    (job_copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    for name in ("quotes", "documents"):
        path = job_copy / f"{name}.parquet"
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"\x00garbage" * 9)
    for code, output in run_readers(runner, job_copy, tmp_path):
        assert code == 3, output
        assert "cannot be read" in " ".join(output.split())
        assert "Traceback" not in output


@pytest.mark.parametrize("manifest", ["[1, 2]", '"text"', "null", '{"files": [1]}', "{oops"])
def test_a_manifest_that_is_not_an_object_is_one_line(runner: CliRunner, job_copy: Path,
                                                      tmp_path: Path, manifest: str) -> None:
    (job_copy / "manifest.json").write_text(manifest, encoding="utf-8")
    for code, output in run_readers(runner, job_copy, tmp_path):
        assert code == 3, output
        assert "manifest.json" in flat(output)
        assert "Traceback" not in output


def test_a_wrong_typed_config_value_in_the_manifest_is_one_line(
        runner: CliRunner, job_copy: Path) -> None:
    manifest = json.loads((job_copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["config"]["trace"]["min_similarity"] = "high"
    (job_copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    result = runner.invoke(app, ["trace", str(job_copy), "Putin said"])
    assert result.exit_code == 3, result.output
    assert "trace.min_similarity" in flat(result.output)


def test_export_never_writes_into_a_job_folder(runner: CliRunner, job_copy: Path) -> None:
    cache = sorted(p.name for p in (job_copy / ".cache" / "stages").iterdir())
    for target in (job_copy / ".cache", job_copy / "dataset", job_copy / ".cache" / "x"):
        result = runner.invoke(app, ["export", str(job_copy), "--to", str(target),
                                     "--overwrite"])
        assert result.exit_code == 3, result.output
        assert "job folder" in " ".join(result.output.split())
    assert sorted(p.name for p in (job_copy / ".cache" / "stages").iterdir()) == cache
    assert not (job_copy / "dataset").exists()


# ------------------------------------------------------------------ trace arguments

@pytest.mark.parametrize("args", [["Putin said", "--top", "0"], [""], ["   "]])
def test_trace_refuses_an_empty_query_or_no_results_asked(runner: CliRunner, finished_job: Path,
                                                          args: list[str]) -> None:
    result = runner.invoke(app, ["trace", str(finished_job), *args])
    assert result.exit_code == 2, result.output
    assert "nothing quotes" not in result.output and "closest" not in result.output


def test_an_unexpected_error_is_one_line_unless_debug(runner: CliRunner, finished_job: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline.inspect_outputs as views

    def broken(*args, **kwargs):
        raise RuntimeError("something inside broke")

    monkeypatch.setattr(views, "summary", broken)
    result = runner.invoke(app, ["inspect", str(finished_job)])
    assert result.exit_code == 1
    assert "internal error" in result.output and "--debug" in result.output
    assert "Traceback" not in result.output
    debug = runner.invoke(app, ["--debug", "inspect", str(finished_job)])
    assert debug.exit_code == 1 and isinstance(debug.exception, RuntimeError)


@pytest.mark.parametrize("files", [{}, None])
def test_a_job_manifest_without_checksums_is_refused(runner: CliRunner, job_copy: Path,
                                                     other_job: Path, tmp_path: Path,
                                                     files: dict | None) -> None:
    manifest = json.loads((job_copy / "manifest.json").read_text(encoding="utf-8"))
    if files is None:
        del manifest["files"]
    else:
        manifest["files"] = files
    (job_copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    shutil.copy(other_job / "sentences.parquet", job_copy / "sentences.parquet")
    for code, output in run_readers(runner, job_copy, tmp_path):
        assert code == 3, output
        assert "no table checksums" in " ".join(output.split())


def test_export_overwrite_replaces_only_an_earlier_export(runner: CliRunner, finished_job: Path,
                                                          tmp_path: Path) -> None:
    texts = tmp_path / "texts"
    texts.mkdir()
    (texts / "a.txt").write_text("my article", encoding="utf-8")
    result = runner.invoke(app, ["export", str(finished_job), "--to", str(texts),
                                 "--format", "jsonl", "--overwrite"])
    assert result.exit_code == 3, result.output
    assert (texts / "a.txt").read_text(encoding="utf-8") == "my article"
    assert sorted(p.name for p in texts.iterdir()) == ["a.txt"]


@pytest.mark.parametrize("where", ["manifest", "table", "user-file", "folder"])
def test_report_never_overwrites_what_is_not_a_report(runner: CliRunner, job_copy: Path,
                                                      tmp_path: Path, where: str) -> None:
    user_file = tmp_path / "notes.html"
    user_file.write_text("mine", encoding="utf-8")
    target = {"manifest": job_copy / "manifest.json", "table": job_copy / "quotes.parquet",
              "user-file": user_file, "folder": tmp_path}[where]
    before = target.read_bytes() if target.is_file() else None
    result = runner.invoke(app, ["report", str(job_copy), "-o", str(target)])
    assert result.exit_code == 3, result.output
    assert (target.read_bytes() if target.is_file() else None) == before
    assert runner.invoke(app, ["inspect", str(job_copy)]).exit_code == 0
    again = tmp_path / "report.html"
    assert runner.invoke(app, ["report", str(job_copy), "-o", str(again)]).exit_code == 0
    assert runner.invoke(app, ["report", str(job_copy), "-o", str(again)]).exit_code == 0


@pytest.mark.parametrize("args", [["inspect", "{job}", "--pair", "000", "001", "--min-score",
                                   "nan"],
                                  ["inspect", "{job}", "--limit", "-1"],
                                  ["export", "{job}", "--to", "{tmp}/x", "--format", "bogus"],
                                  ["export", "{job}", "--to", "{tmp}/x", "--min-score", "inf"]])
def test_nonsense_options_are_usage_errors(runner: CliRunner, finished_job: Path,
                                           tmp_path: Path, args: list[str]) -> None:
    result = runner.invoke(app, [a.format(job=finished_job, tmp=tmp_path) for a in args])
    assert result.exit_code == 2, result.output
