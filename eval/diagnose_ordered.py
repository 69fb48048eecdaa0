"""Search or score? Where the ordered aligner's path differs from MAC-Dev's gold, which of the
two paths does the aligner's own score prefer?

Runs MAC-Dev's chapters as one job, as ``eval/evaluate_ordered.py`` does (with
``executor.concurrency=1``, so the align stage runs in this process), and records what each
parallel document pair's call to :func:`pipeline.orderedalign.align_ordered` received and
returned. Both paths are then cut at the points they share (a point is a link's end ``(i, j)``:
``i`` source and ``j`` target sentences covered), and over each stretch between two shared
points the DP gains of the two paths' links are summed, with the units, skip costs, merge cost
and length ratio the aligner used for that pair (the skip costs of the path it returned: the
unmatched flags standing or set aside). Each stretch where the paths differ is one of:

- ``scoring``: our path scores at least as high as gold's: the DP found the best path under its
  score, and the score (the similarity, the margin, the costs) preferred a wrong alignment;
- ``search``: gold scores higher and every gold link lies in the band: cannot happen for an exact
  DP (reported as a check);
- ``band``: gold scores higher but one of its links lies outside the DP's band (its skips
  taken 1-0 first: another order of the same skips may stay inside);
- ``types``: gold has a link of more than ``max_align`` sentences (1-5, 2-4, 3-3 …), which the
  aligner never forms.

Reported per kind: stretches and the gold links in them; and, for ``scoring``, the median of
(ours − gold) over the stretch, in units of the pair's score spread, and the stretches where
gold would win without the merge cost (the similarity preferring gold, the cost overruling it).

    python eval/diagnose_ordered.py [--corpus ../shared/corpora/mac_dev_zhen]
        [--chapters 001,002,003] [--config configs/bitext.yaml] [--set align.key=value ...]
        [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path
from statistics import median

import numpy as np

EVAL = Path(__file__).resolve().parent
ROOT = EVAL.parent
for _folder in (ROOT, EVAL):  # run as a script from anywhere, or loaded by file path
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from evaluate_ordered import BITEXT_CONFIG, DEFAULT_MAC, evaluate, load_mac  # noqa: E402

Step = tuple[int, int, int, int]  # (size_a, size_b, i, j): a[i - size_a:i] with b[j - size_b:j]


def gold_path(links: list[tuple[tuple[int, ...], tuple[int, ...]]], n: int, m: int
              ) -> list[Step]:
    """Gold links (line ids; an empty side = unaligned) as a monotone path over ``n`` × ``m``:
    the aligned links in order, every line outside them left out (1-0 / 0-1)."""
    path: list[Step] = []
    i = j = 0
    for a, b in sorted((link for link in links if link[0] and link[1]),
                       key=lambda link: (min(link[0]), min(link[1]))):
        if list(a) != list(range(min(a), max(a) + 1)) or list(b) != list(
                range(min(b), max(b) + 1)) or min(a) < i or min(b) < j:
            raise ValueError(f"gold link {list(a)}:{list(b)} is not a run in order")
        path += [(1, 0, k + 1, j) for k in range(i, min(a))]
        i = min(a)
        path += [(0, 1, i, k + 1) for k in range(j, min(b))]
        i, j = max(a) + 1, max(b) + 1
        path.append((len(a), len(b), i, j))
    path += [(1, 0, k, j) for k in range(i + 1, n + 1)]
    path += [(0, 1, n, k) for k in range(j + 1, m + 1)]
    return path


def _segments(path: list[Step], cuts: set[tuple[int, int]]) -> list[list[Step]]:
    segments, current = [], []
    for step in path:
        current.append(step)
        if (step[2], step[3]) in cuts:
            segments.append(current)
            current = []
    return segments


def skips_in_one_order(path: list[Step]) -> list[Step]:
    """``path`` with each run of consecutive 1-0 / 0-1 steps put in one order (1-0 first): the
    same links, whichever order the DP or the gold file left them in."""
    out: list[Step] = []
    run: list[Step] = []
    for step in [*path, None]:
        if step is not None and not (step[0] and step[1]):
            run.append(step)
            continue
        if run:
            i, j = (run[0][2] - run[0][0], run[0][3] - run[0][1])
            dropped_a = sum(1 for size_a, *_ in run if size_a)
            out += [(1, 0, i + k + 1, j) for k in range(dropped_a)]
            out += [(0, 1, i + dropped_a, j + k + 1) for k in range(len(run) - dropped_a)]
            run = []
        if step is not None:
            out.append(step)
    return out


def stretches(ours: list[Step], gold: list[Step]) -> list[tuple[list[Step], list[Step]]]:
    """The two paths (each from ``(0, 0)`` to the same end; their skips put in one order) cut
    at every point both pass through: (our steps, gold steps) of each stretch where they
    differ, in order."""
    ours, gold = skips_in_one_order(ours), skips_in_one_order(gold)
    shared = {(i, j) for *_, i, j in ours} & {(i, j) for *_, i, j in gold}
    return [(mine, theirs) for mine, theirs in zip(_segments(ours, shared),
                                                   _segments(gold, shared), strict=True)
            if mine != theirs]


def record_calls() -> list[dict]:
    """Wrap the align stage's call to ``align_ordered`` to keep each call's inputs and links."""
    import pipeline.corpusalign as corpusalign

    calls: list[dict] = []
    real = corpusalign.align_ordered

    def recording(a, b, anchors, params, matched_a=None, matched_b=None):
        links = real(a, b, anchors, params, matched_a, matched_b)
        calls.append({"a": a, "b": b, "anchors": anchors, "params": params,
                      "matched_a": matched_a, "matched_b": matched_b, "links": links})
        return links

    corpusalign.align_ordered = recording  # for this process's one job: not restored
    return calls


def diagnose(call: dict, gold_links) -> list[dict]:
    """Each differing stretch of one document pair: its kind and the two paths' gains."""
    from pipeline.orderedalign import _block_scores, ordered_path

    a, b, params = call["a"], call["b"], call["params"]
    n, m = len(a), len(b)
    if not (n and m):
        return []
    found = ordered_path(a, b, call["anchors"], params, call["matched_a"], call["matched_b"])
    scores, spread, merge_cost = found.scores, found.spread, found.merge_cost
    skip_a, skip_b, lo, hi = found.skip_a, found.skip_b, found.lo, found.hi
    ours = []
    i = j = 0
    for link in call["links"]:
        i, j = i + len(link.a), j + len(link.b)
        ours.append((len(link.a), len(link.b), i, j))
    if found.path != ours:
        raise RuntimeError("the recorded links are not the path align_ordered computes: "
                           "the recording and pipeline/orderedalign.py disagree")

    def gain(step: Step, with_merge_cost: bool = True) -> float:
        size_a, size_b, i, j = step
        if not size_b:
            return float(skip_a[i - 1])
        if not size_a:
            return float(skip_b[j - 1])
        cost = merge_cost * (size_a + size_b - 2) if with_merge_cost else 0.0
        return float(_block_scores(np.array([i]), np.array([[j]]), size_a, size_b, *scores)[0][0, 0]
                     - cost)

    found = []
    for mine, theirs in stretches(ours, gold_path(gold_links, n, m)):
        gold_links_in = sum(1 for step in theirs if step[0] and step[1])
        if any(step[0] + step[1] > params.max_align for step in theirs):
            found.append({"kind": "types", "gold_links": gold_links_in})
            continue
        difference = sum(map(gain, mine)) - sum(map(gain, theirs))
        if difference >= 0:
            kind = "scoring"
        elif all(lo[i] <= j <= hi[i] for *_, i, j in theirs):
            kind = "search"
        else:
            kind = "band"
        without = (sum(gain(step, False) for step in mine)
                   - sum(gain(step, False) for step in theirs))
        found.append({"kind": kind, "gold_links": gold_links_in,
                      "ours_minus_gold_in_spreads": difference / spread if spread else None,
                      "gold_wins_without_merge_cost": without < 0})
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_MAC, help="MAC-Dev folder.")
    parser.add_argument("--chapters", default=None, help="text ids, e.g. 001,002,003")
    parser.add_argument("--config", type=Path, default=BITEXT_CONFIG)
    parser.add_argument("--set", dest="settings", action="append", default=[],
                        metavar="SECTION.KEY=VALUE")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args(argv)
    if not (args.corpus / "gold").is_dir():
        print(f"error: {args.corpus}/gold not found; pass --corpus path/to/mac_dev_zhen",
              file=sys.stderr)
        return 2
    bitexts = load_mac(args.corpus.resolve(), args.chapters.split(",") if args.chapters else None)
    calls = record_calls()
    with tempfile.TemporaryDirectory(prefix="quotetrace-diagnose-") as work:
        evaluate(bitexts, "zh", "en", Path(work), args.config.resolve(),
                 [*args.settings, "executor.concurrency=1"], name="mac")
    by_size = {(len(b.source), len(b.target)): b for b in bitexts}
    if len(by_size) != len(bitexts):
        print("error: two chapters have the same numbers of lines; pass --chapters",
              file=sys.stderr)
        return 2
    found: list[dict] = []
    unknown = 0  # parallel pairs that are not one chapter's two sides
    for call in calls:
        size = (len(call["a"]), len(call["b"]))
        bitext = by_size.get(size)
        gold = bitext.gold if bitext else None
        if bitext is None and size[::-1] in by_size:  # the job put the English side first
            bitext = by_size[size[::-1]]
            gold = [(target, source) for source, target in bitext.gold]
        if bitext is None:
            unknown += 1
            continue
        found += [{"chapter": bitext.stem, **item} for item in diagnose(call, gold)]
    kinds = Counter(item["kind"] for item in found)
    report = {"document_pairs": len(calls), "not_a_chapter": unknown, "stretches": len(found),
              **{kind: {"stretches": kinds[kind],
                        "gold_links": sum(x["gold_links"] for x in found if x["kind"] == kind)}
                 for kind in ("scoring", "search", "band", "types")}}
    margins = [x["ours_minus_gold_in_spreads"] for x in found
               if x["kind"] == "scoring" and x["ours_minus_gold_in_spreads"] is not None]
    report["scoring"]["median_ours_minus_gold_in_spreads"] = (
        round(median(margins), 3) if margins else None)
    report["scoring"]["gold_wins_without_merge_cost"] = sum(
        1 for x in found if x["kind"] == "scoring" and x["gold_wins_without_merge_cost"])
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:16} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
