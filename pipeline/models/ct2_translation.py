"""Machine translation with CTranslate2: the `Translator` contract on a converted, quantised model.

`load_ct2_translator` converts a transformers seq2seq folder (Marian/opus-mt, NLLB, M2M100) once
with ``ctranslate2.converters.TransformersConverter`` into a cache folder, then translates with
``ctranslate2.Translator``. Tokenisation stays with the model's own tokenizer (``AutoTokenizer``):
source ids become tokens with ``convert_ids_to_tokens``, and target tokens go back through
``convert_tokens_to_ids`` and ``decode(skip_special_tokens=True)``.

`Ct2Translator` subclasses `Translator` for its public surface and behaviour (``translate``:
empty inputs, longest-first batches, input order, progress, per-call ``src_lang``; NLLB/M2M
language codes) and replaces only model loading and the per-batch decoding.

ctranslate2 and transformers are imported inside the functions that use them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.errors import ModelUnavailableError
from pipeline.models.paths import folder_fingerprint, models_dir, resolve_model
from pipeline.models.remote_code import refuse_remote_code
from pipeline.models.translation import Translator, _lang_scheme

if TYPE_CHECKING:
    from pipeline.config import TranslateConfig

#: Files a conversion writes last; a cache folder without it is incomplete.
_CT2_MODEL_FILE = "model.bin"
#: Hub files worth fetching for conversion (skips the TensorFlow/Flax/ONNX copies).
_HUB_PATTERNS = ["*.json", "*.spm", "*.model", "*.txt", "*.safetensors", "pytorch_model.bin"]


class Ct2Translator(Translator):
    """A seq2seq translation model running on CTranslate2 (same contract as `Translator`).

    ``name`` is the model as configured; ``path`` the transformers folder the tokenizer comes
    from; ``ct2_path`` the converted model. ``compute_type`` is CTranslate2's ("int8",
    "int8_float32", "float32", ...); the conversion is quantised to it as well.
    """

    def __init__(
        self,
        model: str,
        *,
        src_lang: str | None = None,
        tgt_lang: str = "en",
        batch_size: int = 16,
        max_length: int = 256,
        num_beams: int = 1,
        device: str = "cpu",
        compute_type: str = "int8",
        cache_dir: Path | None = None,
        inter_threads: int = 1,
        intra_threads: int = 0,
    ) -> None:
        # CTranslate2 decodes max_length - 1 (or - 2) tokens: at least one must remain.
        self._set_options(model, _local_folder(model), src_lang, tgt_lang, batch_size,
                          max_length, num_beams, device, min_max_length=2)
        self.compute_type = compute_type
        self.ct2_path = convert_model(model, self.path, compute_type, cache_dir)
        self.tokenizer = _load_tokenizer(model, self.path)
        self.lang_scheme = _lang_scheme(self.tokenizer)
        self._forced_bos_token_id = None
        self._target_prefix: list[str] | None = None
        if self.lang_scheme is not None:
            self._forced_bos_token_id = self._lang_token_id(tgt_lang)
            self._target_prefix = self.tokenizer.convert_ids_to_tokens([self._forced_bos_token_id])
            if src_lang is not None:
                self._set_src_lang(src_lang)
        self._decode_options = _decode_options(self.path, self.tokenizer, max_length)
        import ctranslate2

        try:
            self.model = ctranslate2.Translator(
                str(self.ct2_path),
                device=device,
                compute_type=compute_type,
                inter_threads=inter_threads,
                intra_threads=intra_threads,
            )
        except (RuntimeError, ValueError) as exc:
            raise ModelUnavailableError(
                f"translation model {model!r}: CTranslate2 cannot load the converted model at "
                f"{self.ct2_path} ({_reason(exc)}); delete that folder to reconvert, or set "
                "translate.compute_type to one this machine supports (e.g. 'int8' or 'float32')"
            ) from exc

    def __repr__(self) -> str:
        return (
            f"Ct2Translator({self.name!r}, compute_type={self.compute_type!r}, "
            f"device={self.device!r})"
        )

    def _generate(self, batch: list[str]) -> list[str]:
        tokenizer = self.tokenizer
        encoded = tokenizer(batch, truncation=True, max_length=self.max_length)["input_ids"]
        source = [tokenizer.convert_ids_to_tokens(ids) for ids in encoded]
        prefix = [list(self._target_prefix) for _ in source] if self._target_prefix else None
        results = self.model.translate_batch(
            source,
            target_prefix=prefix,
            beam_size=self.num_beams,
            num_hypotheses=1,
            sampling_topk=1,
            max_input_length=0,  # the tokenizer has truncated already
            **self._decode_options,
        )
        outputs = []
        for result in results:
            tokens = result.hypotheses[0]
            if self._target_prefix and tokens[: len(self._target_prefix)] == self._target_prefix:
                tokens = tokens[len(self._target_prefix) :]
            ids = tokenizer.convert_tokens_to_ids(tokens)
            outputs.append(tokenizer.decode(ids, skip_special_tokens=True).strip())
        return outputs


def load_ct2_translator(
    model: str,
    *,
    compute_type: str = "int8",
    cache_dir: Path | None = None,
    **kwargs: Any,
) -> Ct2Translator:
    """Load ``model`` as a `Ct2Translator`, converting it on first use.

    ``cache_dir`` is the folder holding converted models (default ``$QUOTETRACE_MODELS/ct2``);
    each conversion lives in a sub-folder named by `cache_key`. Other keyword arguments are as
    for `Translator` (plus ``inter_threads`` / ``intra_threads``). Raises
    `ModelUnavailableError` with the fix in the message when the model is missing or cannot be
    converted.
    """
    return Ct2Translator(model, compute_type=compute_type, cache_dir=cache_dir, **kwargs)


def from_config(path: str, config: TranslateConfig, **options: Any) -> Ct2Translator:
    """The ``translate.backend: ctranslate2`` factory (:mod:`pipeline.registry`)."""
    return load_ct2_translator(path, compute_type=config.compute_type, **options)


def cache_key(path: str | Path, compute_type: str) -> str:
    """Hash of the folder's file names and sizes, the compute type and the ctranslate2 version."""
    import ctranslate2

    root = Path(path)
    digest = hashlib.sha256(folder_fingerprint(root).encode())
    digest.update(f"compute_type={compute_type}\nct2={ctranslate2.__version__}".encode())
    return f"{root.name or 'model'}-{compute_type}-{digest.hexdigest()[:16]}"


