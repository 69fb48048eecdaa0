"""Corpus alignment against a plain corpus-level FAISS ratio-margin miner, on one synthetic crawl.

    python benchmarks/align_corpus.py                          # 20k and 200k sentences (make bench)
    python benchmarks/align_corpus.py --quick                  # 2k sentences, a smoke test
    python benchmarks/align_corpus.py --sentences 20000 --variants exact

One JSON line per size and variant on stdout (progress on stderr). Both sides run in the same
process on the same vectors; ``time_ratio`` is ``ours_s / baseline_s`` (the goal is ≤ 2). Both use
dense similarity only: ours runs with ``lexical_weight=0`` over an all-zero one-column lexical
matrix. See benchmarks/README.md.

- **ours**: :func:`pipeline.corpusalign.plan_pairs` (corpus-wide exact search, mutual links,
  supported document pairs, parallel / comparable) and :func:`align_planned` on every planned
  pair, with the align stage's default parameters.
- **baseline**: what LASER / CCMatrix mining does: ``faiss.IndexFlatIP`` over all sentences,
  ``k + EXTRA`` neighbours per sentence, same-document and same-outlet neighbours dropped (and,
  in the dated variant, neighbours outside the date window), ratio margin with ``k = 4``
  (Artetxe & Schwenk), mutual-best pairs with margin ≥ 1.0, 1-1 only.

Variants: ``exact`` (undated documents, ``date_window_days=None``: every sentence against every
sentence) and ``window7`` (the same vectors, documents dated over ``DAYS`` days, a story's
documents within ±3 days of each other, ``date_window_days=7``: the realistic crawl case). The
baseline's search is the same full search in both; in ``window7`` it only drops out-of-window
neighbours afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DIM = 384
OUTLETS = 40  # outlet o writes in language o % 2
DAYS = 90  # dated variant: a quarter's crawl
WINDOW = 7
K = 4
EXTRA = 32  # baseline: neighbours searched beyond k (a document has at most 30 sentences)
BASELINE_MIN_MARGIN = 1.0
QUERY_CHUNK = 8192
# Squared weights of a sentence vector's parts (module doc of ``synthetic_corpus``).
GLOBAL, LANGUAGE, STORY_AND_STATEMENT = 0.10, 0.05, 0.75


def log(message: str) -> None:
    print(f"[align_corpus] {message}", file=sys.stderr, flush=True)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


# ------------------------------------------------------------------------------------- corpus


@dataclass
class Synthetic:
    embeddings: np.ndarray  # float32, unit rows, grouped by document
    doc: np.ndarray  # per sentence, sorted
    outlet: np.ndarray  # per document
    lang: np.ndarray
    day: np.ndarray  # per document: day number (the dated variant)
    lengths: np.ndarray  # per sentence, characters
    gold: set[tuple[int, int]]  # planted pairs of sentence ids (lower id first)
    stories: int
    translations: int


def synthetic_corpus(target: int, seed: int) -> Synthetic:
    """Documents of 10–30 sentences in stories of 2–4 documents, until ``target`` sentences.

    A sentence vector is the unit-normalised sum of a global direction (squared weight 0.10:
    unrelated stories have cosine ≈ 0.1), its outlet's language direction (0.05), the story's
    topic (0.20–0.40) and the statement's own direction (0.35–0.55; the two add up to 0.75, so
    some statements are more generic than others), plus rendering noise (0.05–0.25 per sentence).
    Planted pairs then have cosine ≈ 0.75–0.9, unrelated sentences of one story ≈ 0.3–0.5.

    - Comparable story (4 in 5): 2–4 documents from different outlets (so mixed languages); the
      story has 15–40 statements; each document keeps a random 60% of them (at most 26) in random
      order, plus 2–6 filler sentences of its own (story topic, no counterpart). Gold: every pair
      of renderings of one statement in two documents.
    - Translation story (1 in 5): a source document of 10–30 statements (language 0 or 1) and its
      translation by an outlet of the other language, in the same order: each statement is
      dropped with probability 0.08, merged with the next one (the two renderings averaged) with
      probability 0.1, and a filler sentence is inserted after it with probability 0.05. Gold:
      1-1 pairs, and both pairs of a merge.

    Characters: 60–220 per statement, ×0.85–1.15 per rendering, summed for a merge. Documents
    are shuffled (their order says nothing of the story). Days: story day uniform in ``DAYS``,
    each document within ±3 days of it.
    """
    rng = np.random.default_rng(seed)
    global_dir = _unit(rng.standard_normal(DIM))
    lang_dir = _unit(rng.standard_normal((2, DIM)))
    outlet_lang = np.arange(OUTLETS) % 2

    docs: list[dict[str, Any]] = []  # vectors, lengths, statement keys, outlet, day, story
    total, stories, translations = 0, 0, 0
    while total < target:
        story, first = stories, len(docs)
        stories += 1
        topic = _unit(rng.standard_normal(DIM))
        day = float(rng.integers(0, DAYS))
        translation = rng.random() < 0.2
        if translation:
            translations += 1
            count = int(rng.integers(10, 31))
        else:
            count = int(rng.integers(15, 41))
        specific = rng.uniform(0.35, 0.55, count)  # squared weight of the statement's direction
        base = (np.sqrt(STORY_AND_STATEMENT - specific)[:, None] * topic
                + np.sqrt(specific)[:, None] * _unit(rng.standard_normal((count, DIM))))
        chars = rng.integers(60, 221, count).astype(np.float64)

        def filler(size: int, topic_: np.ndarray = topic) -> tuple[np.ndarray, np.ndarray]:
            spec = rng.uniform(0.35, 0.55, size)
            vectors = (np.sqrt(STORY_AND_STATEMENT - spec)[:, None] * topic_
                       + np.sqrt(spec)[:, None] * _unit(rng.standard_normal((size, DIM))))
            return vectors, rng.integers(60, 221, size).astype(np.float64)

        def render(vectors: np.ndarray, lang: int) -> np.ndarray:
            noise = np.sqrt(rng.uniform(0.05, 0.25, len(vectors)))[:, None]
            return (np.sqrt(GLOBAL) * global_dir + np.sqrt(LANGUAGE) * lang_dir[lang] + vectors
                    + noise * _unit(rng.standard_normal((len(vectors), DIM))))

        def add(raw: np.ndarray, lengths: np.ndarray, keys: list[Any], outlet: int,
                story: int = story, day: float = day) -> None:
            docs.append({"vectors": _unit(raw).astype(np.float32), "lengths": lengths,
                         "keys": keys, "outlet": outlet, "story": story,
                         "day": day + float(rng.integers(-3, 4))})

        if translation:
            source_lang = int(rng.integers(0, 2))
            source_outlet = int(rng.choice(np.flatnonzero(outlet_lang == source_lang)))
            target_outlet = int(rng.choice(np.flatnonzero(outlet_lang != source_lang)))
            scale = rng.uniform(0.85, 1.15, count)
            add(render(base, source_lang), chars * scale, [(s,) for s in range(count)],
                source_outlet)
            rendered = render(base, 1 - source_lang)
            raw, lengths, keys = [], [], []
            s = 0
            while s < count:
                if rng.random() < 0.08:  # not translated
                    s += 1
                    continue
                if s + 1 < count and rng.random() < 0.1:  # two statements in one sentence
                    raw.append((rendered[s] + rendered[s + 1]) / 2)
                    lengths.append(chars[s] + chars[s + 1])
                    keys.append((s, s + 1))
                    s += 2
                else:
                    raw.append(rendered[s])
                    lengths.append(chars[s] * rng.uniform(0.85, 1.15))
                    keys.append((s,))
                    s += 1
                if rng.random() < 0.05:  # a sentence of the translator's own
                    vector, length = filler(1)
                    raw.append(render(vector, 1 - source_lang)[0])
                    lengths.append(float(length[0]))
                    keys.append(())
            add(np.array(raw), np.array(lengths), keys, target_outlet)
        else:
            size = int(rng.integers(2, 5))
            keep = min(round(0.6 * count), 26)
            for outlet in rng.choice(OUTLETS, size, replace=False).tolist():
                lang = int(outlet_lang[outlet])
                kept = rng.choice(count, keep, replace=False)
                extra_vectors, extra_chars = filler(int(rng.integers(2, 7)))
                vectors = np.concatenate([base[kept], extra_vectors])
                lengths = np.concatenate([chars[kept] * rng.uniform(0.85, 1.15, keep),
                                          extra_chars])
                keys = [(int(s),) for s in kept] + [()] * len(extra_vectors)
                order = rng.permutation(len(vectors))
                add(render(vectors[order], lang), lengths[order], [keys[o] for o in order],
                    outlet)
        total += sum(len(d["keys"]) for d in docs[first:])

    order = rng.permutation(len(docs))
    docs = [docs[o] for o in order]
    sizes = np.array([len(d["keys"]) for d in docs])
    starts = np.concatenate([[0], np.cumsum(sizes)])
    gold: set[tuple[int, int]] = set()
    by_story: dict[int, list[int]] = {}
    for n, d in enumerate(docs):
        by_story.setdefault(d["story"], []).append(n)
    for members in by_story.values():
        where = []  # per document: statement → sentence ids rendering it
        for n in members:
            found: dict[int, list[int]] = {}
            for position, key in enumerate(docs[n]["keys"]):
                for s in key:
                    found.setdefault(s, []).append(int(starts[n]) + position)
            where.append(found)
        for x in range(len(members)):
            for y in range(x + 1, len(members)):
                for s, ids in where[x].items():
                    for i in ids:
                        for j in where[y].get(s, ()):
                            gold.add((min(i, j), max(i, j)))
    return Synthetic(
        embeddings=np.concatenate([d["vectors"] for d in docs]),
        doc=np.repeat(np.arange(len(docs), dtype=np.int64), sizes),
        outlet=np.array([d["outlet"] for d in docs], dtype=np.int64),
        lang=outlet_lang[[d["outlet"] for d in docs]].astype(np.int64),
        day=np.array([d["day"] for d in docs], dtype=np.float64),
        lengths=np.concatenate([d["lengths"] for d in docs]).astype(np.float32),
        gold=gold, stories=stories, translations=translations)


# ----------------------------------------------------------------------------------- the sides


def run_ours(data: Synthetic, window: float | None, progress: Callable[[str], None]
             ) -> tuple[set[tuple[int, int]], list[tuple[tuple[int, ...], tuple[int, ...]]],
                        dict[str, Any]]:
    """plan_pairs + align_planned on every pair, with the align stage's defaults, dense only.

    No embedding model here, so merged units average their sentences' vectors (``runs=None``)."""
    from pipeline.config import AlignConfig
    from pipeline.corpusalign import align_planned, document_side, params_from_config, plan_pairs
    from pipeline.corpusmining import CorpusData

    params = params_from_config(AlignConfig(
        lexical_weight=0.0, date_window_days=None if window is None else int(window)))
    n = len(data.doc)
    day = data.day if window is not None else np.full(len(data.day), np.nan)
    started = time.perf_counter()
    corpus = CorpusData(data.embeddings, sparse.csr_matrix((n, 1), dtype=np.float32), data.doc,
                        data.outlet, data.lang, np.zeros(len(data.outlet), dtype=np.int64), day)
    total = n * (int(data.lang.max()) + 1)
    done, shown = [0], [0]

    def searched(rows: int) -> None:
        done[0] += rows
        if done[0] * 10 // total > shown[0]:
            shown[0] = done[0] * 10 // total
            progress(f"ours: search {done[0]}/{total} query rows "
                     f"({time.perf_counter() - started:.0f} s)")

    plan = plan_pairs(corpus, params, progress=searched)
    plan_s = time.perf_counter() - started
    progress(f"ours: {len(plan.pairs)} document pairs planned in {plan_s:.1f} s; aligning")
    starts = np.searchsorted(data.doc, np.arange(len(data.outlet) + 1))
    links = []
    for number, pair in enumerate(plan.pairs):
        found = align_planned(document_side(corpus, data.lengths, pair.a),
                              document_side(corpus, data.lengths, pair.b), pair, params)
        for link in found:
            if link.a and link.b:
                links.append((tuple(int(starts[pair.a]) + i for i in link.a),
                              tuple(int(starts[pair.b]) + j for j in link.b)))
        if (number + 1) % 5000 == 0:
            progress(f"ours: aligned {number + 1}/{len(plan.pairs)} pairs")
    seconds = time.perf_counter() - started
    modes = [pair.mode for pair in plan.pairs]
    pairs = {(min(i, j), max(i, j)) for a, b in links for i in a for j in b}
    return pairs, links, {"ours_s": seconds, "ours_plan_s": plan_s,
                          "ours_align_s": seconds - plan_s, "corpus_links": plan.links,
                          "document_pairs": len(plan.pairs),
                          "parallel_pairs": modes.count("parallel"),
                          "comparable_pairs": modes.count("comparable")}


