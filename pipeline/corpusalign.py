"""Align a whole corpus: mine it once, then align each document pair it supports, as a
translation or as comparable news. The orchestration of three algorithm modules, model-free.

1. :mod:`pipeline.corpusmining` finds corpus-wide links and the document pairs they support
   (:func:`plan_pairs`).
2. Each supported pair is classified from its own links: *parallel* (a translation) when nearly
   all of them lie on one increasing chain (``parallel_min_order``), there are at least
   ``PARALLEL_MIN_LINKS`` of them and they cover ``parallel_min_coverage`` of the shorter
   document; *comparable* (reordered news) otherwise. ``mode`` forces one.
3. :func:`align_planned` aligns one pair: :func:`pipeline.orderedalign.align_ordered` anchored
   on the chain for parallel pairs, :func:`pipeline.alignlib.align_pair` for comparable ones.
   Pairs are independent, so an executor may run them anywhere, in any grouping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from pipeline.alignlib import AlignParams, Link, SideData, align_pair
from pipeline.corpusmining import (
    CorpusData,
    CorpusLink,
    MiningParams,
    Neighbours,
    margins,
    monotone_share,
    mutual_links,
    search,
    supported_pairs,
)
from pipeline.orderedalign import OrderedParams, align_ordered

#: Fewer links than this say nothing about order (3 random links are in order 1 time in 6), so
#: such a pair is aligned as comparable news under ``mode: auto``.
PARALLEL_MIN_LINKS = 6
#: A sentence of a parallel pair is *matched* when some candidate of it in the other document
#: has a ratio margin at least this quantile of the pair's own link margins.
UNMATCHED_QUANTILE = 0.2


@dataclass(frozen=True)
class CorpusAlignParams:
    mining: MiningParams = field(default_factory=MiningParams)
    pair: AlignParams = field(default_factory=AlignParams)
    ordered: OrderedParams = field(default_factory=OrderedParams)
    mode: str = "auto"
    parallel_min_order: float = 0.75
    parallel_min_coverage: float = 0.3


def planning_params(config) -> CorpusAlignParams:
    """The parameters of :func:`plan_pairs` (mining, pair mode) that a job's ``align`` config
    section (:class:`pipeline.config.AlignConfig`) describes; the pair-alignment ones default."""
    return CorpusAlignParams(
        mining=MiningParams(
            k=config.k, candidates=config.candidates, lexical_weight=config.lexical_weight,
            min_margin=config.evidence_min_margin, min_score=config.evidence_min_score,
            min_links=config.min_links, min_link_share=config.min_link_share,
            strong_margin=config.strong_margin, weak_pairs=config.weak_pairs,
            pairs=config.pairs,
            same_outlet=config.same_outlet, date_window_days=config.date_window_days),
        mode=config.mode, parallel_min_order=config.parallel_min_order,
        parallel_min_coverage=config.parallel_min_coverage)


def params_from_config(config) -> CorpusAlignParams:
    """All the parameters a job's ``align`` config section describes."""
    return replace(
        planning_params(config),
        pair=AlignParams(**config.model_dump(include=set(AlignParams.__dataclass_fields__))),
        ordered=OrderedParams(max_align=config.max_align, band=config.band, skip=config.skip,
                              skip_unmatched=config.skip_unmatched))


@dataclass(frozen=True)
class PairPlan:
    """A supported document pair (``a < b``), how to align it, and its anchors (positions)."""

    a: int
    b: int
    mode: str
    anchors: tuple[tuple[int, int], ...]
    #: parallel pairs: which sentences of each document have a candidate in the other one as
    #: good as the pair's weaker links (:func:`matched`; see
    #: :func:`pipeline.orderedalign.align_ordered`)
    matched_a: tuple[bool, ...] = ()
    matched_b: tuple[bool, ...] = ()
    links: int = 0


@dataclass(frozen=True)
class Plan:
    pairs: list[PairPlan]
    links: int


