"""Import the evaluation scripts in eval/ (a folder of scripts, not a package) by file path."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

EVAL = Path(__file__).resolve().parents[1] / "eval"


def load_eval_script(name: str) -> ModuleType:
    """The module ``eval/<name>.py``, executed once per call."""
    spec = importlib.util.spec_from_file_location(name, EVAL / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