def run_baseline(data: Synthetic, window: float | None, progress: Callable[[str], None]
                 ) -> tuple[set[tuple[int, int]], float]:
    """faiss.IndexFlatIP over every sentence; ratio margin (k = 4); mutual best ≥ 1.0; 1-1."""
    import faiss

    started = time.perf_counter()
    n = len(data.doc)
    index = faiss.IndexFlatIP(DIM)
    index.add(data.embeddings)
    width = min(K + EXTRA, n)
    sims = np.empty((n, width), dtype=np.float32)
    ids = np.empty((n, width), dtype=np.int64)
    for start in range(0, n, QUERY_CHUNK):
        stop = min(start + QUERY_CHUNK, n)
        sims[start:stop], ids[start:stop] = index.search(data.embeddings[start:stop], width)
        if (start // QUERY_CHUNK) % max(1, n // QUERY_CHUNK // 10) == 0:
            progress(f"baseline: search {stop}/{n} ({time.perf_counter() - started:.0f} s)")
    doc = data.doc
    found = np.where(ids >= 0, ids, 0)
    drop = (ids < 0) | (doc[found] == doc[:, None])
    drop |= data.outlet[doc[found]] == data.outlet[doc][:, None]
    if window is not None:
        drop |= np.abs(data.day[doc[found]] - data.day[doc][:, None]) > window
    sims[drop] = -np.inf
    order = np.argsort(-sims, axis=1, kind="stable")[:, :K]  # the k best kept neighbours
    sims = np.take_along_axis(sims, order, axis=1).astype(np.float64)
    ids = np.take_along_axis(found, order, axis=1)
    valid = np.isfinite(sims)
    with np.errstate(invalid="ignore", divide="ignore"):
        knn = np.where(valid, sims, 0.0).sum(axis=1) / valid.sum(axis=1)
        margin = sims / ((knn[:, None] + knn[ids]) / 2)
    margin[~valid | ~np.isfinite(margin)] = -np.inf
    slot = margin.argmax(axis=1)
    rows = np.arange(n)
    best = ids[rows, slot]
    best_margin = margin[rows, slot]
    keep = (best_margin >= BASELINE_MIN_MARGIN) & (best[best] == rows) & (rows < best)
    pairs = set(zip(rows[keep].tolist(), best[keep].tolist(), strict=True))
    return pairs, time.perf_counter() - started


# ------------------------------------------------------------------------------------ scoring


def prf(found: int, predicted: int, gold: int) -> dict[str, float | None]:
    precision = found / predicted if predicted else None
    recall = found / gold if gold else None
    f1 = (2 * precision * recall / (precision + recall)
          if precision and recall else 0.0 if precision is not None else None)
    return {"precision": None if precision is None else round(precision, 4),
            "recall": None if recall is None else round(recall, 4),
            "f1": None if f1 is None else round(f1, 4)}


def hwm_reset() -> float:
    """Reset the kernel's peak-RSS mark; return the current RSS (MB)."""
    with contextlib.suppress(OSError):  # Linux ≥ 4.0; otherwise the peak is since start
        Path("/proc/self/clear_refs").write_text("5")
    return _status_mb("VmRSS")


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def commit() -> str:
    """The repository's HEAD, with ``+dirty`` when pipeline/ has uncommitted changes."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+dirty" if git("status", "--porcelain", "--", "pipeline") else "")


def bench(size: int, variants: list[str], seed: int, head: str) -> list[dict[str, Any]]:
    log(f"{size}: generating the corpus (seed {seed})")
    started = time.perf_counter()
    data = synthetic_corpus(size, seed)
    n = len(data.doc)
    log(f"{size}: {n} sentences, {len(data.outlet)} documents, {data.stories} stories "
        f"({data.translations} translations), {len(data.gold)} planted pairs "
        f"({time.perf_counter() - started:.1f} s)")
    gold = data.gold
    lines = []
    for variant in variants:
        window = None if variant == "exact" else float(WINDOW)
        say: Callable[[str], None] = lambda m, v=variant: log(f"{size} {v}: {m}")  # noqa: E731
        rss = hwm_reset()
        pairs, links, stats = run_ours(data, window, say)
        peak_ours = _status_mb("VmHWM") - rss
        say(f"ours: {stats['ours_s']:.1f} s, {len(links)} links")
        rss = hwm_reset()
        baseline, baseline_s = run_baseline(data, window, say)
        peak_baseline = _status_mb("VmHWM") - rss
        say(f"baseline: {baseline_s:.1f} s, {len(baseline)} pairs")
        ours = prf(len(pairs & gold), len(pairs), len(gold))
        plain = prf(len(baseline & gold), len(baseline), len(gold))
        correct = sum(any((min(i, j), max(i, j)) in gold for i in a for j in b)
                      for a, b in links)
        lines.append({
            "name": f"align_corpus_{variant}", "variant": variant, "sentences": n,
            "documents": len(data.outlet), "stories": data.stories,
            "translation_stories": data.translations, "planted_pairs": len(gold),
            "date_window_days": window, "days": DAYS if window is not None else None,
            "ours_s": round(stats["ours_s"], 3), "baseline_s": round(baseline_s, 3),
            "time_ratio": round(stats["ours_s"] / baseline_s, 3),
            "ours_plan_s": round(stats["ours_plan_s"], 3),
            "ours_align_s": round(stats["ours_align_s"], 3),
            **{f"{key}_ours": value for key, value in ours.items()},
            **{f"{key}_baseline": value for key, value in plain.items()},
            "links_ours": len(links), "link_precision_ours":
                round(correct / len(links), 4) if links else None,
            "pairs_ours": len(pairs), "pairs_baseline": len(baseline),
            "corpus_links": stats["corpus_links"], "document_pairs": stats["document_pairs"],
            "parallel_pairs": stats["parallel_pairs"],
            "comparable_pairs": stats["comparable_pairs"],
            "peak_mb_ours": round(peak_ours, 1), "peak_mb_baseline": round(peak_baseline, 1),
            "seed": seed, "commit": head, "load_1m": round(os.getloadavg()[0], 2),
        })
        print(json.dumps(lines[-1]), flush=True)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sentences", default="20000,200000", metavar="N[,N]",
                        help="corpus sizes in sentences (default 20000,200000)")
    parser.add_argument("--quick", action="store_true", help="2,000 sentences only (smoke test)")
    parser.add_argument("--variants", default="exact,window7",
                        help="exact (undated, no window) and/or window7 (default both)")
    parser.add_argument("--seed", type=int, default=20260101)
    args = parser.parse_args(argv)
    sizes = [2000] if args.quick else [int(s) for s in args.sentences.split(",") if s]
    variants = [v for v in args.variants.split(",") if v]
    if unknown := set(variants) - {"exact", "window7"}:
        parser.error(f"unknown variants: {sorted(unknown)}")
    head = commit()  # before pipeline is imported: the code every line measures
    for size in sizes:
        bench(size, variants, args.seed + size, head)
    return 0


if __name__ == "__main__":
    sys.exit(main())
