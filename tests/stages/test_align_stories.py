"""Story grouping: align only each document's nearest documents (FAISS), within a date window."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.config import AlignConfig
from pipeline.runner import run_job
from pipeline.stages.align import story_candidates


def two_stories(per_story: int = 4, dim: int = 16) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(2, dim))
    ids, rows = [], []
    for story, centre in enumerate(centres):
        for n in range(per_story):
            ids.append(f"s{story}-d{n}")
            rows.append(centre + 0.05 * rng.normal(size=dim))
    vectors = np.array(rows, dtype=np.float32)
    return ids, vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_candidates_stay_within_a_story() -> None:
    ids, vectors = two_stories()
    pairs = story_candidates(ids, vectors, {}, AlignConfig(story_neighbours=3))
    assert pairs and all(a.split("-")[0] == b.split("-")[0] for a, b in pairs)
    assert len(pairs) == 2 * 6  # every pair inside each story of four, none across


def test_date_window_and_similarity_floor() -> None:
    ids, vectors = two_stories()
    dates = {doc: "2024-10-11" for doc in ids} | {"s0-d3": "2024-12-01"}
    pairs = story_candidates(ids, vectors, dates, AlignConfig(story_neighbours=3,
                                                              date_window_days=7))
    assert not any("s0-d3" in pair for pair in pairs)
    none = story_candidates(ids, vectors, {}, AlignConfig(story_neighbours=3,
                                                          story_min_similarity=1.01))
    assert none == []


def test_approximate_search_agrees_on_clear_stories() -> None:
    ids, vectors = two_stories(per_story=6)
    exact = story_candidates(ids, vectors, {}, AlignConfig(story_neighbours=5))
    approximate = story_candidates(ids, vectors, {}, AlignConfig(story_neighbours=5,
                                                                 exact_search_max=1))
    assert approximate == exact


def test_enough_neighbours_reproduce_all_pairs(make_job, tmp_path) -> None:
    every = run_job(make_job(tmp_path / "all")).tables["alignments"]
    stories = run_job(make_job(tmp_path / "stories", align={"story_neighbours": 4})
                      ).tables["alignments"]
    pd.testing.assert_frame_equal(every, stories)
    fewer = run_job(make_job(tmp_path / "one", align={"story_neighbours": 1}))
    align = next(r for r in fewer.reports if r.name == "align")
    assert align.stats["document_pairs"] < 10
