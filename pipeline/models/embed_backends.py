"""The built-in ``embed.backend`` factories (registered in :mod:`pipeline.registry`).

A backend tells the :class:`pipeline.models.embedder.Embedder` two cheap things when it is
built (once per shard) and one expensive thing only when a text is not cached:

- ``identity``: what the vectors depend on; it keys the embedding cache, so two backends whose
  vectors differ (torch and int8 ONNX of one model) never share cached vectors;
- ``cache_vectors``: False where computing a vector is cheaper than caching it (hashing);
- ``load()``: the encoder, with ``SentenceTransformer.encode``'s signature and ``prompts``. The
  Embedder keeps loaded encoders per process keyed by the backend object, so a backend that
  compares by value (a frozen dataclass) loads its model once per process, not once per shard.

A new backend is a factory ``(config: EmbedConfig, cache_root: Path) -> backend`` with these
three members, plus one ``EMBED_BACKENDS.register`` line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from pipeline.models.embedding import model_identity
from pipeline.models.hashing_embedding import identity as hashing_identity

if TYPE_CHECKING:
    from pipeline.config import EmbedConfig


class EmbedBackend(Protocol):
    """What the Embedder needs from an embed backend."""

    identity: str
    cache_vectors: bool

    def load(self) -> Any:
        """The encoder (``encode(texts, prompt_name=..., batch_size=..., ...)``)."""
        ...


@dataclass(frozen=True)
class TorchBackend:
    """sentence-transformers on torch: the reference vectors."""

    model: str
    identity: str
    cache_vectors: ClassVar[bool] = True

    def load(self) -> Any:
        from pipeline.models.embedding import load_sentence_transformer

        return load_sentence_transformer(self.model)


@dataclass(frozen=True)
class OnnxBackend:
    """ONNX Runtime with dynamic int8 weights (or fp32 ones); the graph is exported once into
    ``onnx_dir``."""

    model: str
    identity: str
    onnx_dir: Path
    precision: str = "int8"
    cache_vectors: ClassVar[bool] = True

    def load(self) -> Any:
        from pipeline.models.onnx_embedding import load_onnx_encoder

        return load_onnx_encoder(self.model, self.onnx_dir, precision=self.precision)


@dataclass(frozen=True)
class HashingBackend:
    """Model-free feature hashing: vectors depend on the text and ``dim`` only."""

    dim: int
    identity: str
    #: Writing ``dim`` floats per text costs more than hashing it again (embedder docstring).
    cache_vectors: ClassVar[bool] = False

    def load(self) -> Any:
        from pipeline.models.hashing_embedding import HashingEncoder

        return HashingEncoder(self.dim)


def torch_backend(config: EmbedConfig, cache_root: Path) -> TorchBackend:
    return TorchBackend(config.model, model_identity(config.model))


def onnx_int8_backend(config: EmbedConfig, cache_root: Path) -> OnnxBackend:
    # int8 vectors differ slightly from torch's: never mix them in one cache folder.
    return OnnxBackend(config.model, f"{model_identity(config.model)}|onnx-int8",
                           cache_root / "onnx")


def hashing_backend(config: EmbedConfig, cache_root: Path) -> HashingBackend:
    # No model: the vectors depend on nothing but the text and the size.
    return HashingBackend(config.hashing_dim, hashing_identity(config.hashing_dim))


def onnx_fp32_backend(config: EmbedConfig, cache_root: Path) -> OnnxBackend:
    # fp32 vectors match torch's to float rounding, but keep their own cache folder anyway.
    return OnnxBackend(config.model, f"{model_identity(config.model)}|onnx-fp32",
                           cache_root / "onnx", precision="fp32")
