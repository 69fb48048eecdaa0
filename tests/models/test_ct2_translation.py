"""Ct2Translator (CTranslate2 backend) on the tiny random MarianMT from tests/tiny_models.py."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

pytest.importorskip("ctranslate2")

from pipeline.errors import ModelUnavailableError
from pipeline.models import ct2_translation
from pipeline.models.ct2_translation import Ct2Translator, load_ct2_translator
from pipeline.models.translation import load_translator
from pipeline.runner import run_job
from tests.tiny_models import SAMPLE_TEXTS, generate_corpus

TEXTS = SAMPLE_TEXTS


@pytest.fixture(scope="module")
def ct2_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ct2-cache")


@pytest.fixture(scope="module")
def translator(tiny_marian: Path, ct2_cache: Path) -> Ct2Translator:
    return load_ct2_translator(
        str(tiny_marian), cache_dir=ct2_cache, batch_size=2, max_length=32
    )


def _spy_batches(translator: Ct2Translator, monkeypatch: pytest.MonkeyPatch) -> list[list[Any]]:
    """Record the source token lists of every translate_batch call."""
    calls: list[list[Any]] = []
    original = translator.model.translate_batch

    class Spy:
        def __getattr__(self, name: str) -> Any:
            return getattr(original.__self__, name)

        def translate_batch(self, source: list[list[str]], *args: Any, **kwargs: Any) -> Any:
            calls.append(source)
            return original(source, *args, **kwargs)

    monkeypatch.setattr(translator, "model", Spy())
    return calls


def test_outputs_one_string_per_input_in_order(translator: Ct2Translator) -> None:
    out = translator.translate(TEXTS)
    assert len(out) == len(TEXTS)
    assert all(isinstance(text, str) and text for text in out)
    assert len(set(out)) == len(out)
    assert out == [translator.translate([text])[0] for text in TEXTS]


def test_longest_first_batches_and_progress(
    translator: Ct2Translator, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _spy_batches(translator, monkeypatch)
    reported: list[int] = []
    translator.translate([*TEXTS, ""], progress=reported.append)
    assert reported == [1, 2, 2, 1]
    longest = [max(len(tokens) for tokens in batch) for batch in calls]
    assert longest == sorted(longest, reverse=True) and len(calls) == 3


def test_empty_strings_stay_empty_without_running_the_model(
    translator: Ct2Translator, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _spy_batches(translator, monkeypatch)
    assert translator.translate([]) == []
    assert translator.translate(["", "  \n"]) == ["", ""]
    assert calls == []
    out = translator.translate(["", TEXTS[0], " "])
    assert out[0] == "" and out[2] == "" and out[1]


def test_deterministic_and_conversion_cached(
    tiny_marian: Path, ct2_cache: Path, translator: Ct2Translator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = translator.translate(TEXTS)
    assert translator.translate(TEXTS) == first
    model_bin = translator.ct2_path / "model.bin"
    mtime = model_bin.stat().st_mtime_ns
    conversions: list[str] = []
    monkeypatch.setattr(ct2_translation, "_convert", lambda *a: conversions.append(a[0]))
    reloaded = load_ct2_translator(
        str(tiny_marian), cache_dir=ct2_cache, batch_size=16, max_length=32
    )
    assert conversions == []  # served from the cache
    assert reloaded.ct2_path == translator.ct2_path
    assert model_bin.stat().st_mtime_ns == mtime
    assert reloaded.translate(TEXTS) == first
    # Only the finished folder is left: conversion went through a temporary one.
    assert [p.name for p in ct2_cache.iterdir()] == [translator.ct2_path.name]


def test_default_cache_is_under_the_models_folder(
    tiny_marian: Path, offline_env: Path
) -> None:
    translator = load_ct2_translator(str(tiny_marian), compute_type="float32", max_length=8)
    assert translator.ct2_path.parent == offline_env / "ct2"
    assert "float32" in translator.ct2_path.name


def test_float32_matches_transformers_greedy(tiny_marian: Path, ct2_cache: Path) -> None:
    texts = generate_corpus(40, seed=7)
    reference = load_translator(str(tiny_marian), batch_size=20, max_length=16).translate(texts)
    ct2 = load_ct2_translator(
        str(tiny_marian), compute_type="float32", cache_dir=ct2_cache, batch_size=20,
        max_length=16,
    ).translate(texts)
    agreement = sum(a == b for a, b in zip(reference, ct2, strict=True)) / len(texts)
    assert agreement >= 0.8, agreement  # measured: 1.0


def test_max_length_is_honoured(tiny_marian: Path, ct2_cache: Path) -> None:
    short = load_ct2_translator(
        str(tiny_marian), compute_type="float32", cache_dir=ct2_cache, max_length=6
    )
    reference = load_translator(str(tiny_marian), max_length=6)
    assert short.translate(TEXTS) == reference.translate(TEXTS)
    tokens = short.tokenizer(short.translate(TEXTS))["input_ids"]
    assert all(len(ids) <= 6 for ids in tokens)


def test_missing_model_is_reported_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError) as excinfo:
        load_ct2_translator("quotetrace-tests/no-such-opus-mt-vi-en", cache_dir=tmp_path)
    message = str(excinfo.value)
    assert "no-such-opus-mt-vi-en" in message and "translate.model" in message
    with pytest.raises(ModelUnavailableError, match="not a complete seq2seq model"):
        load_ct2_translator(str(tmp_path), cache_dir=tmp_path / "cache")


def test_unconvertible_model_is_reported(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"model_type": "marian"}', encoding="utf-8")
    with pytest.raises(ModelUnavailableError, match="cannot be converted to CTranslate2"):
        load_ct2_translator(str(tmp_path), cache_dir=tmp_path / "cache")
    assert not any((tmp_path / "cache").iterdir())  # no half-written folder left behind


def test_translate_stage_with_the_ctranslate2_backend(make_job, tiny_marian: Path) -> None:
    job = make_job(translate={"enabled": True, "model": str(tiny_marian),
                              "backend": "ctranslate2", "max_length": 32})
    sentences = run_job(job).tables["sentences"]
    vietnamese = sentences[sentences["lang"] == "vi"]
    assert len(vietnamese) == 14
    assert (vietnamese["text_en"].str.len() > 0).all()
    assert set(vietnamese["translation_model"]) == {str(tiny_marian)}
    english = sentences[sentences["lang"] == "en"]
    assert (english["text_en"] == english["text"]).all()


def test_backend_and_compute_type_change_the_stage_key(make_job, tiny_marian: Path) -> None:
    from pipeline.stages.translate import Translate

    base = {"enabled": True, "model": str(tiny_marian)}
    keys = {
        Translate(make_job(translate={**base, **extra})).cache_key({"sentences": "x"})
        for extra in ({}, {"backend": "ctranslate2"},
                      {"backend": "ctranslate2", "compute_type": "float32"})
    }
    assert len(keys) == 3
