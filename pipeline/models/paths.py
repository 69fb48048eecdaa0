"""Where local model folders live, and how a configured model name becomes a loadable path.

A model is named in a config either by a local folder path or by a Hugging Face hub id. Hub ids
that have an offline build (see :mod:`pipeline.models.e5_offline`) resolve to that build when it
exists, so the default job runs without any hub access.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

#: Hub ids that `quotetrace setup-models` can build locally, mapped to their folder name.
OFFLINE_BUILDS = {"intfloat/multilingual-e5-small": "multilingual-e5-small"}


def models_dir() -> Path:
    """Folder holding locally built models (``QUOTETRACE_MODELS``, default ``./models``)."""
    return Path(os.environ.get("QUOTETRACE_MODELS", "models")).expanduser()


def cache_home() -> Path:
    """The per-user quotetrace cache, shared by every job of this user.

    ``$QUOTETRACE_CACHE_DIR`` when set, else ``$XDG_CACHE_HOME/quotetrace``, else
    ``~/.cache/quotetrace``.
    """
    if os.environ.get("QUOTETRACE_CACHE_DIR"):
        return Path(os.environ["QUOTETRACE_CACHE_DIR"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "quotetrace"


def embedding_cache_root(cache_dir: str | Path | None = None) -> Path:
    """Where embedding vectors (and exported ONNX graphs) are cached: ``embed.cache_dir`` when
    set, else ``<cache_home()>/embeddings``. Every stage and command that embeds resolves its
    cache through this function, so they all share one cache."""
    return Path(cache_dir).expanduser() if cache_dir else cache_home() / "embeddings"


def resolve_model(name: str) -> str:
    """Return a local folder for ``name`` when one exists, else ``name`` unchanged (a hub id)."""
    as_path = Path(name).expanduser()
    if as_path.exists():
        return str(as_path)
    local_name = OFFLINE_BUILDS.get(name)
    if local_name and (models_dir() / local_name).exists():
        return str(models_dir() / local_name)
    return name


def folder_fingerprint(path: str | Path) -> str:
    """Hash of a model folder's file names and sizes: stable when the folder moves, changed by
    a rebuild with other weights, and cheap (no file is read)."""
    root = Path(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(f"{file.relative_to(root).as_posix()}\0{file.stat().st_size}\n".encode())
    return digest.hexdigest()
