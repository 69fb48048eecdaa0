"""``trace``/``format_trace``: a query against a finished job's quotes and clusters.

The job is the seed corpus run with the tiny random model (``trace.min_similarity`` 0.9999, so
only a quote's own text matches: the tiny model's similarities mean nothing); its quotes are the
hand-made seed quotes and its clusters come from the trace stage over hand-made alignments.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipeline.base import StageContext
from pipeline.config import parse_config
from pipeline.data import CLUSTERS, QUOTES
from pipeline.errors import InputError
from pipeline.io import write_json_atomic, write_parquet_atomic
from pipeline.jobfolder import sha256_file
from pipeline.runner import run_job
from pipeline.stages.trace import Trace
from pipeline.trace_query import SPEAKER_BONUS, format_trace, trace
from tests.conftest import SEED_FILES, job_data
from tests.trace_fixtures import DW, KYIV, PUTIN, TRT, VI, build_quotes

PUTIN_VI = ("Chúng tôi đang tích cực hợp tác trên trường quốc tế và đánh giá của chúng tôi về các "
            "sự kiện hiện tại trên thế giới thường rất gần gũi.")
UNRELATED = "The weather in Hanoi was sunny on Tuesday."


@pytest.fixture(scope="module")
def job_dir(tiny_st_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("trace-query") / "job"
    job = parse_config(job_data(output, tiny_st_dir, trace={"min_similarity": 0.9999},
                                attribute={"speaker_languages": {PUTIN: "ru"}}))
    tables = dict(run_job(job).tables)
    raw = {path.stem: path.read_text(encoding="utf-8") for path in SEED_FILES}
    quotes = build_quotes(tables["sentences"], raw)
    links = pd.DataFrame({
        "sent_ids_a": [[f"{TRT}:0005"], [f"{TRT}:0005"], [f"{DW}:0009"]],
        "sent_ids_b": [[f"{KYIV}:0003"], [f"{VI}:0006"], [f"{KYIV}:0003"]],
    })
    job = parse_config(job_data(output, tiny_st_dir, trace={"min_similarity": 0.9999,
                                                            "aligned_min_similarity": -1.01},
                                attribute={"speaker_languages": {PUTIN: "ru"}}))
    clusters = Trace(job).run({**tables, "quotes": quotes, "alignments": links},
                              StageContext(job=job))["clusters"]
    write_parquet_atomic(output / "quotes.parquet", quotes, QUOTES)
    write_parquet_atomic(output / "clusters.parquet", clusters, CLUSTERS)
    # The tables were replaced by hand: record them in the manifest, as a run would.
    manifest = json.loads((output / "manifest.json").read_text(encoding="utf-8"))
    for name in ("quotes.parquet", "clusters.parquet"):
        manifest["files"][name] = sha256_file(output / name)
    write_json_atomic(output / "manifest.json", manifest)
    return output


def test_quote_traces_to_its_cluster(job_dir: Path) -> None:
    result = trace(job_dir, PUTIN_VI)
    assert result["query"] == PUTIN_VI and result["matches"]
    best: dict[str, Any] = result["matches"][0]
    assert best["speaker"] == PUTIN and best["score"] == pytest.approx(1.0, abs=1e-4)
    assert best["origin_in_corpus"] is False and best["origin_doc"] is None  # Putin speaks ru
    assert best["cited_sources"] == ["TASS"]  # DW's indirect rendition cites Tass
    # DW and the Kyiv outlet are both dated 2024-10-11 (from their text); the id breaks the tie.
    assert best["earliest"] == {"doc_id": DW, "outlet": "DW", "date": "2024-10-11"}
    # Putin speaks Russian: every rendition in the corpus is someone's translation.
    assert all(r["is_translation"] is True for r in best["renditions"])
    docs = {r["doc_id"] for r in best["renditions"]}
    assert {TRT, KYIV, VI, DW} <= docs
    first = best["renditions"][0]
    assert first["doc_id"] == VI and first["lang"] == "vi" and first["text"] == PUTIN_VI
    raw = {path.stem: path.read_text(encoding="utf-8") for path in SEED_FILES}
    for rendition in best["renditions"]:
        assert set(rendition) >= {"doc_id", "outlet", "lang", "text", "direct", "similarity",
                                  "sent_ids", "char_start", "char_end", "position"}
        assert raw[rendition["doc_id"]][rendition["char_start"]:rendition["char_end"]] \
            == rendition["text"]
        idx, count = rendition["position"]
        assert 0 <= idx < count
    outlets = {r["doc_id"]: r["outlet"] for r in best["renditions"]}
    assert outlets[TRT] == "TRT World" and outlets[VI] is None

    text = format_trace(result)
    assert PUTIN in text
    assert "original (ru) not in the corpus; closest to source: renditions citing TASS" in text
    assert "TRT World [en, direct, translated]" in text and "sentence 6 of" in text
    assert "[-current] events" in text  # Kyiv's wording against TRT's, word by word


@pytest.mark.parametrize("framed", [f"Putin said {PUTIN_VI}", f"Theo ông Putin, {PUTIN_VI}",
                                    f"Tổng thống Putin nói rằng “{PUTIN_VI}”"])
def test_framed_query_finds_its_contents_cluster(job_dir: Path, framed: str) -> None:
    plain = trace(job_dir, PUTIN_VI)
    result = trace(job_dir, framed)
    assert result["content"] == PUTIN_VI and result["speaker"] == PUTIN
    assert result["speaker_mention"] in {"Putin", "ông Putin", "Tổng thống Putin"}
    best = result["matches"][0]
    assert best["cluster_id"] == plain["matches"][0]["cluster_id"]
    assert best["score"] == pytest.approx(1.0, abs=1e-4) and best["speaker_match"] is True
    assert plain["matches"][0]["speaker_match"] is None  # the plain query names nobody
    # The bonus widens the threshold for the named speaker only, and the answer says so.
    assert result["threshold"] == 0.9999
    assert result["speaker_threshold"] == pytest.approx(0.9999 - SPEAKER_BONUS)
    assert plain["speaker_threshold"] is None
    assert "speaker: Putin = Vladimir Putin" in format_trace(trace(job_dir, f"Putin said "
                                                                            f"{PUTIN_VI}"))


def test_other_named_speaker_gets_no_bonus(job_dir: Path) -> None:
    result = trace(job_dir, f"Pezeshkian said {PUTIN_VI}", top_k=10)
    assert result["speaker"] == "Masoud Pezeshkian"
    matches = result["matches"]
    assert any(m["speaker"] == PUTIN and m["speaker_match"] is False for m in matches)
    for m in matches:  # only Pezeshkian's clusters pass at the widened threshold
        assert m["speaker_match"] is (m["speaker"] == "Masoud Pezeshkian")
        assert m["score"] >= (result["speaker_threshold"] if m["speaker_match"] else 0.9999)


def test_top_k_and_threshold(job_dir: Path) -> None:
    assert len(trace(job_dir, PUTIN_VI, top_k=1)["matches"]) == 1
    assert all(m["score"] >= 0.9999 for m in trace(job_dir, PUTIN_VI, top_k=10)["matches"])


def test_unquoted_text_gets_no_match(job_dir: Path) -> None:
    result = trace(job_dir, UNRELATED)
    assert result["matches"] == []
    assert "nothing in the corpus quotes this text" in result["message"]
    assert "nothing in the corpus quotes this text" in format_trace(result)
    cached = Path(os.environ["QUOTETRACE_CACHE_DIR"]) / "embeddings"
    assert any(cached.rglob("part-*.parquet"))  # the query went through the shared cache


def test_missing_outputs_are_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="quotetrace run"):
        trace(tmp_path, PUTIN_VI)
