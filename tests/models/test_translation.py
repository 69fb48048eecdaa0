"""Translator on tiny random models built offline (see tests/tiny_models.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pipeline.errors import ConfigError, ModelUnavailableError
from pipeline.models.translation import Translator, load_translator
from tests.tiny_models import (
    SAMPLE_TEXTS,
    build_tiny_m2m,
    build_tiny_marian,
    build_tiny_nllb,
    build_tiny_sentence_transformer,
)

TEXTS = SAMPLE_TEXTS


@pytest.fixture(scope="session")
def tiny_sentence_transformer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_sentence_transformer(tmp_path_factory.mktemp("tiny-st"))


@pytest.fixture(scope="session")
def translator(tiny_marian: Path) -> Translator:
    return load_translator(str(tiny_marian), batch_size=2, max_length=32)


def _spy_generate(translator: Translator, monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Record (kwargs, output ids) of every model.generate call."""
    calls: list[tuple[dict[str, Any], Any]] = []
    original = translator.model.generate

    def spy(**kwargs: Any) -> Any:
        output = original(**kwargs)
        calls.append((kwargs, output))
        return output

    monkeypatch.setattr(translator.model, "generate", spy)
    return calls


def test_translate_returns_one_string_per_input_in_order(translator: Translator) -> None:
    out = translator.translate(TEXTS)
    assert len(out) == len(TEXTS)
    assert all(isinstance(text, str) and text for text in out)
    # The random model still maps different inputs to different outputs, so a lost or wrong
    # reordering would show here.
    assert len(set(out)) == len(out)
    assert out == [translator.translate([text])[0] for text in TEXTS]


def test_batch_size_does_not_change_output(tiny_marian: Path, translator: Translator) -> None:
    one_batch = Translator(str(tiny_marian), batch_size=16, max_length=32)
    assert one_batch.translate(TEXTS) == translator.translate(TEXTS)


def test_longest_texts_are_translated_first(
    translator: Translator, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _spy_generate(translator, monkeypatch)
    translator.translate(TEXTS)
    widths = [kwargs["input_ids"].shape[1] for kwargs, _ in calls]
    assert widths == sorted(widths, reverse=True)
    assert len(calls) == 3  # 5 texts, batch_size 2


def test_empty_strings_stay_empty_without_running_the_model(
    translator: Translator, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _spy_generate(translator, monkeypatch)
    assert translator.translate([]) == []
    assert translator.translate(["", "  \n"]) == ["", ""]
    assert calls == []
    out = translator.translate(["", TEXTS[0], " "])
    assert out[0] == "" and out[2] == ""
    assert out[1] == translator.translate([TEXTS[0]])[0]
    assert sum(kwargs["input_ids"].shape[0] for kwargs, _ in calls) == 2


def test_translation_is_deterministic(tiny_marian: Path, translator: Translator) -> None:
    first = translator.translate(TEXTS)
    assert translator.translate(TEXTS) == first
    reloaded = load_translator(str(tiny_marian), batch_size=2, max_length=32)
    assert reloaded.translate(TEXTS) == first


def test_tiny_marian_build_is_deterministic(tiny_marian: Path, tmp_path: Path) -> None:
    again = build_tiny_marian(tmp_path / "again")
    for name in ("model.safetensors", "source.spm", "vocab.json"):
        assert (again / name).read_bytes() == (tiny_marian / name).read_bytes(), name


def test_progress_reports_every_text_once(translator: Translator) -> None:
    reported: list[int] = []
    translator.translate([*TEXTS, ""], progress=reported.append)
    assert reported == [1, 2, 2, 1]  # the empty text up front, then batches of 2, 2, 1
    assert sum(reported) == len(TEXTS) + 1


def test_name_is_the_configured_model(tiny_marian: Path, translator: Translator) -> None:
    assert translator.name == str(tiny_marian)
    assert translator.lang_scheme is None  # Marian: no language codes


def test_missing_hub_model_fails_fast_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    start = time.perf_counter()
    with pytest.raises(ModelUnavailableError) as excinfo:
        load_translator("quotetrace-tests/no-such-opus-mt-vi-en")
    assert time.perf_counter() - start < 10
    message = str(excinfo.value)
    assert "quotetrace-tests/no-such-opus-mt-vi-en" in message
    assert "translate.model" in message and "HF_HUB_OFFLINE" in message


def test_incomplete_local_folder_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="not a complete seq2seq model"):
        load_translator(str(tmp_path))


def test_nllb_sets_source_code_and_forces_target(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = build_tiny_nllb(tmp_path_factory.mktemp("tiny-nllb"))
    translator = load_translator(str(path), src_lang="vi", max_length=8)
    assert translator.lang_scheme == "nllb"
    tokenizer = translator.tokenizer
    calls = _spy_generate(translator, monkeypatch)
    translator.translate(["Xin chào"])
    kwargs, output = calls[0]
    assert kwargs["input_ids"][0, 0].item() == tokenizer.convert_tokens_to_ids("vie_Latn")
    assert output[0, 1].item() == tokenizer.convert_tokens_to_ids("eng_Latn")
    # A per-call source language overrides the configured one; full NLLB codes work too.
    translator.translate(["Hello"], src_lang="fra_Latn")
    assert calls[1][0]["input_ids"][0, 0].item() == tokenizer.convert_tokens_to_ids("fra_Latn")
    with pytest.raises(ConfigError, match="no language code for 'xx'"):
        translator.translate(["x"], src_lang="xx")


def test_m2m_sets_source_code_and_forces_target(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = build_tiny_m2m(tmp_path_factory.mktemp("tiny-m2m"))
    translator = load_translator(str(path), src_lang="vi", max_length=8)
    assert translator.lang_scheme == "m2m"
    tokenizer = translator.tokenizer
    calls = _spy_generate(translator, monkeypatch)
    out = translator.translate(["Xin chào"])
    kwargs, output = calls[0]
    assert kwargs["input_ids"][0, 0].item() == tokenizer.get_lang_id("vi")
    assert output[0, 1].item() == tokenizer.get_lang_id("en")
    assert "__en__" not in out[0]


def test_many_to_many_model_needs_a_source_language(tmp_path: Path) -> None:
    translator = load_translator(str(build_tiny_nllb(tmp_path)), max_length=8)
    assert translator.translate([""]) == [""]  # nothing to translate, nothing needed
    with pytest.raises(ConfigError, match=r"translate\.src_lang"):
        translator.translate(["Xin chào"])


def test_module_import_does_not_import_torch() -> None:
    code = (
        "import sys, pipeline.models.translation; "
        "print('torch' in sys.modules or 'transformers' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"


def test_tiny_sentence_transformer_encodes_with_prompts(tiny_sentence_transformer: Path) -> None:
    import numpy as np
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(tiny_sentence_transformer), device="cpu")
    assert model.prompts["query"] == "query: " and model.prompts["passage"] == "passage: "
    texts = ["Chính phủ nói rằng giá xăng tăng.", "The government said fuel prices rose."]
    query = model.encode(texts, prompt_name="query")
    assert query.shape == (2, 32)
    np.testing.assert_allclose(np.linalg.norm(query, axis=1), 1.0, rtol=1e-5)
    passage = model.encode(texts, prompt_name="passage")
    assert not np.allclose(query, passage)
    np.testing.assert_array_equal(model.encode(texts, prompt_name="query"), query)
