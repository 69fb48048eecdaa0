"""An ONNX Runtime encoder for local sentence-transformers folders (BERT-like, mean pooling).

:class:`OnnxEncoder` stands in for ``SentenceTransformer`` where the Embedder calls ``encode``:
the folder's transformer is exported once with ``torch.onnx.export`` (dynamic batch and sequence
axes, output ``last_hidden_state``), optionally quantised with ONNX Runtime's dynamic int8
quantisation, and cached under ``cache_dir`` keyed by the model's identity. Tokenisation uses the
folder's own tokenizer; pooling (mean over the attention mask) and L2 normalisation run in numpy.

Only the layout sentence-transformers writes for e5-style models is supported: a Transformer
module, mean Pooling, optionally Normalize. Anything else raises a ConfigError rather than giving
vectors that silently differ from the torch path.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from pipeline.errors import ConfigError
from pipeline.models.embedding import model_identity
from pipeline.models.remote_code import refuse_remote_code

logger = logging.getLogger(__name__)

#: Bump when the export or quantisation recipe changes: old cached graphs are then ignored.
EXPORT_VERSION = 1
OPSET = 17

Precision = Literal["fp32", "int8"]


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _module_paths(model_dir: Path) -> tuple[Path, dict[str, Any], bool]:
    """(transformer folder, pooling config, has Normalize) from the folder's modules.json."""
    modules = json.loads((model_dir / "modules.json").read_text(encoding="utf-8"))
    kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
    if not kinds or kinds[0] != "Transformer" or "Pooling" not in kinds or any(
        k not in {"Transformer", "Pooling", "Normalize"} for k in kinds
    ):
        raise ConfigError(f"embed.backend onnx-int8 supports Transformer → Pooling [→ Normalize] "
                          f"sentence-transformers folders; {model_dir} has {kinds}")
    transformer_dir = model_dir / modules[0]["path"]
    pooling_dir = model_dir / modules[kinds.index("Pooling")]["path"]
    pooling = _read_json(pooling_dir / "config.json")
    if "pooling_mode" in pooling:  # sentence-transformers ≥ 6: {"pooling_mode": "mean"}
        mode = pooling["pooling_mode"]
        mean_only = mode in ("mean", ["mean"])
    else:  # older folders: one boolean per mode
        mean_only = bool(pooling.get("pooling_mode_mean_tokens")) and not any(
            value for key, value in pooling.items()
            if key.startswith("pooling_mode_") and key != "pooling_mode_mean_tokens"
        )
    if not mean_only or not pooling.get("include_prompt", True):
        raise ConfigError(f"embed.backend onnx-int8 supports mean pooling over all tokens only; "
                          f"{pooling_dir / 'config.json'} asks for {pooling}")
    return transformer_dir, pooling, "Normalize" in kinds


class _LastHiddenState:
    """Wraps a transformers encoder so the export sees positional inputs and one output."""

    @staticmethod
    def build(model: Any, input_names: Sequence[str]) -> Any:
        import torch

        class Wrapper(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
                kwargs = dict(zip(input_names, inputs, strict=True))
                return self.model(**kwargs, return_dict=True).last_hidden_state

        return Wrapper().eval()


def export_onnx(transformer_dir: Path, input_names: Sequence[str], target: Path) -> None:
    """Export the transformer in ``transformer_dir`` to ``target`` (fp32, dynamic axes)."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(transformer_dir), attn_implementation="eager",
                                      trust_remote_code=False)
    model.eval()
    wrapper = _LastHiddenState.build(model, input_names)
    batch, length = 2, 8
    dummy = tuple(
        torch.ones((batch, length), dtype=torch.long) if name == "attention_mask"
        else torch.zeros((batch, length), dtype=torch.long) if name == "token_type_ids"
        else torch.full((batch, length), 5, dtype=torch.long)
        for name in input_names
    )
    axes = {name: {0: "batch", 1: "sequence"} for name in input_names}
    axes["last_hidden_state"] = {0: "batch", 1: "sequence"}
    # The exporter warns about tracing details of the model's code (TracerWarning and the
    # like) that say nothing to a user; they went to stderr on every set-up.
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper, dummy, str(target),
            input_names=list(input_names), output_names=["last_hidden_state"],
            dynamic_axes=axes, opset_version=OPSET, do_constant_folding=True, dynamo=False,
        )


def quantize_int8(source: Path, target: Path, per_channel: bool = True) -> None:
    """Dynamic int8 quantisation of the MatMul weights (activations quantised at run time)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(source), str(target), weight_type=QuantType.QInt8, per_channel=per_channel,
        op_types_to_quantize=["MatMul"],
    )


