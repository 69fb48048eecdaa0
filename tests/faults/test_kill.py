"""kill -9 during a real ``quotetrace run``, once in every stage: the reruns resume and finish
with the tables of a run that was never killed."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from pipeline.config import parse_config
from pipeline.runner import STAGE_NAMES, run_job
from tests.conftest import job_data

QUOTETRACE = [sys.executable, "-m", "pipeline.cli"]


def parquet_digests(folder: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.glob("*.parquet"))}


def start(config: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    with open(log, "ab") as handle:
        return subprocess.Popen([*QUOTETRACE, "run", str(config)], stdin=subprocess.DEVNULL,
                                stdout=handle, stderr=subprocess.STDOUT, env=env)


def kill_when_done(process: subprocess.Popen, stage_cache: Path, stage: str,
                   timeout: float = 240) -> bool:
    """SIGKILL ``process`` as soon as ``stage`` has kept its result; False if it ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(stage_cache.glob(f"{stage}-*/done")):
            process.send_signal(signal.SIGKILL)
            process.wait()
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.005)
    process.kill()
    raise AssertionError(f"stage {stage} did not finish within {timeout} s")


def test_kill_9_in_every_stage_resumes_to_the_same_tables(tmp_path: Path,
                                                          tiny_st_dir: Path) -> None:
    reference = tmp_path / "reference"
    run_job(parse_config(job_data(reference, tiny_st_dir)))

    output = tmp_path / "killed"
    config = tmp_path / "job.yaml"
    config.write_text(yaml.safe_dump(job_data(output, tiny_st_dir)), encoding="utf-8")
    log = tmp_path / "runs.log"
    killed_in = []
    for stage in STAGE_NAMES:
        process = start(config, log)
        if kill_when_done(process, output / ".cache" / "stages", stage):
            killed_in.append(stage)
            assert process.returncode == -signal.SIGKILL
    assert len(killed_in) >= len(STAGE_NAMES) - 1, (killed_in, log.read_text())
    final = start(config, log)
    assert final.wait(timeout=600) == 0, log.read_text()
    assert parquet_digests(output) == parquet_digests(reference)
    assert not list(output.rglob(".*.tmp"))
