"""Loading sentence-transformers models offline, with a clear error when one is missing."""

from __future__ import annotations

import hashlib
import logging
import os
from typing import TYPE_CHECKING

from pipeline.errors import ModelUnavailableError
from pipeline.models.paths import OFFLINE_BUILDS, folder_fingerprint, models_dir, resolve_model
from pipeline.models.remote_code import refuse_remote_code

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)


def load_sentence_transformer(name: str, device: str = "cpu") -> SentenceTransformer:
    """Load ``name`` (local folder, offline build or hub id); never runs remote code.

    Raises `RemoteCodeRefused` (a `ModelUnavailableError`) for a local folder that asks to run
    code shipped with the model, before sentence-transformers reads it.
    """
    path = resolve_model(name)
    refuse_remote_code(path, f"embedding model {name!r}")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # "Loading weights" bars would drown our own
    try:
        return SentenceTransformer(path, device=device, trust_remote_code=False)
    except (OSError, ValueError) as error:
        if name in OFFLINE_BUILDS:
            fix = (f"build it offline with `quotetrace setup-models` (or `make models`) into "
                   f"{models_dir() / OFFLINE_BUILDS[name]}")
        else:
            fix = "set embed.model to a local sentence-transformers folder"
        if os.environ.get("HF_HUB_OFFLINE") == "1":
            fix += ", or unset HF_HUB_OFFLINE to download it from the hub"
        raise ModelUnavailableError(f"embedding model {name!r} cannot be loaded: {fix}") from error


def model_identity(name: str) -> str:
    """What identifies a model's vectors in a cache key.

    For a local folder: its name plus the names and sizes of its files (stable when the folder
    moves, changed by a rebuild with other weights); for a hub id: the id.
    """
    path = resolve_model(name)
    if not os.path.isdir(path):
        return name
    digest = hashlib.sha256(f"{name}\0{folder_fingerprint(path)}".encode())
    return f"{name}@{digest.hexdigest()[:12]}"