class OnnxEncoder:
    """``SentenceTransformer.encode``-compatible encoder on ONNX Runtime (fp32 or dynamic int8)."""

    def __init__(self, model_dir: Path, cache_dir: Path, precision: Precision = "int8",
                 per_channel: bool = True, threads: int | None = None) -> None:
        from transformers import AutoTokenizer

        self.model_dir = Path(model_dir)
        refuse_remote_code(self.model_dir, f"embedding model {str(self.model_dir)!r}")
        self.precision = precision
        self.per_channel = per_channel
        transformer_dir, _, self.normalize = _module_paths(self.model_dir)
        st_config = _read_json(self.model_dir / "config_sentence_transformers.json")
        self.prompts: dict[str, str] = dict(st_config.get("prompts") or {})
        self.default_prompt_name: str | None = st_config.get("default_prompt_name")
        bert_config = _read_json(transformer_dir / "sentence_bert_config.json")
        self.tokenizer = AutoTokenizer.from_pretrained(str(transformer_dir),
                                                       trust_remote_code=False)
        self.max_seq_length = int(bert_config.get("max_seq_length") or 512)
        self.max_seq_length = min(self.max_seq_length, 512,
                                  self.tokenizer.model_max_length or 512)
        self.input_names = [name for name in ("input_ids", "attention_mask", "token_type_ids")
                            if name in self.tokenizer.model_input_names]
        self.identity = model_identity(str(self.model_dir))
        self.onnx_path = self._ensure_graph(transformer_dir, Path(cache_dir))
        self.session = self._session(threads or os.cpu_count() or 1)

    # ------------------------------------------------------------------------------ export
    def cache_key(self) -> str:
        import onnxruntime
        import torch

        parts = [self.identity, f"v{EXPORT_VERSION}", f"opset{OPSET}", f"torch{torch.__version__}",
                 f"ort{onnxruntime.__version__}", ",".join(self.input_names)]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]

    def _ensure_graph(self, transformer_dir: Path, cache_dir: Path) -> Path:
        folder = cache_dir / self.cache_key()
        fp32 = folder / "model.onnx"
        int8 = folder / f"model_int8{'_pc' if self.per_channel else ''}.onnx"
        target = fp32 if self.precision == "fp32" else int8
        if target.is_file():
            return target
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder, prefix=".tmp-") as tmp:
            if not fp32.is_file():
                logger.info("exporting %s to ONNX (once per model)", self.model_dir)
                export_onnx(transformer_dir, self.input_names, Path(tmp) / "model.onnx")
                self._check_single_file(Path(tmp), "model.onnx")
                os.replace(Path(tmp) / "model.onnx", fp32)
            if target is int8:
                logger.info("quantising %s to dynamic int8", fp32)
                quantize_int8(fp32, Path(tmp) / int8.name, per_channel=self.per_channel)
                self._check_single_file(Path(tmp), int8.name)
                os.replace(Path(tmp) / int8.name, int8)
        return target

    @staticmethod
    def _check_single_file(tmp: Path, name: str) -> None:
        extra = [p.name for p in tmp.iterdir() if p.name != name]
        if extra:  # external-data tensors (models > 2 GB) would not survive the rename
            raise RuntimeError(f"ONNX export wrote external data files {extra}; unsupported")

    def _session(self, threads: int) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Idle workers would otherwise spin after each run, stealing the CPU from torch, the
        # tokenizer and the other stages sharing this process.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        return ort.InferenceSession(str(self.onnx_path), options,
                                    providers=["CPUExecutionProvider"])

    # ------------------------------------------------------------------------------ encode
    def encode(self, sentences: str | Sequence[str], prompt_name: str | None = None,
               prompt: str | None = None, batch_size: int = 32,
               normalize_embeddings: bool = True, convert_to_numpy: bool = True,
               show_progress_bar: bool = False, **_: Any) -> np.ndarray:
        """Vectors for ``sentences`` in input order (one vector for a single string)."""
        single = isinstance(sentences, str)
        texts = [sentences] if single else list(sentences)
        if prompt is None:
            prompt_name = prompt_name or self.default_prompt_name
            if prompt_name is not None:
                if prompt_name not in self.prompts:
                    raise ValueError(f"prompt {prompt_name!r} not in {sorted(self.prompts)}")
                prompt = self.prompts[prompt_name]
        if prompt:
            texts = [prompt + text for text in texts]
        out: np.ndarray | None = None
        # Longest first, like sentence-transformers: batches of similar length pad little.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), batch_size):
            index = order[start:start + batch_size]
            vectors = self._encode_batch([texts[i] for i in index])
            if out is None:
                out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
            out[index] = vectors
        if out is None:
            return np.zeros((0, 0), dtype=np.float32)
        if normalize_embeddings or self.normalize:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            out = out / np.maximum(norms, 1e-12)
        return out[0] if single else out

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        encoded = self.tokenizer(texts, padding="longest", truncation=True,
                                 max_length=self.max_seq_length, return_tensors="np")
        feeds = {name: np.asarray(encoded[name], dtype=np.int64) for name in self.input_names}
        hidden = self.session.run(["last_hidden_state"], feeds)[0]
        mask = feeds["attention_mask"][..., None].astype(np.float32)
        summed = (hidden * mask).sum(axis=1)
        return (summed / np.maximum(mask.sum(axis=1), 1e-9)).astype(np.float32)


def load_onnx_encoder(name: str, cache_dir: Path, precision: Precision = "int8") -> OnnxEncoder:
    """An :class:`OnnxEncoder` for ``name`` (a local folder or an offline build's name)."""
    from pipeline.errors import ModelUnavailableError
    from pipeline.models.paths import resolve_model

    try:
        import onnxruntime  # noqa: F401
    except ImportError as error:
        raise ConfigError("embed.backend onnx-int8 needs onnxruntime and onnx: "
                          "pip install -r requirements.txt") from error
    path = Path(resolve_model(name))
    refuse_remote_code(path, f"embedding model {name!r}")
    if not (path / "modules.json").is_file():
        raise ModelUnavailableError(
            f"embed.backend onnx-int8 needs a local sentence-transformers folder; {name!r} is "
            f"not one (use embed.backend torch, or build the model with `quotetrace setup-models`)"
        )
    return OnnxEncoder(path, cache_dir, precision=precision)
