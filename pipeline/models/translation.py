"""Machine translation of sentences to English with a transformers seq2seq model.

Works with any ``AutoModelForSeq2SeqLM`` folder or hub id: Marian (Helsinki-NLP/opus-mt-*), which
needs no language codes, and the many-to-many NLLB and M2M100 models, which need the source
language set on the tokenizer and the target language forced as the first generated token.

torch and transformers are imported inside the functions that use them, so importing this module
stays cheap for the CLI.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pipeline.errors import ConfigError, ModelUnavailableError
from pipeline.models.paths import resolve_model
from pipeline.models.remote_code import refuse_remote_code

if TYPE_CHECKING:
    from pipeline.config import TranslateConfig

#: Short (ISO 639-1) codes to NLLB-200 codes, for the languages news is most often in.
#: Three-letter codes and full NLLB codes ("vie_Latn") are also accepted; see `_nllb_code`.
NLLB_CODES = {
    "ar": "arb_Arab",
    "bg": "bul_Cyrl",
    "bn": "ben_Beng",
    "cs": "ces_Latn",
    "da": "dan_Latn",
    "de": "deu_Latn",
    "el": "ell_Grek",
    "en": "eng_Latn",
    "es": "spa_Latn",
    "et": "est_Latn",
    "fa": "pes_Arab",
    "fi": "fin_Latn",
    "fr": "fra_Latn",
    "he": "heb_Hebr",
    "hi": "hin_Deva",
    "hr": "hrv_Latn",
    "hu": "hun_Latn",
    "id": "ind_Latn",
    "it": "ita_Latn",
    "ja": "jpn_Jpan",
    "km": "khm_Khmr",
    "ko": "kor_Hang",
    "lo": "lao_Laoo",
    "lt": "lit_Latn",
    "lv": "lvs_Latn",
    "ms": "zsm_Latn",
    "my": "mya_Mymr",
    "nl": "nld_Latn",
    "no": "nob_Latn",
    "pl": "pol_Latn",
    "pt": "por_Latn",
    "ro": "ron_Latn",
    "ru": "rus_Cyrl",
    "sk": "slk_Latn",
    "sl": "slv_Latn",
    "sr": "srp_Cyrl",
    "sv": "swe_Latn",
    "sw": "swh_Latn",
    "ta": "tam_Taml",
    "th": "tha_Thai",
    "tl": "tgl_Latn",
    "tr": "tur_Latn",
    "uk": "ukr_Cyrl",
    "ur": "urd_Arab",
    "vi": "vie_Latn",
    "zh": "zho_Hans",
}

_NLLB_TOKEN = re.compile(r"^[a-z]{3}_[A-Z][a-z]{3}$")

ProgressCallback = Callable[[int], None]


class Translator:
    """A loaded seq2seq translation model.

    ``name`` is the model as configured (hub id or folder), recorded with each translated
    sentence; ``path`` is what was actually loaded (a local build when one exists).

    Raises `ModelUnavailableError` when the model cannot be loaded (`RemoteCodeRefused` when
    its folder asks to run code of its own), and `ConfigError` when a many-to-many model
    (NLLB, M2M100) is given a language it does not know.
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
    ) -> None:
        self._set_options(model, resolve_model(model), src_lang, tgt_lang, batch_size,
                          max_length, num_beams, device)
        self.tokenizer, self.model = _load(model, self.path, device)
        #: "nllb", "m2m" or None (Marian and other models with a fixed language pair).
        self.lang_scheme = _lang_scheme(self.tokenizer)
        self._forced_bos_token_id: int | None = None
        if self.lang_scheme is not None:
            self._forced_bos_token_id = self._lang_token_id(tgt_lang)
            if src_lang is not None:
                self._set_src_lang(src_lang)

    def __repr__(self) -> str:
        return f"Translator({self.name!r}, device={self.device!r})"

    def _set_options(self, model: str, path: str, src_lang: str | None, tgt_lang: str,
                     batch_size: int, max_length: int, num_beams: int, device: str,
                     min_max_length: int = 1) -> None:
        """Validate and keep the settings every translation backend shares."""
        if batch_size < 1:
            raise ConfigError(f"translate.batch_size must be at least 1, got {batch_size}")
        if max_length < min_max_length:
            raise ConfigError(f"translate.max_length must be at least {min_max_length}, "
                              f"got {max_length}")
        if num_beams < 1:
            raise ConfigError(f"translate.num_beams must be at least 1, got {num_beams}")
        self.name = model
        self.path = path
        self.src_lang = src_lang
        self.tgt_lang = tgt_lang
        self.batch_size = batch_size
        self.max_length = max_length
        self.num_beams = num_beams
        self.device = device

    def translate(
        self,
        texts: list[str],
        progress: ProgressCallback | None = None,
        *,
        src_lang: str | None = None,
    ) -> list[str]:
        """Translate ``texts``, returning one string per input, in the input order.

        Inputs are sorted longest first before batching, so each batch pads to similar lengths
        and an out-of-memory error shows on the first batch rather than late in a run. Empty or
        whitespace-only inputs come back as "" without reaching the model. Decoding is greedy
        (or beam search with ``num_beams`` > 1), never sampled, so output is deterministic.

        ``progress(n)`` is called after each batch with the number of texts that batch finished
        (the calls sum to ``len(texts)``; empty inputs are reported in one call up front), which
        suits ``rich`` ``Progress.advance`` and ``tqdm.update``.

        ``src_lang`` overrides the constructor's source language for this call; only NLLB and
        M2M100 models use it, and they need one of the two.
        """
        results = [""] * len(texts)
        todo = [i for i, text in enumerate(texts) if text.strip()]
        if progress is not None and len(todo) < len(texts):
            progress(len(texts) - len(todo))
        if not todo:
            return results
        if self.lang_scheme is not None:
            lang = src_lang or self.src_lang
            if lang is None:
                raise ConfigError(
                    f"translation model {self.name!r} translates between many languages: "
                    "set translate.src_lang (e.g. 'vi')"
                )
            self._set_src_lang(lang)
        # Stable sort on (-length, index): ties keep input order, so batches are reproducible.
        todo.sort(key=lambda i: (-len(texts[i]), i))
        for start in range(0, len(todo), self.batch_size):
            batch = todo[start : start + self.batch_size]
            for i, out in zip(batch, self._generate([texts[i] for i in batch]), strict=True):
                results[i] = out
            if progress is not None:
                progress(len(batch))
        return results

    def _generate(self, batch: list[str]) -> list[str]:
        import torch

        inputs = self.tokenizer(
            batch,
            return_tensors="pt",
            padding=True,
            truncation=True,
            max_length=self.max_length,
        ).to(self.device)
        # max_length (not max_new_tokens) replaces the model's generation_config value instead
        # of conflicting with it; for encoder-decoders it counts the decoder start token.
        kwargs: dict[str, Any] = {
            "max_length": self.max_length,
            "num_beams": self.num_beams,
            "do_sample": False,
        }
        if self._forced_bos_token_id is not None:
            kwargs["forced_bos_token_id"] = self._forced_bos_token_id
        with torch.inference_mode():
            output = self.model.generate(**inputs, **kwargs)
        if self._forced_bos_token_id is not None and self.tokenizer.pad_token_id is not None:
            # Not every tokenizer marks its language tokens special: blank the forced one out.
            forced = output == self._forced_bos_token_id
            output = output.masked_fill(forced, self.tokenizer.pad_token_id)
        decoded = self.tokenizer.batch_decode(output, skip_special_tokens=True)
        return [text.strip() for text in decoded]

    def _set_src_lang(self, lang: str) -> None:
        code = self._lang_code(lang)
        if self.tokenizer.src_lang != code:
            self.tokenizer.src_lang = code

    def _lang_code(self, lang: str) -> str:
        """The tokenizer's code for ``lang``: "vie_Latn" for NLLB, "vi" for M2M100."""
        if self.lang_scheme == "nllb":
            code = _nllb_code(lang, self.tokenizer)
        else:
            short = lang.lower().split("-")[0].split("_")[0]
            code = short if short in self.tokenizer.lang_code_to_id else None
        if code is None:
            raise ConfigError(
                f"translation model {self.name!r} has no language code for {lang!r}: "
                "use a code the model knows (e.g. 'vi' or 'vie_Latn')"
            )
        return code

    def _lang_token_id(self, lang: str) -> int:
        code = self._lang_code(lang)
        if self.lang_scheme == "nllb":
            return int(self.tokenizer.convert_tokens_to_ids(code))
        return int(self.tokenizer.get_lang_id(code))


