"""The embed stage: the (model, prompt, text) cache, NFC input, order, optional translations."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np

from pipeline.models.embedder import Embedder

VI = "Tổng thống Putin nhấn mạnh sự tương đồng trong quan điểm giữa hai nước."


def test_vectors_are_unit_length_and_in_input_order(tiny_st_dir: Path, tmp_path: Path) -> None:
    embedder = Embedder(str(tiny_st_dir), "query", 8, tmp_path)
    texts = ["short", VI, "a somewhat longer English sentence about the meeting"]
    vectors = embedder.embed(texts)
    assert vectors.shape[0] == 3
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    single = [embedder.embed([t])[0] for t in texts]
    np.testing.assert_allclose(vectors, np.stack(single), atol=1e-6)


def test_cache_is_shared_and_never_recomputes(tiny_st_dir: Path, tmp_path: Path) -> None:
    first = Embedder(str(tiny_st_dir), "query", 8, tmp_path)
    vectors = first.embed([VI, "Putin met Pezeshkian.", VI])
    assert first.computed == 2  # the duplicate is embedded once
    second = Embedder(str(tiny_st_dir), "query", 8, tmp_path)  # a new job, same cache folder
    again = second.embed(["Putin met Pezeshkian.", VI])
    assert second.computed == 0
    np.testing.assert_array_equal(again, vectors[[1, 0]])


def test_prompt_is_part_of_the_key(tiny_st_dir: Path, tmp_path: Path) -> None:
    query = Embedder(str(tiny_st_dir), "query", 8, tmp_path).embed([VI])
    passage = Embedder(str(tiny_st_dir), "passage", 8, tmp_path)
    vector = passage.embed([VI])
    assert passage.computed == 1
    assert not np.allclose(query, vector)


def test_decomposed_text_gets_the_composed_vector(tiny_st_dir: Path, tmp_path: Path) -> None:
    embedder = Embedder(str(tiny_st_dir), "query", 8, tmp_path)
    composed = embedder.embed([VI])
    decomposed = embedder.embed([unicodedata.normalize("NFD", VI)])
    np.testing.assert_array_equal(composed, decomposed)
    assert embedder.computed == 1


def test_stage_embeds_translations_when_asked(make_job) -> None:
    from pipeline.runner import run_job

    result = run_job(make_job(embed={"embed_translation": True}))
    embeddings = result.tables["embeddings"]
    assert list(embeddings.columns) == ["sent_id", "embedding", "embedding_en"]
    assert len(embeddings) == len(result.tables["sentences"])


def test_hashing_backend_is_deterministic_and_model_free(tmp_path: Path) -> None:
    first = Embedder("no-such/model", "query", 8, tmp_path / "a", backend="hashing",
                     hashing_dim=256)
    second = Embedder("another/model", None, 8, tmp_path / "b", backend="hashing",
                      hashing_dim=256)
    texts = ["Putin met Pezeshkian in Ashgabat.", "Putin met Pezeshkian in Ashgabat on Friday.",
             "The weather was sunny.", ""]
    vectors = first.embed(texts)
    np.testing.assert_array_equal(vectors, second.embed(texts))  # no model, no state
    assert vectors.shape == (4, 256)
    np.testing.assert_allclose(np.linalg.norm(vectors[:3], axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > 0.7 > vectors[0] @ vectors[2]
    assert first.identity == "hashing-v1:256" != Embedder(
        "m", None, 8, tmp_path, backend="hashing", hashing_dim=512).identity


def test_hashing_backend_runs_the_whole_job(make_job) -> None:
    from pipeline.runner import run_job

    result = run_job(make_job(embed={"backend": "hashing", "model": "unused/model",
                                     "hashing_dim": 512}))
    vectors = np.stack(result.tables["embeddings"]["embedding"].to_numpy())
    assert vectors.shape == (len(result.tables["sentences"]), 512)
    assert len(result.tables["clusters"]) > 0
