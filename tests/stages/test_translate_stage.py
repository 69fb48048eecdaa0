"""The translate stage end to end through the runner, on a tiny random MarianMT built here."""

from __future__ import annotations

import logging

from pipeline.runner import run_job


def test_vietnamese_sentences_are_translated_and_the_model_recorded(make_job, tiny_marian):
    job = make_job(translate={"enabled": True, "model": str(tiny_marian), "max_length": 32})
    sentences = run_job(job).tables["sentences"]
    vietnamese = sentences[sentences["lang"] == "vi"]
    english = sentences[sentences["lang"] == "en"]
    assert len(vietnamese) == 14
    assert (vietnamese["text_en"].str.len() > 0).all()
    assert (vietnamese["text_en"] != vietnamese["text"]).all()
    assert set(vietnamese["translation_model"]) == {str(tiny_marian)}
    assert (english["text_en"] == english["text"]).all()
    assert set(english["translation_model"]) == {""}


def test_translation_is_deterministic_and_cached(make_job, tiny_marian, tmp_path):
    config = {"enabled": True, "model": str(tiny_marian), "max_length": 32}
    first = run_job(make_job(tmp_path / "a", translate=config))
    second = run_job(make_job(tmp_path / "b", translate=config))
    assert (tmp_path / "a" / "sentences.parquet").read_bytes() == (
        tmp_path / "b" / "sentences.parquet").read_bytes()
    rerun = run_job(make_job(tmp_path / "a", translate=config))
    assert [r.name for r in rerun.reports if r.cached] == [
        "clean", "segment", "detect", "translate", "embed", "stories", "align", "quotes",
        "attribute", "trace"]
    assert first.summary()["translated"] == second.summary()["translated"] == 14


def test_missing_model_warns_and_the_job_still_aligns(make_job, caplog):
    job = make_job(translate={"enabled": True, "model": "no-such-org/no-such-model"})
    with caplog.at_level(logging.WARNING, logger="quotetrace"):
        result = run_job(job)
    assert "no-such-org/no-such-model" in caplog.text
    sentences = result.tables["sentences"]
    assert (sentences.loc[sentences["lang"] == "vi", "text_en"] == "").all()
    assert result.summary()["translated"] == 0
    assert (job.output_dir / "alignments.parquet").exists()


def test_model_loads_once_for_all_shards(make_job, tiny_marian, monkeypatch):
    import pipeline.models.translation as translation
    from pipeline.stages import translate

    loads: list[str] = []
    real_load = translation.load_translator

    def counting_load(path, **options):
        loads.append(path)
        return real_load(path, **options)

    monkeypatch.setattr(translation, "load_translator", counting_load)
    monkeypatch.setattr(translate, "_LOADED", {})
    job = make_job(translate={"enabled": True, "model": str(tiny_marian), "max_length": 32},
                   executor={"shard_documents": 1})
    result = run_job(job)
    stats = next(r.stats for r in result.reports if r.name == "translate")
    assert stats["shards"] == 5 and stats["translated"] == 14
    assert loads == [str(tiny_marian)]