def load_translator(model: str, **kwargs: Any) -> Translator:
    """Load ``model`` as a `Translator` (keyword arguments as for `Translator`).

    Raises `ModelUnavailableError` with the fix in the message when the model is neither a
    usable local folder nor downloadable.
    """
    return Translator(model, **kwargs)


def from_config(path: str, config: TranslateConfig, **options: Any) -> Translator:
    """The ``translate.backend: transformers`` factory (:mod:`pipeline.registry`)."""
    return load_translator(path, **options)  # looked up at call time: tests may count loads


def _load(name: str, path: str, device: str) -> tuple[Any, Any]:
    """Load tokenizer and model, turning load failures into `ModelUnavailableError`.

    Never runs code shipped with the model: a local folder that asks for it is refused first,
    and ``trust_remote_code=False`` keeps transformers from prompting ``[y/N]`` on stdin.
    """
    import os

    refuse_remote_code(path, f"translation model {name!r}")
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
        model = AutoModelForSeq2SeqLM.from_pretrained(path, trust_remote_code=False)
    except (OSError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if os.path.isdir(path):
            fix = (
                f"the folder {path} is not a complete seq2seq model (it needs config.json, "
                "the weights and the tokenizer files): rebuild it, or set translate.model to "
                "another model"
            )
        else:
            offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}
            hub = "unset HF_HUB_OFFLINE" if offline else "check network access and the id"
            fix = (
                f"set translate.model to a local folder, or allow hub access ({hub}) "
                f"to download {name}"
            )
        raise ModelUnavailableError(
            f"translation model {name!r} cannot be loaded ({reason}); {fix}"
        ) from exc
    model.to(device)
    model.eval()
    return tokenizer, model


