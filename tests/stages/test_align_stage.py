"""The stories and align stages on synthetic tables: stories from links, translations aligned in
order, comparable news mined, and a job with no pairs that says why."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.base import StageContext
from pipeline.config import parse_config
from pipeline.stages.align import Align
from pipeline.stages.stories import Stories

DIM = 48


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def tables(docs: dict[str, tuple[np.ndarray, str, str, str | None]]):
    """doc id → (sentence vectors, outlet, language, date) as the stage's input tables."""
    documents = pd.DataFrame([{"doc_id": d, "outlet": o, "lang": lang, "date": date}
                              for d, (_, o, lang, date) in docs.items()])
    rows = [{"sent_id": f"{d}:{n}", "doc_id": d, "text": f"{d} sentence {n} " + "x" * (20 + n),
             "text_en": None, "vector": v}
            for d, (vectors, *_) in docs.items() for n, v in enumerate(vectors)]
    sentences = pd.DataFrame(rows)
    embeddings = pd.DataFrame({"sent_id": sentences["sent_id"],
                               "embedding": [v.astype(np.float32) for v in sentences["vector"]]})
    return {"documents": documents, "sentences": sentences.drop(columns="vector"),
            "embeddings": embeddings}


def both(job, inputs) -> tuple:
    """stories, then align on its output: (alignments, stats of both stages)."""
    context = StageContext(job=job)
    found = Stories(job).run(inputs, context)
    out = Align(job).run({**inputs, **found}, context)["alignments"]
    return out, context.stats


def run(docs, **align):
    job = parse_config({"job": "t", "inputs": ["x"],
                        "align": {"lexical_weight": 0.0, "embed_runs": "none", **align}})
    return both(job, tables(docs))


def story(rng, size=12, noise=0.08, shuffle=True):
    original = unit(rng.normal(size=(size, DIM)))
    order = rng.permutation(size) if shuffle else np.arange(size)
    return original, unit(original[order] + noise * rng.normal(size=(size, DIM)))


def test_two_stories_are_never_aligned_with_each_other() -> None:
    rng = np.random.default_rng(0)
    (a1, b1), (a2, b2) = story(rng), story(rng)
    docs = {"s1-a": (a1, "A", "en", None), "s1-b": (b1, "B", "en", None),
            "s2-a": (a2, "A", "en", None), "s2-b": (b2, "B", "en", None)}
    out, stats = run(docs)
    assert stats["document_pairs"] == 2 and stats["comparable_pairs"] == 2
    assert set(zip(out["doc_a"], out["doc_b"], strict=True)) == {("s1-a", "s1-b"),
                                                                  ("s2-a", "s2-b")}
    assert len(out) >= 20


def test_a_translation_is_aligned_in_order_with_its_gaps() -> None:
    rng = np.random.default_rng(1)
    source, target = story(rng, size=20, shuffle=False)
    target = np.delete(target, 7, axis=0)  # the translator left sentence 7 out
    docs = {"a-src": (source, "A", "vi", "2024-10-11"),
            "b-dst": (target, "B", "en", "2024-10-12")}
    out, stats = run(docs, pairs="cross_language")
    assert stats["parallel_pairs"] == 1
    assert "1-0" in set(out["kind"])
    unaligned = out[out["kind"] == "1-0"]
    assert list(unaligned["sent_ids_a"].iloc[0]) == ["a-src:7"] and not len(
        unaligned["sent_ids_b"].iloc[0])
    ones = out[out["kind"] == "1-1"]
    assert len(ones) == 19
    comparable, stats = run(docs, pairs="cross_language", mode="comparable")
    assert stats["comparable_pairs"] == 1 and "1-0" not in set(comparable["kind"])


def test_dates_outside_the_window_and_unreadable_dates() -> None:
    rng = np.random.default_rng(2)
    a, b = story(rng)
    far = {"x": (a, "A", "en", "2024-01-01"), "y": (b, "B", "en", "2024-03-01")}
    out, stats = run(far, date_window_days=7)
    assert out.empty and "0 pairs" in stats["notice"]
    unreadable = {"x": (a, "A", "en", "yesterday"), "y": (b, "B", "en", "2024-03-01")}
    out, _ = run(unreadable, date_window_days=7)  # an unreadable date counts as undated
    assert len(out) >= 10


def test_no_pairs_says_why() -> None:
    rng = np.random.default_rng(3)
    a, b = story(rng)
    out, stats = run({"x": (a, "A", "en", None), "y": (b, "B", "en", None)},
                     pairs="cross_language")
    assert out.empty
    assert "cross_language" in stats["notice"] and "en" in stats["notice"]
    out, stats = run({"x": (a, "A", "en", None), "y": (b, "A", "en", None)})
    assert out.empty and "same outlet" in stats["notice"]


def test_parallel_pairs_embed_their_sentence_runs(tmp_path) -> None:
    """Runs of consecutive sentences are embedded with the job's embedder (here the model-free
    hashing backend, whose vectors mean nothing next to the planted ones: only the plumbing is
    checked) and the alignment still covers both documents in order."""
    rng = np.random.default_rng(4)
    source, target = story(rng, size=16, shuffle=False)
    docs = {"a-src": (source, "A", "vi", None), "b-dst": (target, "B", "en", None)}
    job = parse_config({"job": "t", "inputs": ["x"],
                        "embed": {"backend": "hashing", "hashing_dim": DIM,
                                  "cache_dir": str(tmp_path)},
                        "align": {"lexical_weight": 0.0, "pairs": "cross_language"}})
    with_runs, stats = both(job, tables(docs))
    assert stats["parallel_pairs"] == 1
    assert stats["runs_embedded"] == 2 * sum(16 - size + 1 for size in (2, 3, 4))
    averaged = parse_config({**job.model_dump(mode="json"),
                             "align": {**job.align.model_dump(), "embed_runs": "none"}})
    without, _ = both(averaged, tables(docs))
    assert (without["kind"] == "1-1").sum() == 16
    flat = [i for ids in with_runs["sent_ids_a"] for i in ids]
    assert flat == [f"a-src:{n}" for n in range(16)]
    inputs = dict.fromkeys(Align.reads, "same inputs")
    assert Align(job).cache_key(inputs) != Align(averaged).cache_key(inputs)


def test_align_on_shards_of_document_pairs_writes_the_same_table(make_job, tmp_path) -> None:
    from pipeline.runner import run_job

    whole = run_job(make_job(tmp_path / "whole"))
    sharded = run_job(make_job(tmp_path / "sharded", executor={"shard_documents": 2}))
    report = next(r for r in sharded.reports if r.name == "align")
    assert report.stats["shards"] == -(-len(whole.tables["document_pairs"]) // 2) > 1
    pd.testing.assert_frame_equal(whole.tables["alignments"], sharded.tables["alignments"])
    assert (tmp_path / "whole" / "alignments.parquet").read_bytes() == (
        tmp_path / "sharded" / "alignments.parquet").read_bytes()
