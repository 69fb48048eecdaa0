"""The ONNX Runtime embed backend: same vectors as sentence-transformers, order kept, own cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from pipeline.models.embedder import Embedder
from pipeline.models.onnx_embedding import OnnxEncoder
from tests.tiny_models import generate_corpus

ROOT = Path(__file__).resolve().parents[2]
E5 = ROOT / "models" / "multilingual-e5-small"
VI = "Tổng thống Putin nhấn mạnh sự tương đồng trong quan điểm giữa hai nước."
TEXTS = [VI, "short", *generate_corpus(40, seed=3), "Putin met Pezeshkian in Moscow on Friday."]


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


def reference(model_dir: Path, texts: list[str]) -> np.ndarray:
    from pipeline.models.embedding import load_sentence_transformer

    model = load_sentence_transformer(str(model_dir))
    return model.encode(texts, prompt_name="query", batch_size=8, normalize_embeddings=True,
                        convert_to_numpy=True, show_progress_bar=False)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_fp32_export_matches_sentence_transformers(tiny_st_dir: Path, onnx_cache: Path) -> None:
    encoder = OnnxEncoder(tiny_st_dir, onnx_cache, precision="fp32")
    assert encoder.prompts["query"] == "query: " and encoder.prompts["passage"] == "passage: "
    ours = encoder.encode(TEXTS, prompt_name="query", batch_size=8)
    assert ours.shape == (len(TEXTS), 32)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert cosines(ours, reference(tiny_st_dir, TEXTS)).min() >= 0.9999


def test_int8_is_close_and_keeps_order(tiny_st_dir: Path, onnx_cache: Path) -> None:
    encoder = OnnxEncoder(tiny_st_dir, onnx_cache, precision="int8")
    assert encoder.onnx_path.name.startswith("model_int8")
    assert not list(onnx_cache.rglob(".tmp-*"))  # the export's temp folder is gone
    ours = encoder.encode(TEXTS, prompt_name="query", batch_size=8)
    # A random hidden-32 model quantises worse than a trained one (see the e5 test: ≥ 0.99).
    assert cosines(ours, reference(tiny_st_dir, TEXTS)).min() >= 0.95
    single = np.stack([encoder.encode([t], prompt_name="query")[0] for t in TEXTS[:6]])
    np.testing.assert_allclose(ours[:6], single, atol=1e-3)
    reversed_ = encoder.encode(TEXTS[::-1], prompt_name="query", batch_size=8)[::-1]
    np.testing.assert_allclose(ours, reversed_, atol=1e-3)
    # A second encoder reuses the cached graph (no new export).
    again = OnnxEncoder(tiny_st_dir, onnx_cache, precision="int8")
    assert again.onnx_path == encoder.onnx_path
    assert len(list(onnx_cache.rglob("*.onnx"))) == 2


def test_backend_is_part_of_the_cache_identity(tiny_st_dir: Path, tmp_path: Path) -> None:
    torch_embedder = Embedder(str(tiny_st_dir), "query", 8, tmp_path)
    onnx_embedder = Embedder(str(tiny_st_dir), "query", 8, tmp_path, backend="onnx-int8")
    assert torch_embedder.identity != onnx_embedder.identity
    assert torch_embedder.cache.folder != onnx_embedder.cache.folder
    from_torch = torch_embedder.embed([VI, "short"])
    from_onnx = onnx_embedder.embed([VI, "short"])
    assert onnx_embedder.computed == 2  # torch's cached vectors are not reused
    assert type(onnx_embedder.model).__name__ == "OnnxEncoder"
    assert cosines(from_torch, from_onnx).min() >= 0.95
    reopened = Embedder(str(tiny_st_dir), "query", 8, tmp_path, backend="onnx-int8")
    np.testing.assert_array_equal(reopened.embed(["short", VI]), from_onnx[[1, 0]])
    assert reopened.computed == 0


@pytest.mark.slow  # ~20 s: exports and quantises the real model
@pytest.mark.skipif(not (E5 / "model.safetensors").is_file(),
                    reason="models/multilingual-e5-small is not built")
def test_e5_int8_cosine(tmp_path: Path) -> None:
    texts = TEXTS[:16]
    ours = OnnxEncoder(E5, tmp_path, precision="int8").encode(texts, prompt_name="query")
    assert cosines(ours, reference(E5, texts)).min() >= 0.99
