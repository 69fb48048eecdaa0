"""``export``: a seed job's outputs as a Hugging Face dataset, Parquet, JSON Lines and bitext.

The job is the seed corpus run once per module with the tiny random model and loosened
alignment thresholds (margin 1.0), so that it has English-English and Vietnamese-English pairs,
1-2 and 2-1 merges, quotes and clusters.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipeline.config import parse_config
from pipeline.errors import ConfigError, InputError
from pipeline.export import TABLE_NAMES, export, features_for
from pipeline.runner import run_job
from tests.conftest import job_data

LOOSE_ALIGN = {"min_margin": 1.0, "one_sided_margin": 1.0}


@pytest.fixture(scope="module")
def job_dir(tiny_st_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("export") / "job"
    run_job(parse_config(job_data(output, tiny_st_dir, align=LOOSE_ALIGN)))
    return output


@pytest.fixture(scope="module")
def hf_export(job_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    target = tmp_path_factory.mktemp("export-hf") / "dataset"
    return target, export(job_dir, target, fmt="hf")


def table(job_dir: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(job_dir / f"{name}.parquet")


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def card_header(folder: Path) -> dict:
    text = (folder / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def test_hf_export_loads_with_load_from_disk_and_load_dataset(
        job_dir: Path, hf_export: tuple[Path, dict], tmp_path: Path) -> None:
    import datasets

    target, result = hf_export
    sentences, alignments = table(job_dir, "sentences"), table(job_dir, "alignments")
    quotes = table(job_dir, "quotes")
    expected = {"pairs": len(alignments), "sentences": len(sentences), "quotes": len(quotes)}
    assert result["rows"] == expected and result["pairs_total"] == len(alignments)
    assert {"README.md", "hf/dataset_dict.json", "data/pairs.parquet", "data/sentences.parquet",
            "data/quotes.parquet"} <= set(result["files"])

    saved = datasets.load_from_disk(str(target / "hf"))
    assert isinstance(saved, datasets.DatasetDict) and sorted(saved) == sorted(TABLE_NAMES)
    for name in TABLE_NAMES:
        assert saved[name].features == features_for(name)
        assert saved[name].num_rows == expected[name]
        loaded = datasets.load_dataset("parquet", data_files=str(target / f"data/{name}.parquet"),
                                       cache_dir=str(tmp_path / "cache"))["train"]
        assert loaded.features == features_for(name) and loaded.num_rows == expected[name]
        assert loaded.to_list() == saved[name].to_list()

    pairs = saved["pairs"]
    assert pairs.column_names == ["pair_id", "doc_a", "sent_ids_a", "text_a", "lang_a", "doc_b",
                                  "sent_ids_b", "text_b", "lang_b", "score", "margin", "kind"]
    lang = dict(zip(sentences["sent_id"], sentences["lang"], strict=True))
    for row in pairs:
        assert row["doc_a"] < row["doc_b"] and row["kind"] in {"1-1", "1-2", "2-1"}
        assert row["lang_a"] == lang[row["sent_ids_a"][0]]
        assert row["lang_b"] == lang[row["sent_ids_b"][0]]
    assert len(set(pairs["pair_id"])) == pairs.num_rows
    assert {"vi", "en"} <= set(pairs["lang_a"]) | set(pairs["lang_b"])
    assert sorted(pairs["score"]) == sorted(alignments["score"].tolist())

    saved_quotes = saved["quotes"]
    assert "speaker" in saved_quotes.column_names and "cluster_id" in saved_quotes.column_names
    clusters = table(job_dir, "clusters")
    cluster_of = {q: c for c, ids in zip(clusters["cluster_id"], clusters["quote_ids"],
                                         strict=True) for q in ids}
    for row in saved_quotes:
        assert row["cluster_id"] == cluster_of.get(row["quote_id"])

    header = card_header(target)
    assert header["language"] == ["en", "vi"] and header["license"] == "other"
    assert header["task_categories"] == ["translation", "sentence-similarity"]
    assert header["size_categories"] == ["n<1K"] and header["pretty_name"]
    configs = {c["config_name"]: c["data_files"][0]["path"] for c in header["configs"]}
    assert configs == {name: f"data/{name}.parquet" for name in TABLE_NAMES}
    card = (target / "README.md").read_text(encoding="utf-8")
    assert "job: test-seeds" in card and "quotetrace" in card  # the job's config, provenance


def test_refuses_non_empty_target_unless_overwrite(
        job_dir: Path, hf_export: tuple[Path, dict], tmp_path: Path) -> None:
    target, _ = hf_export
    before = files_of(target)
    with pytest.raises(InputError, match=r"not empty.*--overwrite") as error:
        export(job_dir, target, fmt="hf")
    assert str(target) in str(error.value)
    assert files_of(target) == before

    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(InputError, match="--overwrite"):
        export(job_dir, folder, fmt="jsonl")
    assert (folder / "notes.txt").read_text(encoding="utf-8") == "keep me"
    with pytest.raises(InputError, match="no earlier quotetrace export"):
        export(job_dir, folder, fmt="jsonl", overwrite=True)  # --overwrite replaces exports only
    assert sorted(files_of(folder)) == ["notes.txt"]
    earlier = tmp_path / "earlier"
    export(job_dir, earlier, fmt="parquet")
    export(job_dir, earlier, fmt="jsonl", overwrite=True)
    assert sorted(files_of(earlier)) == [".quotetrace-export", "README.md", "pairs.jsonl",
                                         "quotes.jsonl", "sentences.jsonl"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["earlier", "mine"]  # no temporaries

    empty = tmp_path / "empty"
    empty.mkdir()
    export(job_dir, empty, fmt="parquet")  # an existing empty folder is fine
    assert sorted(files_of(empty)) == [".quotetrace-export", "README.md", "data/pairs.parquet",
                                       "data/quotes.parquet", "data/sentences.parquet"]
    with pytest.raises(InputError, match="output folder"):
        export(job_dir, job_dir.parent, fmt="jsonl", overwrite=True)  # would delete the job
    with pytest.raises(InputError, match="unknown export format"):
        export(job_dir, tmp_path / "x", fmt="csv")


def test_exports_are_byte_identical(job_dir: Path, hf_export: tuple[Path, dict],
                                    tmp_path: Path) -> None:
    target, result = hf_export
    again = export(job_dir, tmp_path / "hf-again", fmt="hf")
    assert files_of(tmp_path / "hf-again") == files_of(target)  # state.json included
    assert again["files"] == result["files"]
    for fmt in ("jsonl", "bitext"):
        export(job_dir, tmp_path / f"{fmt}-1", fmt=fmt)
        export(job_dir, tmp_path / f"{fmt}-2", fmt=fmt)
        assert files_of(tmp_path / f"{fmt}-1") == files_of(tmp_path / f"{fmt}-2")
    rows = [json.loads(line) for line in
            (tmp_path / "jsonl-1" / "pairs.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == result["rows"]["pairs"] and rows[0]["pair_id"] == "p000000"


def test_bitext_is_line_aligned(job_dir: Path, tmp_path: Path) -> None:
    result = export(job_dir, tmp_path / "bitext", fmt="bitext")
    assert result["bitext"]["languages"] == ["vi", "en"]
    vi = (tmp_path / "bitext" / "pairs.vi").read_text(encoding="utf-8")
    en = (tmp_path / "bitext" / "pairs.en").read_text(encoding="utf-8")
    assert vi.count("\n") == en.count("\n") == len(vi.splitlines()) == len(en.splitlines())
    alignments, sentences = table(job_dir, "alignments"), table(job_dir, "sentences")
    lang = dict(zip(sentences["sent_id"], sentences["lang"], strict=True))
    cross = [r for r in alignments.itertuples()
             if {lang[r.sent_ids_a[0]], lang[r.sent_ids_b[0]]} == {"vi", "en"}]
    assert len(vi.splitlines()) == result["bitext"]["lines"] == len(cross) > 0
    text = dict(zip(sentences["sent_id"], sentences["text"], strict=True))
    pairs = set(zip(vi.splitlines(), en.splitlines(), strict=True))
    for r in cross:
        a = " ".join(text[s] for s in r.sent_ids_a)
        b = " ".join(text[s] for s in r.sent_ids_b)
        assert ((a, b) if lang[r.sent_ids_a[0]] == "vi" else (b, a)) in pairs
    header = card_header(tmp_path / "bitext")
    assert header["language"] == ["vi", "en"] and "configs" not in header


def test_min_score_filters_pairs(job_dir: Path, hf_export: tuple[Path, dict],
                                 tmp_path: Path) -> None:
    alignments = table(job_dir, "alignments")
    threshold = float(alignments["score"].median())
    result = export(job_dir, tmp_path / "strong", fmt="parquet", min_score=threshold)
    pairs = pd.read_parquet(tmp_path / "strong" / "data" / "pairs.parquet")
    assert len(pairs) == result["rows"]["pairs"] == int((alignments["score"] >= threshold).sum())
    assert 0 < len(pairs) < len(alignments) and (pairs["score"] >= threshold).all()
    assert result["rows"]["sentences"] == hf_export[1]["rows"]["sentences"]  # only pairs filtered
    everything = pd.read_parquet(hf_export[0] / "data" / "pairs.parquet").set_index("pair_id")
    assert set(pairs["pair_id"]) <= set(everything.index)  # ids are stable across thresholds
    assert (everything.loc[pairs["pair_id"], "score"].to_numpy() == pairs["score"].to_numpy()).all()
    card = (tmp_path / "strong" / "README.md").read_text(encoding="utf-8")
    assert f"score >= {threshold}" in card

    bitext = export(job_dir, tmp_path / "strong-bitext", fmt="bitext", min_score=threshold)
    vi = (tmp_path / "strong-bitext" / "pairs.vi").read_text(encoding="utf-8").splitlines()
    assert len(vi) == bitext["bitext"]["lines"]
    assert bitext["bitext"]["lines"] <= export(job_dir, tmp_path / "all-bitext",
                                               fmt="bitext")["bitext"]["lines"]


def test_license_of_the_job_config_reaches_the_card(tiny_st_dir: Path, tmp_path: Path) -> None:
    output = tmp_path / "licensed"
    run_job(parse_config(job_data(output, tiny_st_dir, license="CC-BY-4.0", align=LOOSE_ALIGN)))
    export(output, tmp_path / "hf", fmt="hf")
    assert card_header(tmp_path / "hf")["license"] == "CC-BY-4.0"
    card = (tmp_path / "hf" / "README.md").read_text(encoding="utf-8")
    assert "license: CC-BY-4.0" in card.split("## Job config")[1]  # the config, recorded too
    info = json.loads((tmp_path / "hf" / "hf" / "pairs" / "dataset_info.json")
                      .read_text(encoding="utf-8"))
    assert info["license"] == "CC-BY-4.0"
    export(output, tmp_path / "bitext", fmt="bitext")
    assert card_header(tmp_path / "bitext")["license"] == "CC-BY-4.0"


def test_license_is_an_id_or_nothing(tmp_path: Path) -> None:
    assert parse_config(job_data(tmp_path, "model")).license is None  # the card says "other"
    for good in ("other", "MIT", "cc-by-4.0", "LicenseRef-news.1", "GPL-2.0+"):
        assert parse_config(job_data(tmp_path, "model", license=good)).license == good
    for bad in ("", "MIT; rm -rf /", "-x", "MIT OR Apache-2.0", "a" * 65, "MIT\nlicense: x"):
        with pytest.raises(ConfigError, match="license"):
            parse_config(job_data(tmp_path, "model", license=bad))
