"""Refusing model folders that ship code: quotetrace never runs code that comes with a model.

transformers and sentence-transformers run Python files from a model folder when its config
asks for them (``auto_map``, ``custom_pipelines``, a sentence-transformers module outside the
``sentence_transformers`` package) and the caller trusts remote code; with the default
``trust_remote_code=None``, transformers even asks ``[y/N]`` on stdin. Every loader in
:mod:`pipeline.models` passes ``trust_remote_code=False``, and before loading a local folder it
calls :func:`refuse_remote_code`, so such a folder fails at once with a clear message
(`RemoteCodeRefused`, exit 4) instead of a prompt, a hang or a library error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline.errors import ModelUnavailableError

#: Config files of transformers / sentence-transformers folders that can point at custom code.
CONFIG_FILES = frozenset({
    "config.json", "tokenizer_config.json", "generation_config.json", "modules.json",
    "config_sentence_transformers.json", "sentence_bert_config.json",
    "preprocessor_config.json", "processor_config.json", "feature_extractor_config.json",
    "image_processor_config.json", "video_preprocessor_config.json", "adapter_config.json",
})
#: Keys that make transformers import Python files from the folder (or from the hub).
CODE_KEYS = ("auto_map", "custom_pipelines")
#: A config file larger than this is not a config file: refuse rather than parse it.
MAX_CONFIG_BYTES = 16 << 20
#: How deep below the folder config files are looked for (sentence-transformers modules sit
#: one level down, e.g. ``1_Pooling/config.json``; some have ``0_Transformer/...``).
MAX_DEPTH = 2


class RemoteCodeRefused(ModelUnavailableError):
    """A model folder asks to run code shipped with it; quotetrace refuses to (exit 4).

    Unlike other `ModelUnavailableError`s, stages that can go on without their model (translate)
    must not turn this one into a warning: the configured folder is hostile or unusable."""


def refuse_remote_code(path: str | Path, what: str) -> None:
    """Raise `RemoteCodeRefused` when the local folder ``path`` asks for code of its own.

    ``what`` names the model in the message ("translation model 'x'"). A ``path`` that is not
    a folder (a hub id) is left to the loaders, which are all called with
    ``trust_remote_code=False``.
    """
    root = Path(path)
    if not root.is_dir():
        return
    for file in _config_files(root):
        reason = _file_reason(file)
        if reason:
            raise RemoteCodeRefused(
                f"{what}: the folder {root} asks to run code shipped with the model ({reason} "
                f"in {file.relative_to(root).as_posix()}); quotetrace never runs code shipped "
                "with a model: use a model that the installed transformers and "
                "sentence-transformers support without custom code"
            )


def _config_files(root: Path) -> list[Path]:
    found = []
    folders = [root]
    for _ in range(MAX_DEPTH):
        subfolders = []
        for folder in folders:
            try:
                entries = sorted(folder.iterdir())
            except OSError:
                continue
            for entry in entries:
                if entry.name in CONFIG_FILES and entry.is_file():
                    found.append(entry)
                elif entry.is_dir() and not entry.name.startswith("."):
                    subfolders.append(entry)
        folders = subfolders
    return found


def _file_reason(file: Path) -> str | None:
    """Why ``file`` asks for custom code, or None when it does not."""
    try:
        size = file.stat().st_size
    except OSError:
        return None
    if size > MAX_CONFIG_BYTES:
        return f"a {size:,}-byte config file, too large to check"
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None  # not ours to judge: the loader reports a broken file
    if file.name == "modules.json" and isinstance(data, list):
        for module in data:
            kind = module.get("type") if isinstance(module, dict) else None
            if isinstance(kind, str) and not kind.startswith("sentence_transformers."):
                return f"module type {_short(kind)!r}, outside sentence_transformers,"
    return _json_reason(data)


def _json_reason(data: Any, depth: int = 0) -> str | None:
    """An ``auto_map`` / ``custom_pipelines`` key or a true ``trust_remote_code`` anywhere in
    ``data`` (sentence-transformers nests it in ``model_args``, ``tokenizer_args``, ...)."""
    if depth > 32:
        return "config nested too deeply to check"
    if isinstance(data, dict):
        for key in CODE_KEYS:
            if data.get(key):
                return f"{key} {_short(json.dumps(data[key]))}"
        if data.get("trust_remote_code"):
            return "trust_remote_code set"
        children = data.values()
    elif isinstance(data, list):
        children = data
    else:
        return None
    for child in children:
        reason = _json_reason(child, depth + 1)
        if reason:
            return reason
    return None


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