def convert_model(
    name: str, path: str | Path, compute_type: str, cache_dir: Path | None = None
) -> Path:
    """The converted model folder for ``path``, converting it (atomically) when not cached."""
    cache_dir = Path(cache_dir) if cache_dir is not None else models_dir() / "ct2"
    target = cache_dir / cache_key(path, compute_type)
    if (target / _CT2_MODEL_FILE).exists():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cache_dir / f".{target.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        _convert(str(path), tmp, compute_type)
        try:
            os.replace(tmp, target)
        except OSError:
            if not (target / _CT2_MODEL_FILE).exists():  # not a concurrent conversion: retry
                shutil.rmtree(target, ignore_errors=True)
                os.replace(tmp, target)
    except ModelUnavailableError:
        raise
    except Exception as exc:  # the converter raises many kinds (ValueError, KeyError, OSError)
        raise ModelUnavailableError(
            f"translation model {name!r} cannot be converted to CTranslate2 ({_reason(exc)}); "
            "use a transformers seq2seq model CTranslate2 supports (Marian/opus-mt, NLLB, "
            "M2M100), or set translate.backend to 'transformers'"
        ) from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _convert(path: str, out: Path, compute_type: str) -> None:
    """Run the CTranslate2 converter (a seam for tests that count conversions)."""
    from ctranslate2.converters import TransformersConverter

    quantization = None if compute_type in {"default", "auto"} else compute_type
    TransformersConverter(path, trust_remote_code=False).convert(
        str(out), quantization=quantization, force=True)


def _local_folder(name: str) -> str:
    """A local folder for ``name``: the folder itself, or the hub snapshot (offline aware).

    Raises `RemoteCodeRefused` for a folder that asks to run code shipped with the model.
    """
    path = resolve_model(name)
    if os.path.isdir(path):
        refuse_remote_code(path, f"translation model {name!r}")
        if not (Path(path) / "config.json").exists():
            raise ModelUnavailableError(
                f"translation model {name!r} cannot be loaded (no config.json in {path}); "
                f"the folder {path} is not a complete seq2seq model (it needs config.json, the "
                "weights and the tokenizer files): rebuild it, or set translate.model to "
                "another model"
            )
        return path
    try:
        from huggingface_hub import snapshot_download

        snapshot = str(snapshot_download(name, allow_patterns=_HUB_PATTERNS))
    except Exception as exc:  # offline, unknown id, bad id format, network errors
        offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}
        hub = "unset HF_HUB_OFFLINE" if offline else "check network access and the id"
        raise ModelUnavailableError(
            f"translation model {name!r} cannot be loaded ({_reason(exc)}); set "
            f"translate.model to a local folder, or allow hub access ({hub}) to download {name}"
        ) from exc
    refuse_remote_code(snapshot, f"translation model {name!r}")
    return snapshot


def _load_tokenizer(name: str, path: str) -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(path, trust_remote_code=False)
    except (OSError, ValueError) as exc:
        raise ModelUnavailableError(
            f"translation model {name!r}: the tokenizer in {path} cannot be loaded "
            f"({_reason(exc)}); rebuild the folder, or set translate.model to another model"
        ) from exc


def _decode_options(path: str, tokenizer: Any, max_length: int) -> dict[str, Any]:
    """CTranslate2 decoding options mirroring the model's transformers generation config.

    transformers' ``max_length`` counts the decoder start token, and ``forced_eos_token_id``
    spends one more position on the end token, so the text is at most ``max_length`` - 1 (or - 2)
    tokens. ``bad_words_ids`` of one token become ``disable_unk`` / ``suppress_sequences``, and
    ``begin_suppress_tokens`` = [eos] a minimum length of one token.
    """
    from transformers import GenerationConfig

    try:
        config = GenerationConfig.from_pretrained(path)
    except (OSError, ValueError):
        config = GenerationConfig()
    forced_eos = getattr(config, "forced_eos_token_id", None) is not None
    options: dict[str, Any] = {"max_decoding_length": max(1, max_length - (2 if forced_eos else 1))}
    vocab = tokenizer.get_vocab()
    suppress = []
    for ids in getattr(config, "bad_words_ids", None) or []:
        if len(ids) != 1:
            continue
        if ids[0] == tokenizer.unk_token_id:
            options["disable_unk"] = True
        elif ids[0] != tokenizer.pad_token_id:  # CTranslate2 never generates the pad token
            token = tokenizer.convert_ids_to_tokens(ids[0])
            if token in vocab:
                suppress.append([token])
    if suppress:
        options["suppress_sequences"] = suppress
    eos = tokenizer.eos_token_id
    begin = getattr(config, "begin_suppress_tokens", None) or []
    options["min_decoding_length"] = 1 if eos in begin else 0
    return options


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
