"""With no Ray address configured, the Ray executor starts a private local instance instead of
joining whatever cluster an address file left in the temp folder names (it may have stopped)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.config import parse_config
from tests.conftest import job_data

ray = pytest.importorskip("ray", reason="the ray executor needs ray[data] (requirements.txt)")


class Connected(Exception):
    """Stops the executor right after ray.init, with the arguments it was given."""


def init_arguments(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_st_dir: Path,
                   **executor: Any) -> dict[str, Any]:
    from pipeline.executors.ray_data import RayExecutor

    seen: dict[str, Any] = {}

    def fake_init(**kwargs: Any) -> None:
        seen.update(kwargs)
        raise Connected

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", fake_init)
    job = parse_config(job_data(tmp_path / "out", tiny_st_dir,
                                executor={"name": "ray", **executor}))
    with pytest.raises(Connected):
        RayExecutor(job)
    return seen


def test_no_address_starts_a_private_instance(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                              tiny_st_dir: Path) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    seen = init_arguments(monkeypatch, tmp_path, tiny_st_dir)
    assert seen["address"] == "local" and seen["num_cpus"] >= 1


def test_a_configured_address_is_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                      tiny_st_dir: Path) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    seen = init_arguments(monkeypatch, tmp_path, tiny_st_dir, ray_address="ray://head:10001")
    assert seen["address"] == "ray://head:10001" and "num_cpus" not in seen
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.1:6379")
    seen = init_arguments(monkeypatch, tmp_path, tiny_st_dir)
    assert seen["address"] is None and "num_cpus" not in seen  # ray reads RAY_ADDRESS itself
