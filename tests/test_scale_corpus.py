"""The scale benchmark's corpus builder (benchmarks/scale_corpus.py) and its driver's helpers.

Corpora are built from the seed articles only (``corpora=None``), so nothing here needs
../shared/corpora; one test also checks the full build when that folder is present.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # scale.py imports scale_corpus by name
    spec.loader.exec_module(module)
    return module


scale_corpus = _load("scale_corpus")


def build(out: Path, documents: int, seed: int = 0, **kwargs: Any) -> dict[str, Any]:
    return scale_corpus.build_corpus(out, documents, seed, corpora=None, **kwargs)


def records(folder: Path) -> list[dict[str, Any]]:
    rows = []
    for path in sorted((folder / "docs").glob("*.jsonl")):
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return rows


def metadata(folder: Path) -> list[dict[str, str]]:
    with (folder / "metadata.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_builds_are_byte_identical_and_follow_the_seed(tmp_path: Path) -> None:
    build(tmp_path / "a", 400, per_file=150)
    build(tmp_path / "b", 400, per_file=150)
    build(tmp_path / "c", 400, seed=1, per_file=150)
    first = files(tmp_path / "a")
    assert first == files(tmp_path / "b")
    assert first["docs/part-00000.jsonl"] != files(tmp_path / "c")["docs/part-00000.jsonl"]
    # Replaced atomically: no staging folder is left beside the corpus.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "c"]


def test_requested_documents_files_and_summary(tmp_path: Path) -> None:
    summary = build(tmp_path / "corpus", 333, per_file=100)
    rows = records(tmp_path / "corpus")
    assert len(rows) == 333 == summary["documents"]
    assert len({row["id"] for row in rows}) == 333
    assert summary["files"] == [f"docs/part-{i:05d}.jsonl" for i in range(4)]
    assert all(len(path.read_text().splitlines()) <= 100
               for path in (tmp_path / "corpus" / "docs").glob("*.jsonl"))
    assert [row["doc_id"] for row in metadata(tmp_path / "corpus")] == [row["id"] for row in rows]
    on_disk = json.loads((tmp_path / "corpus" / "corpus.json").read_text())
    assert on_disk == json.loads(json.dumps(summary))
    assert on_disk["seed"] == 0 and on_disk["shared_corpora"] is False
    assert on_disk["sources"]["seeds"]["documents"] == 333
    assert on_disk["languages"]["en"] + on_disk["languages"]["vi"] == 333
    # Sentence counts stay in the 8-25 window (minus drops), so 100k documents ≈ 1.5M sentences.
    assert 3 <= summary["sentences"] / 333 <= 25


def test_text_is_real_and_perturbed(tmp_path: Path, seed_texts: dict[str, str]) -> None:
    build(tmp_path / "corpus", 200)
    rows = records(tmp_path / "corpus")
    assert len({row["text"] for row in rows}) >= 190  # replicas differ, not exact copies
    seed_words = {w for text in seed_texts.values() for w in text.split()}
    for row in rows[:50]:
        assert set(row["text"].split()) <= seed_words  # only real seed text, rearranged
        assert "Skip to" not in row["text"]
    assert any("\n\n" in row["text"] for row in rows)  # sentences merged into paragraphs


def test_languages_and_outlets(tmp_path: Path) -> None:
    build(tmp_path / "corpus", 300)
    rows = metadata(tmp_path / "corpus")
    vietnamese_outlets = set(scale_corpus.OUTLETS_VI)
    for row in rows:
        assert row["lang"] == ("vi" if row["source"].startswith("seeds:003_") else "en")
        assert (row["outlet"] in vietnamese_outlets) == (row["lang"] == "vi")
    stories: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        stories.setdefault(row["story"], []).append(row)
    # Stories are cross-lingual and each outlet appears once per story.
    assert any({r["lang"] for r in story} == {"en", "vi"} for story in stories.values())
    assert all(len({r["outlet"] for r in story}) == len(story) for story in stories.values())
    assert len(set(scale_corpus.OUTLETS)) == 40


def test_dates_keep_stories_apart(tmp_path: Path) -> None:
    build(tmp_path / "corpus", 500)
    rows = sorted(metadata(tmp_path / "corpus"),
                  key=lambda r: (r["date"], r["doc_id"]))
    day = [dt.date.fromisoformat(r["date"]) for r in rows]
    for story in {r["story"] for r in rows}:
        dates = [d for d, r in zip(day, rows, strict=True) if r["story"] == story]
        assert (max(dates) - min(dates)).days <= 2 * scale_corpus.DATE_JITTER
    # Seeds only: one source, so every pair of documents within a 7-day window is one story.
    for i, row in enumerate(rows):
        j = i + 1
        while j < len(rows) and (day[j] - day[i]).days <= 7:
            assert rows[j]["story"] == row["story"], (row, rows[j])
            j += 1


def test_missing_shared_corpora_falls_back_to_seeds(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code = scale_corpus.main(["--documents", "20", "--out", str(tmp_path / "corpus"),
                              "--corpora", str(tmp_path / "absent")])
    assert code == 0
    captured = capsys.readouterr()
    assert "seed articles only" in captured.err
    summary = json.loads(captured.out)
    assert summary["documents"] == 20 and list(summary["sources"]) == ["seeds"]
    params = scale_corpus.build_params(20, 0, tmp_path / "absent")
    assert scale_corpus.cached_summary(tmp_path / "corpus", params) == summary
    assert scale_corpus.cached_summary(tmp_path / "corpus", {**params, "seed": 1}) is None


def test_split_sentences_keeps_quotes_and_abbreviations() -> None:
    split = scale_corpus.split_sentences
    assert split("Mr. So said it. Then he left.") == ["Mr. So said it.", "Then he left."]
    assert split("He said: “We work. We agree.” Then he left.") == [
        "He said: “We work. We agree.”", "Then he left."]
    assert split("Ông nói: “Chúng tôi. Tốt.” Tổng thống Putin cười.") == [
        "Ông nói: “Chúng tôi. Tốt.”", "Tổng thống Putin cười."]


def test_built_corpus_runs_through_the_pipeline(tmp_path: Path) -> None:
    """configs/scale.yaml on a small build: real ingest (metadata side file), hashing
    embeddings, story neighbours within the date window."""
    from pipeline.config import load_config
    from pipeline.runner import run_job

    corpus = tmp_path / "corpus"
    build(corpus, 24, per_file=10)
    config = Path(__file__).resolve().parents[1] / "configs" / "scale.yaml"
    job = load_config(config, {"inputs": [str(corpus / "docs")], "output": str(tmp_path / "out")},
                      settings=[f"ingest.metadata={corpus / 'metadata.csv'}"])
    assert job.embed.backend == "hashing" and not job.translate.enabled
    result = run_job(job)
    documents = result.tables["documents"].set_index("doc_id")
    side = {row["doc_id"]: row for row in metadata(corpus)}
    assert sorted(documents.index) == sorted(side)
    for doc_id, row in documents.iterrows():
        assert row["outlet"] == side[doc_id]["outlet"]
        assert str(row["date"])[:10] == side[doc_id]["date"]
    detected = (documents["lang"] == [side[d]["lang"] for d in documents.index]).mean()
    assert detected >= 0.9
    pairs = result.tables["alignments"]
    assert len(pairs) > 0
    story = {d: side[d]["story"] for d in side}
    assert all(story[a] == story[b] for a, b in zip(pairs["doc_a"], pairs["doc_b"], strict=True))
    assert result.summary()["sentences"] > 24 * 3


def test_story_support_scores_each_weak_pairs_rule(tmp_path: Path, capsys) -> None:
    """benchmarks/story_support.py on a small build (hashing embeddings): one line per rule,
    and the rules nest (none ⊆ shared ⊆ story)."""
    story_support = _load("story_support")
    corpus = tmp_path / "corpus"
    build(corpus, 24, per_file=10)
    assert story_support.main([str(corpus)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["weak_pairs"] for line in lines] == ["shared", "story", "none"]
    linked = {line["weak_pairs"]: line["linked_pairs"] for line in lines}
    assert 0 < linked["none"] <= linked["shared"] <= linked["story"]
    assert all(line["precision"] == 1.0 and 0 < line["recall"] <= 1 for line in lines)
    assert story_support.main([str(tmp_path / "none")]) == 2


@pytest.mark.skipif(not (scale_corpus.SHARED_CORPORA / "iwslt15_envi_tst2013").is_dir(),
                    reason="../shared/corpora is absent (the seeds-only build is tested above)")
def test_full_build_uses_every_shared_corpus(tmp_path: Path) -> None:
    summary = scale_corpus.build_corpus(tmp_path / "corpus", 2000, 0)
    assert summary["shared_corpora"] is True
    assert set(summary["sources"]) == {"seeds", "iwslt15", "polnear", "mrpc"}
    assert all(source["documents"] > 0 for source in summary["sources"].values())
    rows = metadata(tmp_path / "corpus")
    talks: dict[str, list[str]] = {}
    for row in rows:
        if row["source"].startswith("iwslt15:"):
            talks.setdefault(row["story"], []).append(row["lang"])
    # A talk's story has both renditions (the last story may be cut short).
    assert talks and all(set(langs) == {"en", "vi"} for langs in talks.values() if len(langs) > 1)


def test_driver_helpers(tmp_path: Path) -> None:
    scale = _load("scale")
    assert scale.fitted_exponent([1000, 10_000, 100_000], [2.0, 20.0, 200.0]) == 1.0
    assert scale.fitted_exponent([1000, 10_000], [1.0, 100.0]) == 2.0
    assert scale.fitted_exponent([1000], [1.0]) is None
    jobs = [{"executor": "local", "documents": n, "stage_seconds": n / 100, "seconds": n / 50}
            for n in (1000, 10_000)] + [{"executor": "ray", "documents": 1000, "error": "x"}]
    (growth,) = scale.growth_lines(jobs)
    assert growth["executor"] == "local" and growth["exponent"] == 1.0
    command = scale.job_command(Path("c"), Path("o"), "ray", has_flag=False)
    assert command[-4:-2] == ["--set", "executor.name=ray"]
    assert command[-1] == f"embed.cache_dir={Path('o') / 'embedding-cache'}"  # a cold cache
    assert "--executor" not in scale.job_command(Path("c"), Path("o"), "local", has_flag=False)
    real_model = scale.job_command(Path("c"), Path("o"), "local", has_flag=True,
                                   settings=["embed.backend=torch"])
    assert real_model[-2:] == ["--set", "embed.backend=torch"]
    assert scale.tree_rss_bytes(os.getpid()) > 0
    run_log = tmp_path / "run.log"
    run_log.write_text(
        "2026-01-01 10:00:00,000 INFO job scale (config x): quotetrace run\n"
        '2026-01-01 10:00:01,000 INFO stage ingest: 2.93s {"documents": 10}\n'
        '2026-01-01 10:00:02,000 INFO stage clean: 0.50s (cached) {"cached": true}\n')
    assert scale.logged_stages(run_log) == [
        {"stage": "ingest", "seconds": 2.93, "cached": False, "stats": {"documents": 10}},
        {"stage": "clean", "seconds": 0.5, "cached": True, "stats": {"cached": True}}]
    assert scale.logged_stages(tmp_path / "absent.log") == []
