"""alignlib on synthetic embeddings: planted pairs, merges, noise, and blockwise == dense."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

import pipeline.alignlib as alignlib
from pipeline.alignlib import AlignParams, Link, SideData, align_pair, nearest

DIM = 64
DENSE_ONLY = AlignParams(lexical_weight=0.0, min_margin=1.06, k=4, candidates=16)


def unit(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def side(vectors: np.ndarray, lexical: sparse.csr_matrix | None = None,
         lengths: np.ndarray | None = None) -> SideData:
    vectors = np.asarray(vectors, dtype=np.float32)
    n = len(vectors)
    if lexical is None:
        lexical = sparse.csr_matrix((n, 1), dtype=np.float32)
    if lengths is None:
        lengths = np.full(n, 80, dtype=np.float32)
    return SideData(vectors, lexical, lengths)


def pairs(links: list[Link]) -> set[tuple[tuple[int, ...], tuple[int, ...]]]:
    return {(link.a, link.b) for link in links}


def planted(n: int = 24, noise: float = 0.15, seed: int = 0):
    """Side a: n random unit vectors; side b: the same statements, shuffled and perturbed."""
    rng = np.random.default_rng(seed)
    a = unit(rng.normal(size=(n, DIM)))
    order = rng.permutation(n)  # b[j] restates a[order[j]]
    b = unit(a[order] + noise * rng.normal(size=(n, DIM)) / np.sqrt(DIM))
    return a, b, order


def test_planted_pairs_in_shuffled_order_are_all_recovered() -> None:
    a, b, order = planted()
    links = align_pair(side(a), side(b), DENSE_ONLY)
    expected = {((int(i),), (j,)) for j, i in enumerate(order)}
    assert pairs(links) == expected
    assert all(link.kind == "1-1" for link in links)
    # Not monotone: news reorders statements, and the aligner must not assume an order.
    b_in_a_order = [link.b[0] for link in links]
    assert b_in_a_order != sorted(b_in_a_order)
    assert all(link.score > 0.9 and link.margin > 2 for link in links)
    assert [link.a for link in links] == sorted(link.a for link in links)


def test_swapping_the_sides_gives_the_mirror_image() -> None:
    a, b, _ = planted(seed=3)
    forward = pairs(align_pair(side(a), side(b), DENSE_ONLY))
    backward = pairs(align_pair(side(b), side(a), DENSE_ONLY))
    assert forward == {(y, x) for x, y in backward}


def two_to_one(seed: int = 1, n: int = 12, at: int = 5):
    """a has n sentences; b restates them all, but a[at] and a[at + 1] as one sentence."""
    rng = np.random.default_rng(seed)
    a = unit(rng.normal(size=(n, DIM)))
    merged = unit(a[at:at + 1] + a[at + 1:at + 2])
    b = np.concatenate([a[:at], merged, a[at + 2:]])
    order = rng.permutation(len(b))
    return a, b[order], order


def test_planted_two_to_one_merge() -> None:
    a, b, order = two_to_one()
    j = int(np.where(order == 5)[0][0])  # where the merged sentence went in b
    links = align_pair(side(a), side(b), DENSE_ONLY)
    merged = [link for link in links if link.kind != "1-1"]
    assert [(link.a, link.b, link.kind) for link in merged] == [((5, 6), (j,), "2-1")]
    assert merged[0].score == pytest.approx(1.0, abs=1e-5)
    assert len(links) == 11  # the other ten 1-1 pairs plus the merge
    # Without merges only one half of the pair aligns.
    plain = align_pair(side(a), side(b), AlignParams(**{**DENSE_ONLY.__dict__, "merges": False}))
    assert {link.kind for link in plain} == {"1-1"}
    assert len(plain) == 11
    assert len(pairs(plain) & {((5,), (j,)), ((6,), (j,))}) == 1


def test_planted_one_to_two_merge_is_symmetric() -> None:
    b, a, order = two_to_one(seed=2)
    j = int(np.where(order == 5)[0][0])
    links = align_pair(side(a), side(b), DENSE_ONLY)
    merged = [link for link in links if link.kind != "1-1"]
    assert [(link.a, link.b, link.kind) for link in merged] == [((j,), (5, 6), "1-2")]


def test_merge_gain_can_refuse_a_merge() -> None:
    a, b, _ = two_to_one()
    strict = AlignParams(**{**DENSE_ONLY.__dict__, "merge_gain": 0.5})
    assert {link.kind for link in align_pair(side(a), side(b), strict)} == {"1-1"}


def test_merge_lengths_keep_a_merge_the_lengths_support_and_refuse_one_they_do_not() -> None:
    a, b, order = two_to_one()
    j = int(np.where(order == 5)[0][0])
    params = AlignParams(**{**DENSE_ONLY.__dict__, "merge_lengths": True})
    lengths_a = np.full(len(a), 80, dtype=np.float32)
    # b's merged sentence is as long as a[5] and a[6] together (b writes 1.2× as long):
    # the merge brings the pair's length ratio to its typical one.
    lengths_b = np.full(len(b), 96, dtype=np.float32)
    lengths_b[j] = 192
    merged = [link for link in align_pair(side(a, lengths=lengths_a), side(b, lengths=lengths_b),
                                          params) if link.kind != "1-1"]
    assert [(link.a, link.b) for link in merged] == [((5, 6), (j,))]
    # b's sentence is only as long as one of them: a[6] (or a[5]) was dropped, not merged.
    lengths_b[j] = 96
    links = align_pair(side(a, lengths=lengths_a), side(b, lengths=lengths_b), params)
    assert {link.kind for link in links} == {"1-1"}
    # Without the length check the merge is made on similarity alone.
    assert any(link.kind == "2-1" for link in align_pair(
        side(a, lengths=lengths_a), side(b, lengths=lengths_b), DENSE_ONLY))


def realistic_noise(n: int, rng: np.random.Generator, common: np.ndarray) -> np.ndarray:
    """Unrelated sentences on one topic: all similarities near 0.8, as e5 gives on news."""
    return unit(common + 0.5 * rng.normal(size=(n, DIM)) / np.sqrt(DIM))


def test_unrelated_sentences_are_not_aligned() -> None:
    rng = np.random.default_rng(7)
    common = unit(rng.normal(size=(1, DIM)))
    a_pairs, b_pairs, order = planted(n=8, seed=8)
    a = np.concatenate([a_pairs, realistic_noise(10, rng, common)])
    b = np.concatenate([realistic_noise(12, rng, common), b_pairs])
    links = align_pair(side(a), side(b), DENSE_ONLY)
    assert pairs(links) == {((int(i),), (12 + j,)) for j, i in enumerate(order)}
    # The noise does have mutual-best partners; only the margin keeps them out.
    loose = align_pair(side(a), side(b),
                       AlignParams(**{**DENSE_ONLY.__dict__, "min_margin": 0, "merges": False}))
    noise_links = [link for link in loose if link.a[0] >= 8]
    assert noise_links
    assert all(link.margin < DENSE_ONLY.min_margin for link in noise_links)


def test_only_noise_gives_nothing() -> None:
    rng = np.random.default_rng(11)
    common = unit(rng.normal(size=(1, DIM)))
    a, b = realistic_noise(15, rng, common), realistic_noise(9, rng, common)
    assert align_pair(side(a), side(b), DENSE_ONLY) == []


def test_empty_sides() -> None:
    a, _, _ = planted(n=5)
    empty = side(np.zeros((0, DIM), dtype=np.float32))
    assert align_pair(empty, side(a)) == []
    assert align_pair(side(a), empty) == []
    assert align_pair(empty, empty) == []


def test_one_sentence_each() -> None:
    a, _, _ = planted(n=1)
    # A lone pair has no margin over anything: its margin is exactly 1, below any useful floor.
    assert align_pair(side(a), side(a), DENSE_ONLY) == []
    links = align_pair(side(a), side(a), AlignParams(lexical_weight=0.0, min_margin=1.0))
    assert pairs(links) == {((0,), (0,))}
    assert links[0].margin == pytest.approx(1.0)


def test_lexical_term_breaks_a_dense_tie() -> None:
    rng = np.random.default_rng(5)
    a = unit(rng.normal(size=(6, DIM)))
    b = a.copy()
    b[[1, 2]] = b[[2, 1]]  # b has a[1] and a[2] swapped ...
    b[2] = b[1] = unit(a[1:2] + a[2:3])[0]  # ... and both blurred into the same vector
    # The words say which is which: a[1] shares words with b[1], a[2] with b[2].
    lexical = sparse.csr_matrix(np.eye(6, dtype=np.float32))
    params = AlignParams(lexical_weight=0.5, min_margin=1.0, merges=False)
    links = align_pair(side(a, lexical), side(b, lexical), params)
    assert ((1,), (1,)) in pairs(links) and ((2,), (2,)) in pairs(links)


# --- blockwise nearest-neighbour search ---------------------------------------------------------


def dense_nearest(a: SideData, b: SideData, params: AlignParams):
    """Reference: the whole similarity matrix, sorted by (-value, index)."""
    sims = alignlib.similarity(a, b, slice(0, len(a)), params.lexical_weight).astype(np.float32)

    def top(matrix: np.ndarray, count: int):
        order = np.lexsort((np.broadcast_to(np.arange(matrix.shape[1]), matrix.shape), -matrix),
                           axis=1)[:, :count]
        return order, np.take_along_axis(matrix, order, axis=1)

    forward = top(sims, min(params.candidates, len(b)))
    back = top(sims.T.copy(), min(params.candidates, len(a)))
    return (*forward, *back)


def random_sides(seed: int, n_a: int, n_b: int, ties: bool = False):
    rng = np.random.default_rng(seed)
    a = unit(rng.normal(size=(n_a, DIM)))
    b = unit(rng.normal(size=(n_b, DIM)))
    if ties:  # repeated sentences give exactly equal similarities
        a[3::4] = a[1]
        b[2::3] = b[0]
    words = sparse.random(n_a + n_b, 40, density=0.2, random_state=seed, dtype=np.float32)
    words = sparse.csr_matrix(words.multiply(1 / np.maximum(
        sparse.linalg.norm(words, axis=1), 1e-9)[:, None]))
    return side(a, words[:n_a]), side(b, words[n_a:])


@pytest.mark.parametrize("block", [1, 3, 7, 1000])
@pytest.mark.parametrize("ties", [False, True])
def test_blockwise_nearest_equals_dense(monkeypatch: pytest.MonkeyPatch, block: int,
                                        ties: bool) -> None:
    a, b = random_sides(0, 23, 17, ties)
    params = AlignParams(candidates=5, lexical_weight=0.3)
    reference = dense_nearest(a, b, params)
    monkeypatch.setattr(alignlib, "BLOCK_ROWS", block)
    result = nearest(a, b, params)
    for got, want in zip(result, reference, strict=True):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


@pytest.mark.parametrize("block", [2, 5])
def test_blockwise_alignment_equals_one_block(monkeypatch: pytest.MonkeyPatch, block: int) -> None:
    a_vec, b_vec, _ = planted(n=30, noise=0.6, seed=4)
    rng = np.random.default_rng(4)
    a = side(a_vec, lengths=rng.integers(20, 200, 30).astype(np.float32))
    b = side(b_vec, lengths=rng.integers(20, 200, 30).astype(np.float32))
    params = AlignParams(lexical_weight=0.0, min_margin=1.0, candidates=6, k=3)
    monkeypatch.setattr(alignlib, "BLOCK_ROWS", 10_000)
    one_block = align_pair(a, b, params)
    monkeypatch.setattr(alignlib, "BLOCK_ROWS", block)
    assert align_pair(a, b, params) == one_block
    assert len(one_block) > 20


# --- degenerate margins: 0/0 and negative similarities never align ----------------------------


def test_orthogonal_sentences_are_not_aligned() -> None:
    eye = np.eye(4, dtype=np.float32)
    assert align_pair(side(eye[:2]), side(eye[2:]), DENSE_ONLY) == []


def test_opposite_sentences_are_not_aligned() -> None:
    a = np.array([[1.0, 0, 0], [0.6, 0.8, 0]], dtype=np.float32)
    b = np.array([[-0.8, 0.6, 0], [-0.6, -0.8, 0]], dtype=np.float32)
    assert (a @ b.T).max() < 0.01  # nothing alike
    assert align_pair(side(a), side(b), AlignParams(lexical_weight=0.0, k=2)) == []


# --- approximate candidates (FAISS) above align.exact_pair_max ---------------------------------


def planted_with_words(n: int, seed: int, n_b: int | None = None):
    """Planted pairs (b[j] restates a[order[j]]) plus unrelated b sentences, with TF-IDF-like
    rows: a pair shares some words, everything else shares words at random."""
    a, b_pairs, order = planted(n=n, noise=0.3, seed=seed)
    rng = np.random.default_rng(seed + 1000)  # not planted()'s generator: no copies of a
    extra = (n_b or n) - n
    b = np.concatenate([b_pairs, unit(rng.normal(size=(extra, DIM)))]) if extra else b_pairs
    words = sparse.random(n + len(b), 300, density=0.02, random_state=seed, dtype=np.float32)
    words = sparse.csr_matrix(words)
    words = sparse.csr_matrix(words.multiply(1 / np.maximum(
        sparse.linalg.norm(words, axis=1), 1e-9)[:, None]))
    return side(a, words[:n]), side(b, words[n:]), order


def test_approximate_candidates_find_the_exact_links() -> None:
    a, b, order = planted_with_words(1000, seed=21, n_b=1200)
    exact = AlignParams(lexical_weight=0.15, min_margin=1.06, exact_pair_max=10_000)
    approximate = AlignParams(**{**exact.__dict__, "exact_pair_max": 200})
    want = align_pair(a, b, exact)
    got = align_pair(a, b, approximate)
    assert pairs(got) == pairs(want)
    planted_pairs = {((int(i),), (j,)) for j, i in enumerate(order)}
    assert len(planted_pairs & pairs(got)) >= 970
    for g, w in zip(got, want, strict=True):
        assert g.score == pytest.approx(w.score, abs=1e-5)
        # The margin's kNN means see dense candidates only: a pair that words alone lift into
        # a sentence's exact top candidates is missing, so margins differ slightly.
        assert g.margin == pytest.approx(w.margin, rel=0.05)
    assert align_pair(a, b, approximate) == got  # deterministic
    mirrored = align_pair(b, a, approximate)
    assert pairs(mirrored) == {(y, x) for x, y in pairs(got)}


def test_approximate_path_never_builds_the_pair_matrix(monkeypatch: pytest.MonkeyPatch) -> None:
    import tracemalloc

    import faiss  # noqa: F401 — imported before measuring: its import allocates too

    a, b, order = planted_with_words(2500, seed=22, n_b=3000)
    params = AlignParams(lexical_weight=0.15, min_margin=1.06, exact_pair_max=256, candidates=8)

    def refuse(*args, **kwargs):
        raise AssertionError("the exact path ran")

    search_peak = []
    candidates = alignlib.candidate_nearest

    def measured(*args):
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        try:
            return candidates(*args)
        finally:
            search_peak.append(tracemalloc.get_traced_memory()[1] - before)

    monkeypatch.setattr(alignlib, "similarity", refuse)
    monkeypatch.setattr(alignlib, "nearest", refuse)
    monkeypatch.setattr(alignlib, "candidate_nearest", measured)
    monkeypatch.setattr(alignlib, "PAIR_BLOCK", 1024)  # blocks of pairs: a constant
    tracemalloc.start()
    try:
        links = align_pair(a, b, params)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    full_matrix = len(a) * len(b) * 4  # one float32 matrix: 30 MB
    # The candidate search holds (len(a) + len(b)) · candidates pairs, a few arrays of them ...
    assert search_peak[0] < full_matrix / 6
    # ... and the whole alignment adds per-candidate Python objects (score lookups), still linear.
    assert peak < full_matrix / 2
    assert len({((int(i),), (j,)) for j, i in enumerate(order)} & pairs(links)) >= 2400


def test_exact_pair_max_is_the_largest_side_computed_exactly(
        monkeypatch: pytest.MonkeyPatch) -> None:
    a, b, _ = planted(n=40, seed=23)
    calls = []
    real = alignlib.candidate_nearest
    monkeypatch.setattr(alignlib, "candidate_nearest",
                        lambda *args: calls.append(1) or real(*args))
    align_pair(side(a), side(b[:30]), AlignParams(exact_pair_max=40))
    assert calls == []
    align_pair(side(a), side(b[:30]), AlignParams(exact_pair_max=39))
    assert calls == [1]


@pytest.mark.parametrize("ties", [False, True])
def test_candidates_from_exact_indexes_equal_the_blockwise_search(ties: bool) -> None:
    """With flat (exact) indexes and no lexical term, the candidate path is the exact path."""
    a, b = random_sides(1, 60, 45, ties)
    params = AlignParams(candidates=7, lexical_weight=0.0, exact_pair_max=10_000)
    for got, want in zip(alignlib.candidate_nearest(a, b, params), nearest(a, b, params),
                         strict=True):
        assert got.shape == want.shape
        if ties:  # equal vectors tie: either index is right, the values must match
            continue
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    got_val = alignlib.candidate_nearest(a, b, params)[1]
    np.testing.assert_allclose(got_val, nearest(a, b, params)[1], rtol=0, atol=1e-6)


def test_a_tiny_side_against_a_large_one() -> None:
    a, b, _ = planted(n=600, seed=24)
    params = AlignParams(lexical_weight=0.0, min_margin=1.0)
    links = align_pair(side(a[:3]), side(b), AlignParams(**{**params.__dict__,
                                                            "exact_pair_max": 50}))
    want = align_pair(side(a[:3]), side(b), params)
    assert pairs(links) == pairs(want) and len(links) == 3
    for got, expected in zip(links, want, strict=True):
        assert got.score == pytest.approx(expected.score, abs=1e-6)
        assert got.margin == pytest.approx(expected.margin, abs=1e-5)


def test_align_params_mirror_the_align_config() -> None:
    """The align stage builds AlignParams from AlignConfig fields of the same names."""
    from pipeline.config import AlignConfig

    config = AlignConfig()
    for name, field in AlignParams.__dataclass_fields__.items():
        assert name in AlignConfig.model_fields, name
        assert getattr(config, name) == field.default, name
    params = AlignParams(**AlignConfig(exact_pair_max=7).model_dump(
        include=set(AlignParams.__dataclass_fields__)))
    assert params.exact_pair_max == 7


def test_the_align_stage_passes_exact_pair_max(make_job, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.runner import run_job

    exact = run_job(make_job()).tables["alignments"]
    calls = []
    real = alignlib.candidate_nearest
    monkeypatch.setattr(alignlib, "candidate_nearest",
                        lambda *args: calls.append(1) or real(*args))
    approximate = run_job(make_job(align={"exact_pair_max": 4}), force=True).tables["alignments"]
    assert calls  # the seeds' documents have 14–27 sentences: every pair went approximate

    def links(table) -> set[tuple[tuple[str, ...], tuple[str, ...]]]:
        return set(zip(table["sent_ids_a"].map(tuple), table["sent_ids_b"].map(tuple),
                       strict=True))

    assert len(links(exact) & links(approximate)) >= 0.8 * len(exact)