def _lang_scheme(tokenizer: Any) -> str | None:
    """Which language-code convention the tokenizer uses: "nllb", "m2m" or None."""
    # M2M100's language tokens ("__vi__") are not in get_vocab(); its tokenizer maps them itself.
    if hasattr(tokenizer, "lang_code_to_id") and hasattr(tokenizer, "get_lang_id"):
        return "m2m"
    if _has_token(tokenizer, "eng_Latn"):
        return "nllb"
    return None


def _has_token(tokenizer: Any, token: str) -> bool:
    token_id = tokenizer.convert_tokens_to_ids(token)
    return token_id is not None and token_id != tokenizer.unk_token_id


def _nllb_code(lang: str, tokenizer: Any) -> str | None:
    """Map "vi", "vie" or "vie_Latn" to the NLLB token the tokenizer has, or None."""
    if _NLLB_TOKEN.match(lang):
        return lang if _has_token(tokenizer, lang) else None
    short = lang.lower().split("-")[0].split("_")[0]
    if short in NLLB_CODES and _has_token(tokenizer, NLLB_CODES[short]):
        return NLLB_CODES[short]
    if len(short) == 3:
        prefix = short + "_"
        matches = sorted(
            t for t in tokenizer.get_vocab() if t.startswith(prefix) and _NLLB_TOKEN.match(t)
        )
        if matches:
            return matches[0]
    return None
