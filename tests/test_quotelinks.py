"""Quote links at corpus scale (``pipeline.quotelinks``): blockwise links equal the whole
similarity matrix's; beyond ``EXACT_QUOTES`` quotes, duplicates and nearest neighbours stand in for
every pair. Clustering goes through :func:`pipeline.quoteclusters.cluster_quotes`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline import quotelinks
from pipeline.quoteclusters import SpeakerUnionFind, cluster_quotes, known
from pipeline.quotelinks import (
    aligned_pairs,
    disowns,
    duplicate_groups,
    fragment_pairs,
    linked_pairs,
    neighbour_pairs,
    quoted_fragments,
)


def whole_matrix_clusters(quotes: pd.DataFrame, vectors: np.ndarray, alignments: pd.DataFrame,
                          min_similarity: float, aligned_min_similarity: float
                          ) -> list[list[int]]:
    """The clustering with one Q×Q similarity matrix and a dict of links (the reference)."""
    n = len(quotes)
    speakers = [known(s) for s in quotes["speaker"]]
    similarity = vectors @ vectors.T
    edges: dict[tuple[int, int], float] = {}
    rows, cols = np.nonzero(np.triu(similarity >= min_similarity, k=1))
    for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
        edges[(i, j)] = float(similarity[i, j])
    for i, j in aligned_pairs(quotes, alignments):
        if similarity[i, j] >= aligned_min_similarity:
            edges[(i, j)] = float(similarity[i, j])
    union = SpeakerUnionFind(speakers)
    quote_ids = quotes["quote_id"].tolist()
    for (i, j), _ in sorted(edges.items(), key=lambda item: (-item[1], quote_ids[item[0][0]],
                                                             quote_ids[item[0][1]])):
        if speakers[i] and speakers[j] and speakers[i] != speakers[j]:
            continue
        union.union(i, j)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(union.find(i), []).append(i)
    clusters = [sorted(rows_, key=lambda r: quote_ids[r]) for rows_ in groups.values()]
    return sorted(clusters, key=lambda rows_: quote_ids[rows_[0]])


def statements(n: int, seed: int, duplicates: float = 0.3) -> tuple[pd.DataFrame, np.ndarray]:
    """``n`` quotes: renditions (noisy copies, some verbatim) of n/4 statements, 3 speakers."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(n // 4, 1), 32)).astype(np.float32)
    owner = rng.integers(0, len(centres), n)
    scale = rng.choice([0.05, 0.2, 0.6], n)[:, None]
    noise = rng.standard_normal((n, 32)).astype(np.float32) * scale
    noise[rng.random(n) < duplicates] = 0  # reprinted word for word
    vectors = centres[owner] + noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    speakers = rng.choice(np.array(["P", "Q", "R", None], dtype=object), n)
    quotes = pd.DataFrame({"quote_id": [f"d{i // 5:03d}:q{i % 5:03d}" for i in range(n)],
                           "speaker": speakers,
                           "sent_ids": [[f"s{i}"] for i in range(n)]})
    return quotes, vectors


def test_blockwise_links_equal_the_whole_matrix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(quotelinks, "BLOCK_ROWS", 37)  # many blocks, a ragged last one
    for seed in range(3):
        quotes, vectors = statements(300, seed)
        links = pd.DataFrame({"sent_ids_a": [["s1"], ["s7", "s8"]],
                              "sent_ids_b": [["s2"], ["s40"]]})
        for low, aligned_low in ((0.9, 0.5), (0.97, 0.0), (-1.01, 2.0)):
            assert cluster_quotes(quotes, vectors, links, low, aligned_low) == \
                whole_matrix_clusters(quotes, vectors, links, low, aligned_low)


def test_many_quotes_group_duplicates_and_search_neighbours(
        monkeypatch: pytest.MonkeyPatch) -> None:
    quotes, vectors = statements(1200, 7, duplicates=0.5)
    links = pd.DataFrame({"sent_ids_a": [["s3"]], "sent_ids_b": [["s900"]]})
    exact = whole_matrix_clusters(quotes, vectors, links, 0.9, 0.5)
    for limit in (500, 100):  # distinct vectors compared pairwise, then by neighbours only
        monkeypatch.setattr(quotelinks, "EXACT_QUOTES", limit)
        clusters = cluster_quotes(quotes, vectors, links, 0.9, 0.5)
        assert sorted(r for rows in clusters for r in rows) == list(range(len(quotes)))
        speakers = [known(s) for s in quotes["speaker"]]
        for rows in clusters:  # never two known speakers in one cluster
            assert len({speakers[r] for r in rows if speakers[r]}) <= 1
        # Nearly the partition of every pair: at most a few quotes placed differently.
        where = {r: n for n, rows in enumerate(clusters) for r in rows}
        agree = sum(len({where[r] for r in rows}) == 1 for rows in exact)
        assert agree >= 0.95 * len(exact)


def test_duplicate_groups_and_neighbours() -> None:
    rng = np.random.default_rng(3)
    base = rng.standard_normal((50, 16)).astype(np.float32)
    vectors = base[rng.integers(0, 50, 400)]
    groups = duplicate_groups(vectors)
    assert sorted(int(r) for g in groups for r in g) == list(range(400))
    for rows in groups:
        assert (vectors[rows] == vectors[rows[0]]).all()
        assert list(rows) == sorted(rows)
    assert len(groups) == len(np.unique(vectors, axis=0))
    assert [int(g[0]) for g in groups] == sorted(int(g[0]) for g in groups)

    # Each noisy copy finds its twin among its nearest neighbours (PCA + inverted lists).
    points = rng.standard_normal((3000, 128)).astype(np.float32)
    twins = points + 0.01 * rng.standard_normal(points.shape).astype(np.float32)
    data = np.concatenate([points, twins])
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    keys = set(neighbour_pairs(data, 4).tolist())
    found = sum(i * len(data) + i + 3000 in keys for i in range(3000))
    assert found >= 0.98 * 3000


