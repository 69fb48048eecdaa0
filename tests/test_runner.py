"""The runner end to end on the seeds with a tiny embedding model: outputs, cache, resume."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from pipeline.config import parse_config
from pipeline.data import ALIGNMENTS, DOCUMENTS, OUTPUT_TABLES, SENTENCES
from pipeline.errors import InputError, QuotetraceError
from pipeline.runner import STAGE_NAMES, JobResult, run_job
from pipeline.stages.align import Align
from tests.conftest import SEED_IDS, SEEDS, job_data

TABLES = ["documents.parquet", "sentences.parquet", "alignments.parquet", "embeddings.parquet"]
ALL_BUT_INGEST = STAGE_NAMES[1:]


def table_bytes(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in TABLES}


def cached(result: JobResult) -> list[str]:
    return [report.name for report in result.reports if report.cached]


@pytest.fixture(scope="module")
def seeds_run(tiny_st_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> JobResult:
    """One full run of the seed job, shared by the read-only tests below."""
    output = tmp_path_factory.mktemp("seeds-run") / "out"
    return run_job(parse_config(job_data(output, tiny_st_dir)))


def test_outputs_follow_the_contract(seeds_run: JobResult) -> None:
    output = seeds_run.output_dir
    for name in [*TABLES, "manifest.json", "run.log"]:
        assert (output / name).is_file(), name
    for name, (filename, schema) in OUTPUT_TABLES.items():
        written = pq.read_schema(output / filename)
        assert written.names == schema.names, name
        assert [f.type for f in written] == [f.type for f in schema], name
    assert pq.read_schema(output / "embeddings.parquet").names[:2] == ["sent_id", "embedding"]
    assert DOCUMENTS.names[0] == "doc_id" and SENTENCES.names[:2] == ["doc_id", "sent_id"]


def test_documents_table(seeds_run: JobResult) -> None:
    documents = pq.read_table(seeds_run.output_dir / "documents.parquet").to_pandas()
    assert documents["doc_id"].tolist() == SEED_IDS
    by_id = documents.set_index("doc_id")
    assert by_id["lang"].to_dict() == {d: ("vi" if d.startswith("003_") else "en")
                                       for d in SEED_IDS}
    assert by_id.loc["000_e58e8371168de39d", "outlet"] == "DW"
    assert by_id.loc["002_833abf2e5c5bff94", "outlet"] == "TRT World"
    assert by_id.loc["000_e58e8371168de39d", "date"] == "2024-10-11"
    assert by_id.loc["002_833abf2e5c5bff94", "date"] == "2024-10-14"
    assert by_id.loc["004_7ee3f8304d59a0ac", "date"] == "2024-10-11"
    assert by_id.loc["000_e58e8371168de39d", "title"] == (
        "Russia's Putin and Iran's Pezeshkian hail close ties")
    assert "Skip to content" not in by_id.loc["000_e58e8371168de39d", "text_clean"]
    assert all(len(sha) == 64 for sha in documents["sha256"])


def test_sentences_table(seeds_run: JobResult, seed_texts: dict[str, str]) -> None:
    sentences = pq.read_table(seeds_run.output_dir / "sentences.parquet").to_pandas()
    assert sentences["sent_id"].is_unique
    assert set(sentences["doc_id"]) == set(SEED_IDS)
    assert len(sentences) > 90
    vi = sentences["lang"] == "vi"
    assert set(sentences.loc[vi, "doc_id"]) == {"003_9bed0cba9f35e0be"}
    # Translation is off: English sentences are their own English text, Vietnamese have none.
    assert (sentences.loc[~vi, "text_en"] == sentences.loc[~vi, "text"]).all()
    assert (sentences.loc[vi, "text_en"] == "").all()
    assert (sentences["translation_model"] == "").all()
    for row in sentences.itertuples(index=False):
        published = seed_texts[row.doc_id][row.char_start:row.char_end]
        assert " ".join(published.replace("\u00a0", " ").split()) == row.text


def test_alignments_table(seeds_run: JobResult) -> None:
    alignments = pq.read_table(seeds_run.output_dir / "alignments.parquet").to_pandas()
    sentences = pq.read_table(seeds_run.output_dir / "sentences.parquet").to_pandas()
    documents = seeds_run.tables["documents"].set_index("doc_id")
    text_of = dict(zip(sentences["sent_id"], sentences["text"], strict=True))
    assert len(alignments) > 0
    for row in alignments.itertuples(index=False):
        assert row.doc_a < row.doc_b
        outlets = documents.loc[[row.doc_a, row.doc_b], "outlet"].tolist()
        assert outlets[0] != outlets[1] or outlets[0] is None or outlets[0] != outlets[0]
        assert row.kind == f"{len(row.sent_ids_a)}-{len(row.sent_ids_b)}"
        assert row.kind in {"1-1", "1-2", "2-1"}
        assert all(s.startswith(row.doc_a + ":") for s in row.sent_ids_a)
        assert all(s.startswith(row.doc_b + ":") for s in row.sent_ids_b)
        assert row.text_a == " ".join(text_of[s] for s in row.sent_ids_a)
        assert row.text_b == " ".join(text_of[s] for s in row.sent_ids_b)
        assert -1 <= row.score <= 1
    assert list(alignments.columns) == ALIGNMENTS.names


def test_manifest_and_log(seeds_run: JobResult, tiny_st_dir: Path) -> None:
    output = seeds_run.output_dir
    manifest = json.loads((output / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["job"] == "test-seeds"
    assert manifest["config"]["embed"]["model"] == str(tiny_st_dir)
    assert manifest["config_hash"] == parse_config(manifest["config"]).fingerprint()
    assert [s["name"] for s in manifest["stages"]] == STAGE_NAMES
    assert not any(s["cached"] for s in manifest["stages"])
    assert manifest["summary"]["documents"] == 5
    assert manifest["summary"]["sentences"] == len(seeds_run.tables["sentences"])
    assert manifest["summary"]["pairs"] == len(seeds_run.tables["alignments"])
    assert manifest["models"]["embed"] == str(tiny_st_dir)
    assert manifest["models"]["translation_models_used"] == []
    for name in ["python", "pyarrow", "numpy", "blingfire"]:
        assert manifest["packages"][name]
    for name in TABLES:
        assert manifest["files"][name] == hashlib.sha256((output / name).read_bytes()).hexdigest()
    log = (output / "run.log").read_text(encoding="utf-8")
    assert "job test-seeds" in log
    for stage in STAGE_NAMES:
        assert f"stage {stage}:" in log
    assert "done:" in log


def test_rerun_is_cached_and_byte_identical(seeds_run: JobResult, make_job: Callable[..., Any],
                                            tmp_path: Path) -> None:
    first = run_job(make_job(tmp_path / "a"))
    assert cached(first) == []
    fresh = table_bytes(tmp_path / "a")
    # A second output folder from scratch gives the same bytes (determinism) ...
    assert fresh == table_bytes(seeds_run.output_dir)
    # ... and so does a rerun in the same folder, from the stage cache.
    again = run_job(make_job(tmp_path / "a"))
    assert cached(again) == ALL_BUT_INGEST
    assert [r.key for r in again.reports] == [r.key for r in first.reports]
    assert table_bytes(tmp_path / "a") == fresh
    log = (tmp_path / "a" / "run.log").read_text(encoding="utf-8")
    assert log.count("job test-seeds") == 2 and "(cached)" in log


def test_from_stage_recomputes_from_there(make_job: Callable[..., Any], tmp_path: Path) -> None:
    run_job(make_job())
    before = table_bytes(tmp_path / "out")
    result = run_job(make_job(), from_stage="align")
    assert cached(result) == ["clean", "segment", "detect", "translate", "embed", "stories"]
    assert table_bytes(tmp_path / "out") == before
    result = run_job(make_job(), from_stage="detect")
    assert cached(result) == ["clean", "segment"]
    assert [r.name for r in run_job(make_job(), force=True).reports if r.cached] == []
    with pytest.raises(QuotetraceError, match="unknown stage"):
        run_job(make_job(), from_stage="aling")


def test_changed_align_config_recomputes_align_only(make_job: Callable[..., Any],
                                                    tmp_path: Path) -> None:
    base = run_job(make_job(align={"min_margin": 1.0}))
    stages_dir = tmp_path / "out" / ".cache" / "stages"
    old_align = {p.name for p in stages_dir.glob("align-*")}
    before = table_bytes(tmp_path / "out")
    threshold = float(base.tables["alignments"]["margin"].median())
    strict = run_job(make_job(align={"min_margin": threshold}))
    # Quotes do not depend on alignments; trace (which reads them) recomputes. min_margin is
    # the comparable pairs' threshold, not corpus mining's: stories is kept.
    assert cached(strict) == ["clean", "segment", "detect", "translate", "embed", "stories",
                              "quotes", "attribute"]
    align = STAGE_NAMES.index("align")
    assert strict.reports[align].key != base.reports[align].key
    after = table_bytes(tmp_path / "out")
    assert after["sentences.parquet"] == before["sentences.parquet"]
    assert after["alignments.parquet"] != before["alignments.parquet"]
    assert 0 < len(strict.tables["alignments"]) < len(base.tables["alignments"])
    assert (strict.tables["alignments"]["margin"] >= threshold).all()
    # The stale align result is replaced, not kept beside the new one.
    new_align = {p.name for p in stages_dir.glob("align-*")}
    assert len(new_align) == 1 and new_align != old_align


def test_changed_input_invalidates_downstream(tiny_st_dir: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for path in SEEDS.glob("*.txt"):
        shutil.copy(path, corpus / path.name)
    data = job_data(tmp_path / "out", tiny_st_dir, inputs=[str(corpus)])
    first = run_job(parse_config(data))
    article = corpus / "004_7ee3f8304d59a0ac.txt"
    article.write_text(article.read_text(encoding="utf-8") + "\n\nPutin left Ashgabat on Saturday.",
                       encoding="utf-8")
    second = run_job(parse_config(data))
    assert cached(second) == []
    assert second.reports[0].key != first.reports[0].key
    # Vectors are cached per text: only the new sentence reaches the model.
    assert second.reports[STAGE_NAMES.index("embed")].stats["embedded"] == 1
    assert len(second.tables["sentences"]) == len(first.tables["sentences"]) + 1


def test_crash_resumes_from_the_stage_cache(seeds_run: JobResult, make_job: Callable[..., Any],
                                            tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    output = tmp_path / "out"

    def crash(self: Align, tables: Any, context: Any) -> Any:
        raise RuntimeError("killed during align")

    with monkeypatch.context() as patch:
        patch.setattr(Align, "run", crash)
        with pytest.raises(RuntimeError, match="killed during align"):
            run_job(make_job(output))
    done = sorted(p.parent.name.split("-")[0] for p in output.glob(".cache/stages/*/done"))
    assert done == sorted(["clean", "segment", "detect", "translate", "embed", "stories"])
    for name in [*TABLES, "manifest.json"]:
        assert not (output / name).exists(), name
    assert list(output.glob("**/*.tmp")) == []
    resumed = run_job(make_job(output))
    assert cached(resumed) == ["clean", "segment", "detect", "translate", "embed", "stories"]
    assert table_bytes(output) == table_bytes(seeds_run.output_dir)


def test_crash_leaves_previous_outputs_untouched(make_job: Callable[..., Any], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    run_job(make_job())
    before = {**table_bytes(tmp_path / "out"),
              "manifest.json": (tmp_path / "out" / "manifest.json").read_bytes()}

    def crash(self: Align, tables: Any, context: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(Align, "run", crash)
    with pytest.raises(KeyboardInterrupt):
        run_job(make_job(align={"min_margin": 1.3}))
    after = {**table_bytes(tmp_path / "out"),
             "manifest.json": (tmp_path / "out" / "manifest.json").read_bytes()}
    assert after == before


def test_bad_input_fails_before_creating_the_output(make_job: Callable[..., Any],
                                                     tmp_path: Path) -> None:
    empty = tmp_path / "inbox" / "empty.txt"
    empty.parent.mkdir()
    empty.write_text("", encoding="utf-8")
    output = tmp_path / "never"
    job = make_job(output, inputs=[str(SEEDS / "*.txt"), str(empty)])
    with pytest.raises(InputError, match="empty") as info:
        run_job(job)
    assert str(empty) in str(info.value)
    assert not output.exists()


def test_bad_input_keeps_an_existing_output_folder(make_job: Callable[..., Any],
                                                   tmp_path: Path) -> None:
    run_job(make_job())
    before = table_bytes(tmp_path / "out")
    with pytest.raises(InputError, match="no such file"):
        run_job(make_job(inputs=[str(tmp_path / "missing.txt")]))
    assert table_bytes(tmp_path / "out") == before
    assert "no such file" in (tmp_path / "out" / "run.log").read_text(encoding="utf-8")


def test_library_result(seeds_run: JobResult) -> None:
    summary = seeds_run.summary()
    assert summary["documents"] == 5
    assert summary["translated"] == 0
    assert summary["cached"] == []
    assert set(summary["seconds"]) == set(STAGE_NAMES)
    assert set(seeds_run.tables) >= {"documents", "sentences", "alignments", "embeddings"}


def test_tables_load_with_hugging_face_datasets(seeds_run: JobResult) -> None:
    import datasets

    folder = seeds_run.output_dir
    loaded = {
        name: datasets.load_dataset("parquet", data_files=str(folder / f"{name}.parquet"),
                                    split="train", cache_dir=str(folder / ".hf-cache"))
        for name in ("documents", "sentences", "alignments")
    }
    assert loaded["sentences"].num_rows == len(seeds_run.tables["sentences"])
    assert loaded["alignments"].features["sent_ids_a"].feature.dtype == "string"
    assert set(loaded["documents"]["doc_id"]) == set(SEED_IDS)


def test_run_stages_gives_scripts_the_intermediate_tables(make_job) -> None:
    from pipeline.errors import UsageError
    from pipeline.runner import run_stages

    tables = run_stages(make_job(), ["ingest", "clean", "segment"])
    assert set(tables) == {"documents", "sentences"}
    assert len(tables["sentences"]) > 50 and "clean_start" in tables["sentences"]
    with pytest.raises(UsageError, match="unknown stage"):
        run_stages(make_job(), ["ingest", "cleen"])
