"""``summary``/``document_view``/``pair_view`` and their formatters on a seed job's outputs.

The job is the seed corpus run once per module with the tiny random model, the alignment
thresholds loosened (margin 1.0) so that the random model still aligns the Vietnamese article
with the English ones; the tests check the views against the job's own tables.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipeline.config import parse_config
from pipeline.errors import InputError
from pipeline.inspect_outputs import (
    document_view,
    format_document,
    format_pair,
    format_summary,
    pair_view,
    summary,
)
from pipeline.runner import run_job
from tests.conftest import SEED_IDS, job_data

VI = "003_9bed0cba9f35e0be"
DW = "000_e58e8371168de39d"
LOOSE_ALIGN = {"min_margin": 1.0, "one_sided_margin": 1.0}


@pytest.fixture(scope="module")
def job_dir(tiny_st_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("inspect") / "job"
    run_job(parse_config(job_data(output, tiny_st_dir, align=LOOSE_ALIGN)))
    return output


def table(job_dir: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(job_dir / f"{name}.parquet")


def test_summary_lists_documents_pairs_and_clusters(job_dir: Path) -> None:
    d = summary(job_dir)
    json.dumps(d)  # plain data for --json
    assert d == summary(job_dir)  # deterministic
    sentences, alignments = table(job_dir, "sentences"), table(job_dir, "alignments")
    clusters = table(job_dir, "clusters")
    assert [doc["doc_id"] for doc in d["documents"]] == SEED_IDS
    assert len(d["documents"]) == d["totals"]["documents"] == 5
    by_id = {doc["doc_id"]: doc for doc in d["documents"]}
    assert by_id[DW]["outlet"] == "DW" and by_id[DW]["date"] == "2024-10-11"
    assert by_id[VI]["lang"] == "vi" and by_id[VI]["outlet"] is None
    assert sum(doc["sentences"] for doc in d["documents"]) == len(sentences)
    assert d["sentences_by_lang"] == {"en": 88, "vi": 14}
    assert d["translations"] == {"translated": 0, "by_model": {},
                                 "untranslated_non_english": 14}  # translation is off

    assert d["totals"]["alignments"] == len(alignments) > 0
    assert sum(p["pairs"] for p in d["pairs"]) == len(alignments)
    keys = [(p["doc_a"], p["doc_b"]) for p in d["pairs"]]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    for p in d["pairs"]:
        rows = alignments[(alignments["doc_a"] == p["doc_a"]) & (alignments["doc_b"] == p["doc_b"])]
        assert p["pairs"] == len(rows) == sum(p["kinds"].values())
        assert p["mean_score"] == pytest.approx(rows["score"].mean(), abs=1e-4)
    assert any({p["lang_a"], p["lang_b"]} == {"en", "vi"} for p in d["pairs"])

    assert len(d["clusters"]) == d["totals"]["clusters"] == len(clusters)
    order = [(-c["docs"], -c["quotes"], c["cluster_id"]) for c in d["clusters"]]
    assert order == sorted(order)
    for c in d["clusters"]:
        row = clusters[clusters["cluster_id"] == c["cluster_id"]].iloc[0]
        assert c["docs"] == len(set(row["docs"])) and c["quotes"] == len(row["quote_ids"])
    assert any(c["speaker"] == "Vladimir Putin" and c["docs"] > 1 for c in d["clusters"])

    text = format_summary(d)
    assert all(doc_id in text for doc_id in SEED_IDS)
    assert "aligned pairs per document pair" in text and "Vladimir Putin" in text
    assert "\x1b[" not in text  # no colour codes
    short = format_summary(d, limit=1)
    assert d["clusters"][0]["cluster_id"] in short
    assert d["clusters"][-1]["cluster_id"] not in short
    assert f"{len(d['clusters']) - 1} more clusters" in short


def test_document_view_shows_sentences_and_counterparts(job_dir: Path) -> None:
    sentences, alignments = table(job_dir, "sentences"), table(job_dir, "alignments")
    d = document_view(job_dir, VI)
    json.dumps(d)
    own = sentences[sentences["doc_id"] == VI]
    assert d["doc_id"] == VI and d["lang"] == "vi"
    assert d["sentences_total"] == len(d["sentences"]) == len(own)
    assert [s["sent_id"] for s in d["sentences"]] == own["sent_id"].tolist()
    assert all(s["lang"] in {"vi", "en"} for s in d["sentences"])
    involved = alignments[(alignments["doc_a"] == VI) | (alignments["doc_b"] == VI)]
    expected = sum(len(r.sent_ids_a if r.doc_a == VI else r.sent_ids_b)
                   for r in involved.itertuples())
    assert sum(len(s["aligned"]) for s in d["sentences"]) == expected > 0
    other_text = dict(zip(sentences["sent_id"], sentences["text"], strict=True))
    for s in d["sentences"]:
        for c in s["aligned"]:
            assert c["doc_id"] != VI and s["sent_id"] in c["with"]
            assert c["text"] == " ".join(other_text[x] for x in c["sent_ids"])
            assert c["kind"] in {"1-1", "1-2", "2-1"}
        scores = [c["score"] for c in s["aligned"]]
        assert scores == sorted(scores, reverse=True)

    threshold = float(involved["score"].median())
    filtered = document_view(job_dir, "003", min_score=threshold, limit=5)  # prefix id
    assert filtered["doc_id"] == VI and len(filtered["sentences"]) == 5
    assert filtered["sentences_total"] == len(own)
    kept = [c["score"] for s in filtered["sentences"] for c in s["aligned"]]
    assert all(score >= round(threshold, 4) for score in kept)
    first_five = set(own["sent_id"][:5])
    strong = involved[involved["score"] >= threshold]
    assert len(kept) == sum(len(first_five & set(r.sent_ids_a if r.doc_a == VI else r.sent_ids_b))
                            for r in strong.itertuples())
    assert len(kept) < sum(len(s["aligned"]) for s in d["sentences"][:5])

    text = format_document(d)
    assert VI in text and d["sentences"][0]["text"][:30] in text and "↔" in text


def test_pair_view_either_order(job_dir: Path) -> None:
    alignments = table(job_dir, "alignments")
    rows = alignments[(alignments["doc_a"] == DW) & (alignments["doc_b"] == VI)]
    assert len(rows) > 0
    forward = pair_view(job_dir, DW, VI)
    backward = pair_view(job_dir, VI, DW)
    json.dumps(forward)
    assert forward["left"]["doc_id"] == DW and forward["right"]["doc_id"] == VI
    assert backward["left"]["doc_id"] == VI and backward["right"]["doc_id"] == DW
    assert forward["pairs"] == backward["pairs"] == forward["pairs_total"] == len(rows)
    flip = {"1-2": "2-1", "2-1": "1-2", "1-1": "1-1"}
    back = {(tuple(r["right_sent_ids"]), tuple(r["left_sent_ids"])): r for r in backward["rows"]}
    for r in forward["rows"]:
        assert all(x.startswith(DW) for x in r["left_sent_ids"])
        assert all(x.startswith(VI) for x in r["right_sent_ids"])
        twin = back[(tuple(r["left_sent_ids"]), tuple(r["right_sent_ids"]))]
        assert twin["left_text"] == r["right_text"] and twin["right_text"] == r["left_text"]
        assert twin["kind"] == flip[r["kind"]] and twin["score"] == r["score"]
    firsts = [r["left_sent_ids"][0] for r in forward["rows"]]
    assert firsts == sorted(firsts)  # rows follow the left document

    threshold = float(rows["score"].median())
    filtered = pair_view(job_dir, VI, DW, min_score=threshold, limit=1)
    assert filtered["pairs"] == int((rows["score"] >= threshold).sum())
    assert len(filtered["rows"]) == 1 and filtered["rows"][0]["score"] >= round(threshold, 4)
    strong = rows[rows["score"] >= threshold]["score"]
    assert filtered["mean_score"] == pytest.approx(strong.mean(), abs=1e-3)  # all, not shown

    text = format_pair(forward)
    assert DW in text and VI in text and forward["rows"][0]["left_text"][:20] in text


def test_unknown_or_missing_inputs_are_clear_errors(job_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown document id 'nope'") as error:
        document_view(job_dir, "nope")
    assert all(doc_id in str(error.value) for doc_id in SEED_IDS)
    with pytest.raises(InputError, match="unknown document id"):
        pair_view(job_dir, DW, "999")
    with pytest.raises(InputError, match="ambiguous"):
        document_view(job_dir, "00")
    with pytest.raises(InputError, match="two different documents"):
        pair_view(job_dir, VI, "003")
    with pytest.raises(InputError, match="quotetrace run CONFIG"):
        summary(tmp_path / "missing")
    partial = tmp_path / "partial"
    shutil.copytree(job_dir, partial)
    (partial / "alignments.parquet").unlink()
    with pytest.raises(InputError, match=r"alignments\.parquet.*quotetrace run CONFIG"):
        summary(partial)
    with pytest.raises(InputError, match=r"alignments\.parquet"):
        pair_view(partial, DW, VI)