def test_aligned_pairs() -> None:
    quotes = pd.DataFrame({"sent_ids": [["a1"], ["a1", "a2"], ["b1"], ["c1"]]})
    links = pd.DataFrame({"sent_ids_a": [["a1"], ["c1"]], "sent_ids_b": [["b1"], ["a2"]]})
    # Quotes on the two sides of one alignment, never a quote with itself.
    assert aligned_pairs(quotes, links) == {(0, 2), (1, 2), (1, 3)}


def test_linked_pairs_add_aligned_pairs_after_similar_ones() -> None:
    vectors = np.array([[1.0, 0.0], [1.0, 0.0], [0.6, 0.8], [0.0, 1.0]], dtype=np.float32)
    rows, cols, sims = linked_pairs(vectors, [(0, 1), (0, 2), (0, 3)], 0.99, 0.5)
    # (0, 1) is a similarity link already; (0, 2) reaches the aligned floor; (0, 3) does not.
    assert list(zip(rows.tolist(), cols.tolist(), strict=True)) == [(0, 1), (0, 2)]
    assert sims.tolist() == pytest.approx([1.0, 0.6])


def test_quoted_fragments_fold_quote_styles_and_skip_short_ones() -> None:
    assert quoted_fragments('ties were a “priority.” and a "war" «new world order»') == [
        ("priority",), ("new", "world", "order")]
    assert quoted_fragments("no quote marks, it's plain") == []


def test_fragment_pairs_link_a_partial_quote_to_the_statement_it_quotes() -> None:
    texts = ['ties with Tehran were a "priority."',                    # 0 Putin
             "Relations with Iran are a priority for us.",              # 1 Putin
             "Trade is a priority, and so is energy.",                  # 2 Putin
             "Security is our priority.",                               # 3 Pezeshkian
             "Priority lanes open today.",                              # 4 unknown
             'Sanctions were "priorityless" talk.',                     # 5 Putin
             'He called Iran a "priority" again.']                      # 6 Putin
    speakers = ["P", "P", "P", "Q", None, "P", "P"]
    vectors = np.eye(7, dtype=np.float32)
    vectors[0] = vectors[1] = vectors[6] = np.array([1, 0, 0, 0, 0, 0, 0], dtype=np.float32)
    # Rows 0 and 6 quote the word: each links to the most similar statement saying it (1, not
    # 2), never to each other, to Q's or an unknown speaker's quote; "priorityless" is
    # another word.
    assert fragment_pairs(texts, speakers, vectors) == [(0, 1), (1, 6)]
    speakers[0] = None
    assert fragment_pairs(texts, speakers, vectors) == [(1, 6)]


def test_fragment_pairs_grow_with_partial_quotes_not_their_square() -> None:
    # 300 partial quotes of one slogan and 20 statements that use it: one link each.
    texts = ['he vowed "America first" again'] * 300 + ["America first, always."] * 20
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((320, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    pairs = fragment_pairs(texts, ["P"] * 320, vectors)
    assert len(pairs) == 300 and {j for _, j in pairs} <= set(range(300, 320))
    best = 300 + np.argmax(vectors[:300] @ vectors[300:].T, axis=1)
    assert pairs == sorted(zip(range(300), best.tolist(), strict=True))


def test_quoted_fragments_pair_marks_left_to_right() -> None:
    # Unclosed marks give nothing; an odd count pairs the first two (a known limit).
    assert quoted_fragments('ties were a "priority') == []
    assert quoted_fragments('a "priority" and "growth') == [("priority",)]
    assert quoted_fragments("''priority'' he said") == []


def test_fragment_pairs_edge_inputs() -> None:
    assert fragment_pairs([], [], np.zeros((0, 3), dtype=np.float32)) == []
    texts = ['called it a "priority"', None, float("nan"), "It is a priority."]
    vectors = np.eye(4, dtype=np.float32)
    # texts that are not strings have no words
    assert fragment_pairs(texts, ["P", "P", "P", "P"], vectors) == [(0, 3)]
    # only the most similar statement is linked (ties: the first row)
    texts = ['called it a "priority"', "A priority.", "Our priority.", "The priority."]
    vectors = np.array([[1, 0], [0.6, 0.8], [0.8, 0.6], [0.8, 0.6]], dtype=np.float32)
    assert fragment_pairs(texts, ["P"] * 4, vectors) == [(0, 2)]
    # a quote whose only quoted words are its own makes no pair with itself
    assert fragment_pairs(['"priority"'], ["P"], vectors[:1]) == []


def test_a_quoted_phrase_disowns_a_rendition_that_says_none_of_its_words() -> None:
    said = ('the situation was "difficult" and that "the USA and Europe do not want the '
            'situation to calm down."')
    assert disowns(said, "that Israel cease hostilities in the Middle East")
    assert not disowns(said, "Europe, he said, wants the war to go on")  # shares "europe"
    assert not disowns("that Israel cease hostilities in the Middle East", said)  # no quote
    assert not disowns('it was "difficult" for us', "Israel must stop")  # one word: too few
    assert not disowns('he said "we will win"', "nothing alike")  # short words only
    assert not disowns(None, "text") and disowns('"great new trade deals"', None)