def classify(links: list[CorpusLink], position: np.ndarray, size_a: int, size_b: int,
             params: CorpusAlignParams) -> tuple[str, tuple[tuple[int, int], ...]]:
    """``parallel`` or ``comparable``, and the anchors (positions on the monotone chain)."""
    share, chain = monotone_share(links, position)
    anchors = tuple((int(position[links[n].i]), int(position[links[n].j])) for n in chain)
    if params.mode != "auto":
        return params.mode, anchors
    coverage = len(links) / max(min(size_a, size_b), 1)
    parallel = (len(links) >= PARALLEL_MIN_LINKS and share >= params.parallel_min_order
                and coverage >= params.parallel_min_coverage)
    return ("parallel" if parallel else "comparable"), anchors


def positions(corpus: CorpusData) -> np.ndarray:
    """Each sentence's position within its document (sentences are grouped by document)."""
    starts = np.searchsorted(corpus.doc, corpus.doc)
    return np.arange(len(corpus.doc)) - starts


def plan_pairs(corpus: CorpusData, params: CorpusAlignParams,
               progress: Callable[[int], None] | None = None) -> Plan:
    """Steps 1 and 2 of the module doc: the supported document pairs and how to align each."""
    neighbours = search(corpus, params.mining, progress)
    links = mutual_links(corpus, neighbours, params.mining.min_margin, params.mining.min_score)
    position = positions(corpus)
    sizes = np.bincount(corpus.doc, minlength=len(corpus.outlet))
    plans = []
    margin = None
    for (a, b), pair_links in supported_pairs(corpus, links, params.mining).items():
        mode, anchors = classify(pair_links, position, int(sizes[a]), int(sizes[b]), params)
        if mode == "parallel":
            margin = margins(corpus, neighbours) if margin is None else margin
            floor = float(np.quantile([link.margin for link in pair_links], UNMATCHED_QUANTILE))
            plans.append(PairPlan(a, b, mode, anchors,
                                  matched(corpus, neighbours, margin, a, b, floor),
                                  matched(corpus, neighbours, margin, b, a, floor),
                                  len(pair_links)))
        else:
            plans.append(PairPlan(a, b, mode, anchors, links=len(pair_links)))
    return Plan(plans, len(links))


def matched(corpus: CorpusData, neighbours: Neighbours, margin: np.ndarray, doc: int,
            other: int, floor: float) -> tuple[bool, ...]:
    """Per sentence of ``doc``: has it a candidate in ``other`` with a ratio margin ≥ floor?"""
    start, stop = np.searchsorted(corpus.doc, [doc, doc + 1])
    index = neighbours.index[start:stop]
    found = (index >= 0) & (corpus.doc[np.where(index >= 0, index, 0)] == other)
    return tuple((found & (margin[start:stop] >= floor)).any(axis=(1, 2)).tolist())


def document_side(corpus: CorpusData, lengths: np.ndarray, doc: int) -> SideData:
    """One document's sentences as :class:`pipeline.alignlib.SideData`."""
    start, stop = np.searchsorted(corpus.doc, [doc, doc + 1])
    return SideData(corpus.embeddings[start:stop], corpus.lexical[start:stop],
                    lengths[start:stop])


def run_sizes(params: CorpusAlignParams, mode: str) -> range:
    """Sizes of the sentence runs a pair's merged units are built from: 2 … max_align - 1 for
    a parallel pair, 2 for a comparable one (its merges are 1-2 / 2-1)."""
    return range(2, params.ordered.max_align if mode == "parallel" else 3)


def align_planned(a: SideData, b: SideData, plan: PairPlan, params: CorpusAlignParams
                  ) -> list[Link]:
    """Step 3: the links of one planned pair, as sentence positions within each document.

    The sides' ``runs`` (embeddings of runs of consecutive sentences, by size: see
    :func:`run_sizes`) give merged units their vectors; absent, they are averaged.
    """
    if plan.mode == "parallel":
        return align_ordered(a, b, list(plan.anchors), params.ordered,
                             np.array(plan.matched_a, bool) if plan.matched_a else None,
                             np.array(plan.matched_b, bool) if plan.matched_b else None)
    return align_pair(a, b, params.pair)
