"""The trace stage over a seeds job: config → :mod:`pipeline.quoteclusters` → ``clusters``.

The seed job runs once with the tiny random model; the quotes are the hand-made seed quotes of
:mod:`tests.trace_fixtures`, and the alignments are hand-made too, so which links exist is under
the test's control (the tiny model's similarities mean nothing; thresholds above 1 switch the
similarity links off, thresholds below -1 switch them all on). The algorithm alone, without a
job, is tested in ``tests/test_quoteclusters.py`` and ``tests/test_quotelinks.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipeline.base import Progress, StageContext
from pipeline.config import parse_config
from pipeline.data import CLUSTERS
from pipeline.io import to_arrow
from pipeline.runner import run_job
from pipeline.stages.trace import Trace
from tests.conftest import SEED_FILES, job_data
from tests.trace_fixtures import DW, INDIA, KYIV, PEZESHKIAN, PUTIN, TRT, VI, build_quotes

OFF, ON = 1.01, -1.01  # similarity thresholds that switch a kind of link off / all on


@pytest.fixture(scope="module")
def seeds(tiny_st_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    output = tmp_path_factory.mktemp("trace-seeds")
    tables = dict(run_job(parse_config(job_data(output, tiny_st_dir))).tables)
    raw = {path.stem: path.read_text(encoding="utf-8") for path in SEED_FILES}
    tables["quotes"] = build_quotes(tables["sentences"], raw)
    return {"tables": tables, "output": output, "model": tiny_st_dir}


def alignments(*pairs: tuple[list[str], list[str]]) -> pd.DataFrame:
    return pd.DataFrame({"sent_ids_a": [a for a, _ in pairs], "sent_ids_b": [b for _, b in pairs]})


#: Real links of the seeds: Putin's "we actively work together" (TRT ↔ Kyiv, and TRT's 2-1 merge
#: with Pezeshkian's reply ↔ the Vietnamese article) and Pezeshkian's TASS quote (DW ↔ vi).
SEED_LINKS = alignments(
    ([f"{TRT}:0005"], [f"{KYIV}:0003"]),
    ([f"{TRT}:0005", f"{TRT}:0006"], [f"{VI}:0006"]),
    ([f"{DW}:0012"], [f"{VI}:0001"]),
)


def run_trace(seeds: dict[str, Any], links: pd.DataFrame = SEED_LINKS,
              quotes: pd.DataFrame | None = None, languages: dict[str, str] | None = None,
              min_similarity: float = OFF, aligned_min_similarity: float = ON) -> pd.DataFrame:
    job = parse_config(job_data(
        seeds["output"], seeds["model"],
        trace={"min_similarity": min_similarity, "aligned_min_similarity": aligned_min_similarity},
        attribute={"speaker_languages": languages or {}}))
    tables = {**seeds["tables"], "alignments": links}
    if quotes is not None:
        tables["quotes"] = quotes
    return Trace(job).run(tables, StageContext(job=job))["clusters"]


def members(clusters: pd.DataFrame) -> list[list[str]]:
    return [list(ids) for ids in clusters["quote_ids"]]


def q(doc: str, n: int) -> str:
    return f"{doc}:q{n:03d}"


def test_contract_and_alignment_links(seeds: dict[str, Any]) -> None:
    clusters = run_trace(seeds)
    assert list(clusters.columns) == [field.name for field in CLUSTERS]
    to_arrow(clusters, CLUSTERS)  # the types fit the contract
    assert members(clusters) == [
        [q(DW, 0)],
        [q(DW, 1)],
        [q(DW, 2), q(VI, 0)],  # Pezeshkian, DW ↔ Vietnamese (aligned)
        [q(INDIA, 0)],
        [q(TRT, 0), q(VI, 1), q(KYIV, 0)],  # Putin; Pezeshkian's TRT reply stays out
        [q(TRT, 1)],
        [q(KYIV, 1)],
    ]
    assert clusters["cluster_id"].tolist() == [f"c{n:04d}" for n in range(7)]
    every = sorted(i for ids in members(clusters) for i in ids)
    assert every == sorted(seeds["tables"]["quotes"]["quote_id"])  # each quote exactly once
    putin = clusters.iloc[4]
    assert putin["speaker"] == PUTIN
    assert list(putin["docs"]) == [TRT, VI, KYIV]
    assert list(putin["langs"]) == ["en", "vi"]


def test_aligned_quotes_need_the_aligned_floor(seeds: dict[str, Any]) -> None:
    clusters = run_trace(seeds, aligned_min_similarity=OFF)
    assert all(len(ids) == 1 for ids in members(clusters))


def test_similarity_links_respect_speakers(seeds: dict[str, Any]) -> None:
    clusters = run_trace(seeds, links=alignments(), min_similarity=ON)
    speakers = seeds["tables"]["quotes"].set_index("quote_id")["speaker"]
    assert sorted(clusters["speaker"]) == sorted(set(speakers))  # one cluster per speaker
    for row in clusters.itertuples():
        assert {speakers[i] for i in row.quote_ids} == {row.speaker}

    anonymous = seeds["tables"]["quotes"].assign(speaker=None)
    clusters = run_trace(seeds, links=alignments(), quotes=anonymous, min_similarity=ON)
    assert len(clusters) == 1 and clusters["speaker"].iloc[0] is None


def test_unknown_speaker_joins_one_speaker_only(seeds: dict[str, Any]) -> None:
    quotes = seeds["tables"]["quotes"].copy()
    quotes.loc[quotes["quote_id"] == q(KYIV, 0), "speaker"] = None
    # Kyiv's unattributed quote is aligned with both Putin's TRT quote and Pezeshkian's DW quote.
    links = alignments(([f"{TRT}:0005"], [f"{KYIV}:0003"]), ([f"{DW}:0012"], [f"{KYIV}:0003"]),
                       ([f"{DW}:0012"], [f"{VI}:0001"]))
    clusters = run_trace(seeds, links=links, quotes=quotes)
    speakers = quotes.set_index("quote_id")["speaker"]
    for ids in members(clusters):
        assert len({speakers[i] for i in ids if pd.notna(speakers[i])}) <= 1
    holding = next(ids for ids in members(clusters) if q(KYIV, 0) in ids)
    assert len(holding) == 2


def test_honest_origin(seeds: dict[str, Any]) -> None:
    clusters = run_trace(seeds, languages={PUTIN: "ru", PEZESHKIAN: "fa"})
    putin = clusters[clusters["speaker"] == PUTIN].iloc[-1]
    assert putin["speaker_lang"] == "ru"
    assert not putin["origin_in_corpus"] and pd.isna(putin["origin_doc"])
    assert not clusters["origin_in_corpus"].any()
    assert clusters["origin_doc"].isna().all()

    # Pretend Putin spoke Vietnamese: the Vietnamese rendition is then the original.
    clusters = run_trace(seeds, languages={PUTIN: "vi"})
    putin = clusters[clusters["speaker"] == PUTIN].iloc[-1]
    assert putin["origin_in_corpus"] and putin["origin_doc"] == VI
    # A speaker of unknown language (or no speaker) is never "in the corpus".
    quotes = seeds["tables"]["quotes"].copy()
    quotes.loc[quotes["quote_id"] == q(INDIA, 0), "speaker"] = "Nobody Inparticular"
    quotes.loc[quotes["quote_id"] == q(KYIV, 1), "speaker"] = None
    clusters = run_trace(seeds, quotes=quotes)
    for quote_id in (q(INDIA, 0), q(KYIV, 1)):
        row = clusters[clusters["quote_ids"].map(lambda ids, i=quote_id: i in ids)].iloc[0]
        assert pd.isna(row["speaker_lang"]) and not row["origin_in_corpus"]
        assert pd.isna(row["origin_doc"])


def test_cited_sources(seeds: dict[str, Any]) -> None:
    clusters = run_trace(seeds)
    by_first = {ids[0]: list(row) for ids, row in zip(members(clusters),
                                                      clusters["cited_sources"], strict=True)}
    assert by_first[q(DW, 2)] == ["TASS"]  # Pezeshkian: the Vietnamese rendition cites TASS
    assert by_first[q(TRT, 0)] == []  # no rendition of Putin's words cites a source here
    with_dw = run_trace(seeds, links=pd.concat(
        [SEED_LINKS, alignments(([f"{DW}:0009"], [f"{TRT}:0005"]))], ignore_index=True))
    putin = with_dw[with_dw["quote_ids"].map(lambda ids: q(DW, 0) in ids)].iloc[0]
    assert list(putin["cited_sources"]) == ["TASS"]  # DW's indirect rendition cites Tass
    assert len(putin["quote_ids"]) == 4


def test_drift(seeds: dict[str, Any]) -> None:
    clusters = run_trace(seeds)
    drift = clusters["drift"].to_numpy()
    assert ((drift >= 0) & (drift <= 1)).all()
    sizes = clusters["quote_ids"].map(len).to_numpy()
    assert (drift[sizes == 1] == 0).all()
    assert (drift[sizes > 1] > 0).all()


def test_empty_quotes(seeds: dict[str, Any]) -> None:
    empty = seeds["tables"]["quotes"].iloc[:0]
    clusters = run_trace(seeds, quotes=empty)
    assert clusters.empty and list(clusters.columns) == [field.name for field in CLUSTERS]


def test_stats_and_progress(seeds: dict[str, Any]) -> None:
    job = parse_config(job_data(seeds["output"], seeds["model"]))
    steps: list[int] = []
    context = StageContext(job=job, progress=Progress(on_advance=steps.append))
    clusters = Trace(job).run({**seeds["tables"], "alignments": SEED_LINKS}, context)["clusters"]
    assert steps == [1, 1]
    stats = context.stats
    assert stats["quotes"] == len(seeds["tables"]["quotes"]) and stats["clusters"] == len(clusters)
    assert stats["multi_outlet"] == int((clusters["docs"].map(len) > 1).sum())
    assert stats["embedded"] >= 0
