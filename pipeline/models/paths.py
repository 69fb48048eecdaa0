"""Where local model folders live, and how a configured model name becomes a loadable path.

A model is named in a config either by a local folder path or by a Hugging Face hub id. Hub ids
that have an offline build (see :mod:`pipeline.models.e5_offline`) resolve to that build when it
exists, so the default job runs without any hub access.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Hub ids that `quotetrace setup-models` can build locally, mapped to their folder name.
OFFLINE_BUILDS = {"intfloat/multilingual-e5-small": "multilingual-e5-small"}


def models_dir() -> Path:
    """Folder holding locally built models (``QUOTETRACE_MODELS``, default ``./models``)."""
    return Path(os.environ.get("QUOTETRACE_MODELS", "models")).expanduser()


def resolve_model(name: str) -> str:
    """Return a local folder for ``name`` when one exists, else ``name`` unchanged (a hub id)."""
    as_path = Path(name).expanduser()
    if as_path.exists():
        return str(as_path)
    local_name = OFFLINE_BUILDS.get(name)
    if local_name and (models_dir() / local_name).exists():
        return str(models_dir() / local_name)
    return name
