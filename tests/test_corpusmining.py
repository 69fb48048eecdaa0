"""corpusmining on synthetic embeddings: stories found from links, eligibility, determinism."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import sparse

import pipeline.corpusmining as corpusmining
from pipeline.corpusmining import (
    CorpusData,
    CorpusLink,
    MiningParams,
    monotone_share,
    mutual_links,
    search,
    supported_pairs,
)

DIM = 48
DENSE = MiningParams(lexical_weight=0.0, min_margin=1.0, k=3, candidates=8)


def unit(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float64)
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def corpus_of(docs: list[np.ndarray], outlet=None, lang=None, day=None) -> CorpusData:
    """One document per array of sentence vectors; by default each its own outlet, one language."""
    embeddings = np.concatenate(docs)
    doc = np.concatenate([np.full(len(d), n) for n, d in enumerate(docs)]).astype(np.int64)
    count = len(docs)
    return CorpusData(
        embeddings, sparse.csr_matrix((len(doc), 1), dtype=np.float32), doc,
        np.arange(count) if outlet is None else np.asarray(outlet),
        np.zeros(count, dtype=np.int64) if lang is None else np.asarray(lang),
        np.arange(count), np.full(count, np.nan) if day is None else np.asarray(day, float))


def stories(count: int = 5, size: int = 12, noise: float = 0.08, seed: int = 0):
    """``count`` stories, each one document and a shuffled, perturbed rendition of it."""
    rng = np.random.default_rng(seed)
    docs = []
    for _ in range(count):
        topic = rng.normal(size=DIM)
        original = unit(topic * 0.6 + rng.normal(size=(size, DIM)))
        rendition = unit(original[rng.permutation(size)] + noise * rng.normal(size=(size, DIM)))
        docs += [original, rendition]
    return docs


def test_links_and_supported_pairs_stay_within_stories() -> None:
    corpus = corpus_of(stories())
    links = mutual_links(corpus, search(corpus, DENSE), DENSE.min_margin)
    assert len(links) > 40
    assert all(corpus.doc[link.i] // 2 == corpus.doc[link.j] // 2 for link in links)
    assert sorted(supported_pairs(corpus, links, DENSE)) == [(0, 1), (2, 3), (4, 5), (6, 7),
                                                            (8, 9)]


def test_neighbours_are_eligible_only() -> None:
    docs = stories(count=3)
    # documents 0 and 1 share an outlet; documents 2..5 are in language 1 except 5 (language 0)
    corpus = corpus_of(docs, outlet=[0, 0, 1, 2, 3, 4], lang=[0, 0, 1, 1, 1, 0],
                       day=[0, 0, 30, 30, 30, np.nan])
    for params in (DENSE, MiningParams(**{**DENSE.__dict__, "pairs": "cross_language"}),
                   MiningParams(**{**DENSE.__dict__, "date_window_days": 7})):
        found = search(corpus, params)
        for i in range(len(corpus)):
            for j in found.index[i].ravel():
                if j < 0:
                    continue
                a, b = corpus.doc[i], corpus.doc[j]
                assert a != b and corpus.outlet[a] != corpus.outlet[b]
                if params.pairs == "cross_language":
                    assert corpus.lang[a] != corpus.lang[b]
                if params.date_window_days is not None and not np.isnan(corpus.day[[a, b]]).any():
                    assert abs(corpus.day[a] - corpus.day[b]) <= 7


def test_search_does_not_depend_on_block_size(monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = corpus_of(stories(count=4), day=[0, 1, 2, 3, 9, 10, 11, 12])
    params = MiningParams(**{**DENSE.__dict__, "date_window_days": 3})
    whole = search(corpus, params)
    monkeypatch.setattr(corpusmining, "MAX_BLOCK_ROWS", 5)
    monkeypatch.setattr(corpusmining, "BLOCK_CELLS", 40)
    blocked = search(corpus, params)
    assert np.array_equal(whole.index, blocked.index)
    assert np.array_equal(np.round(whole.score, 9), np.round(blocked.score, 9))
    assert mutual_links(corpus, whole, 1.0) == mutual_links(corpus, blocked, 1.0)


def test_a_sentence_like_everything_gets_no_link() -> None:
    docs = stories(count=4, seed=3)
    hub = unit(np.concatenate(docs).mean(axis=0, keepdims=True))
    docs[0] = np.concatenate([docs[0], hub])  # close to every sentence, restating none
    corpus = corpus_of(docs)
    found = search(corpus, DENSE)
    hub_id = len(docs[0]) - 1
    links = mutual_links(corpus, found, 1.0)
    assert len(links) > 30 and not [link for link in links if hub_id in (link.i, link.j)]


def test_a_story_lends_support_to_its_weak_pairs() -> None:
    corpus = corpus_of([np.eye(DIM, dtype=np.float32)[:10]] * 4)
    strong = [CorpusLink(n, 10 + n, 0.9, 1.05) for n in range(5)]  # documents 0-1
    strong += [CorpusLink(20 + n, 30 + n, 0.9, 1.05) for n in range(5)]  # documents 2-3
    weak = [CorpusLink(1, 21, 0.8, 1.01)]  # one link joins documents 0 and 2
    params = MiningParams(min_links=2, strong_margin=1.3, weak_pairs="story")
    assert sorted(supported_pairs(corpus, strong + weak, params)) == [(0, 1), (2, 3)]
    bridge = [CorpusLink(12, 32, 0.9, 1.4)]  # documents 1-3 by one strong link
    assert sorted(supported_pairs(corpus, strong + weak + bridge, params)) == [
        (0, 1), (0, 2), (1, 3), (2, 3)]
    # shared: 0 and 2 have no evidence partner in common (1 and 3), so the chain 0-1-3-2
    # does not make them one story; with 0-3 as evidence too, 3 is their shared partner.
    shared = replace(params, weak_pairs="shared")
    assert sorted(supported_pairs(corpus, strong + weak + bridge, shared)) == [
        (0, 1), (1, 3), (2, 3)]
    link_0_3 = [CorpusLink(n, 30 + n, 0.9, 1.05) for n in range(5, 8)]
    assert sorted(supported_pairs(corpus, strong + weak + bridge + link_0_3, shared)) == [
        (0, 1), (0, 2), (0, 3), (1, 3), (2, 3)]
    none = replace(params, weak_pairs="none")
    assert sorted(supported_pairs(corpus, strong + weak + bridge + link_0_3, none)) == [
        (0, 1), (0, 3), (1, 3), (2, 3)]


def test_few_chance_links_between_long_documents_are_no_story() -> None:
    corpus = corpus_of([np.eye(DIM, dtype=np.float32)[:40]] * 2)
    chance = [CorpusLink(n, 40 + n, 0.8, 1.01) for n in range(3)]
    assert supported_pairs(corpus, chance, MiningParams(min_links=2, min_link_share=0.1)) == {}
    assert supported_pairs(corpus, chance, MiningParams(min_links=2, min_link_share=0.05))


def test_monotone_share() -> None:
    position = np.arange(20)
    ordered = [CorpusLink(i, 10 + i, 0.9, 1.1) for i in range(10)]
    share, chain = monotone_share(ordered, position % 10)
    assert share == 1.0 and chain == list(range(10))
    reversed_links = [CorpusLink(i, 19 - i, 0.9, 1.1) for i in range(10)]
    assert monotone_share(reversed_links, position % 10)[0] == pytest.approx(0.1)
    assert monotone_share([], position) == (0.0, [])


def test_empty_and_one_language_corpora() -> None:
    empty = CorpusData(np.zeros((0, DIM), np.float32), sparse.csr_matrix((0, 1)),
                       np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64),
                       np.zeros(0, np.int64), np.zeros(0))
    assert mutual_links(empty, search(empty, DENSE), 1.0) == []
    corpus = corpus_of(stories(count=2), lang=[0, 0, 0, 0])
    params = MiningParams(**{**DENSE.__dict__, "pairs": "cross_language"})
    assert mutual_links(corpus, search(corpus, params), 1.0) == []


def crawl(seed: int = 7, documents: int = 40) -> CorpusData:
    """A small random crawl: stories in two languages, outlets shared by several documents,
    verbatim copies (exact ties)."""
    rng = np.random.default_rng(seed)
    docs = []
    for d in range(documents):  # stories of 4 documents
        topic = np.random.default_rng(d // 4).normal(size=DIM)
        size = int(rng.integers(3, 12))
        docs.append(unit(topic * 0.7 + rng.normal(size=(size, DIM))))
    for d in range(1, documents, 5):  # republished sentences: equal vectors in other documents
        docs[d][0] = docs[d - 1][0]
        docs[(d + 7) % documents][-1] = docs[d - 1][0]
    return corpus_of(docs, outlet=rng.integers(0, 9, documents),
                     lang=np.arange(documents) % 2)


@pytest.mark.parametrize("pairs", ["cross_document", "cross_language"])
def test_faiss_and_numpy_searches_find_the_same_candidates(
        monkeypatch: pytest.MonkeyPatch, pairs: str) -> None:
    corpus = crawl()
    params = MiningParams(**{**DENSE.__dict__, "pairs": pairs, "candidates": 12})
    numpy_found = search(corpus, params, backend="numpy")
    assert (numpy_found.index >= 0).sum() > len(corpus)
    links = mutual_links(corpus, numpy_found, 1.0)
    assert links

    def same(found) -> None:
        assert np.array_equal(found.index, numpy_found.index)
        assert np.array_equal(np.round(found.score, 9), np.round(numpy_found.score, 9))
        assert mutual_links(corpus, found, 1.0) == links

    monkeypatch.setattr(corpusmining, "MAX_BLOCK_ROWS", 7)
    monkeypatch.setattr(corpusmining, "POOL_EXTRA", 1)
    same(search(corpus, params, backend="numpy"))
    with monkeypatch.context() as wide:  # pools past the partition: whole rows scanned
        wide.setattr(corpusmining, "SEARCH_TOLERANCE", 0.02)
        same(search(corpus, params, backend="numpy"))
    pytest.importorskip("faiss")
    same(search(corpus, params, backend="faiss"))
    same(search(corpus, params))  # auto: faiss for dense similarity without a window
    monkeypatch.setattr(corpusmining, "FETCH_EXTRA", 2)  # most rows fetch too few: exact rows
    monkeypatch.setattr(corpusmining, "FAISS_ROWS", 5)
    same(search(corpus, params, backend="faiss"))


def test_faiss_backend_needs_dense_similarity_without_a_window() -> None:
    corpus = crawl(documents=8)
    with pytest.raises(ValueError, match="backend"):
        search(corpus, DENSE, backend="annoy")
    for key, value in (("lexical_weight", 0.2), ("date_window_days", 7)):
        with pytest.raises(ValueError, match="dense"):
            search(corpus, MiningParams(**{**DENSE.__dict__, key: value}), backend="faiss")


def _reference_mutual_links(corpus: CorpusData, neighbours, min_margin: float,
                            min_score: float = 0.0) -> list[CorpusLink]:
    """mutual_links as first written: one lexsort over every candidate (slow, plain)."""
    margin = corpusmining.margins(corpus, neighbours)
    copy = neighbours.score >= 1.0 - corpusmining.DUPLICATE_TOLERANCE
    best_other = np.where(copy, -np.inf, margin).max(axis=2)
    found = np.isfinite(margin)
    rows = np.broadcast_to(np.arange(len(corpus))[:, None, None], margin.shape)[found]
    cols, values = neighbours.index[found], margin[found]
    scores, copies = neighbours.score[found], copy[found]
    order = np.lexsort((cols, -scores, -values, corpus.doc[cols], rows))
    rows, cols, values = rows[order], cols[order], values[order]
    scores, copies = scores[order], copies[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (corpus.doc[cols[1:]] != corpus.doc[cols[:-1]])
    rows, cols, values = rows[first], cols[first], values[first]
    scores, copies = scores[first], copies[first]
    n = np.int64(len(corpus))
    lang = corpus.lang[corpus.doc]
    tolerance = corpusmining.MARGIN_TOLERANCE
    tied = ((values >= best_other[rows, lang[cols]] - tolerance)
            & (values >= best_other[cols, lang[rows]] - tolerance))
    mutual = (np.isin(cols * n + rows, rows * n + cols) & (rows < cols)
              & (copies | (tied & (values >= min_margin - tolerance))) & (scores >= min_score))
    return [CorpusLink(int(i), int(j), float(s), float(v)) for i, j, v, s in
            zip(rows[mutual], cols[mutual], values[mutual], scores[mutual], strict=True)]


@pytest.mark.parametrize("seed", range(6))
def test_mutual_links_keep_every_tie_rule(seed: int) -> None:
    """Random neighbour tables of coarse (much tied) similarities, copies and gaps: the grouped
    search for each sentence's best candidate per document picks what a full sort picks."""
    rng = np.random.default_rng(seed)
    corpus = crawl(seed=seed, documents=30)
    n, languages, slots = len(corpus), 2, 6
    index = np.full((n, languages, slots), -1, dtype=np.int64)
    score = np.full((n, languages, slots), -np.inf)
    sentence_lang = corpus.lang[corpus.doc]
    for i in range(n):
        for t in range(languages):
            pool = np.flatnonzero((sentence_lang == t) & (corpus.doc != corpus.doc[i]))
            count = min(len(pool), int(rng.integers(0, slots + 1)))
            index[i, t, :count] = rng.choice(pool, count, replace=False)
            values = np.sort(rng.choice([1.0, 0.9, 0.8, 0.7, 0.6], count))[::-1]
            order = np.lexsort((index[i, t, :count], -values))
            index[i, t, :count], score[i, t, :count] = index[i, t, :count][order], values[order]
    found = corpusmining.Neighbours(index, score, corpusmining.neighbourhood_means(score, 3))
    for min_margin, min_score in ((1.0, 0.0), (0.9, 0.75), (1.1, 0.0)):
        links = mutual_links(corpus, found, min_margin, min_score)
        assert links == _reference_mutual_links(corpus, found, min_margin, min_score)
    assert mutual_links(corpus, found, 0.0)
    assert all(type(link.i) is int and type(link.margin) is float
               for link in mutual_links(corpus, found, 0.0))


def test_weak_pairs_rules_on_no_links_and_unknown_rules() -> None:
    corpus = corpus_of([np.eye(DIM, dtype=np.float32)[:10]] * 3)
    for rule in ("shared", "story", "none"):
        assert supported_pairs(corpus, [], MiningParams(weak_pairs=rule)) == {}
    # a weak pair's documents reversed in the link (j's document first) still find their
    # shared partner 1: documents 0-1 and 1-2 are evidence, the one 2-0 link is not
    links = [CorpusLink(n, 10 + n, 0.9, 1.05) for n in range(5)]
    links += [CorpusLink(10 + n, 20 + n, 0.9, 1.05) for n in range(5)]
    links += [CorpusLink(29, 9, 0.8, 1.01)]
    found = supported_pairs(corpus, links, MiningParams(min_links=2, strong_margin=1.3))
    assert sorted(found) == [(0, 1), (0, 2), (1, 2)]
    assert [(link.i, link.j) for link in found[(0, 2)]] == [(9, 29)]
    with pytest.raises(ValueError, match="weak_pairs"):
        supported_pairs(corpus, links, MiningParams(weak_pairs="shard"))
