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


def test_replicas_from_other_weeks_do_not_take_the_neighbour_slots() -> None:
    """One story told again every other week, in near-identical words: within a 7-day window,
    each week's documents must still find each other."""
    rng = np.random.default_rng(1)
    centre = rng.normal(size=16)
    ids, rows, dates = [], [], {}
    for week in range(12):
        for n in range(3):
            doc = f"w{week:02d}-d{n}"
            ids.append(doc)
            rows.append(centre + 0.01 * rng.normal(size=16))
            dates[doc] = str(pd.Timestamp("2024-01-01") + pd.Timedelta(days=14 * week + n))
    vectors = np.array(rows, dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    config = AlignConfig(story_neighbours=2, date_window_days=7)
    pairs = story_candidates(ids, vectors, dates, config)
    expected = {(f"w{w:02d}-d{a}", f"w{w:02d}-d{b}") for w in range(12)
                for a, b in ((0, 1), (0, 2), (1, 2))}
    assert set(pairs) == expected
    undated = story_candidates(ids, vectors, {}, config)
    assert len(undated) < 2 * len(expected)  # without dates, two slots per document


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
