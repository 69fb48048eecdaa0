"""Strict and lax link precision/recall/F1 (Sennrich & Volk 2010), as vecalign's ``score.py``.

A link is ``(source ids, target ids)``, each a tuple of line (sentence) indices; ``((5,), ())``
and ``((), (7,))`` are unaligned source / target lines. Scores are computed over a list of
document pairs, one list of gold links and one of predicted links per pair, exactly as
``score_multiple`` in vecalign (github.com/thompsonb/vecalign, ``score.py``) computes them:

- precision: every predicted link (a set per document pair; links empty on both sides are
  ignored) is a strict true positive when it equals a gold link, unaligned gold links included;
  otherwise it is a strict false positive, and a lax true positive when one of its source ids is
  linked, in some gold link, to one of its target ids (so a predicted unaligned link that is not
  gold is a false positive under both measures);
- recall: the same count with gold and predicted swapped, after removing links empty on either
  side from both: unaligned gold links are left out of recall;
- F1: the harmonic mean of the two ratios; a ratio with a zero denominator is ``0.0``.

Also here: the reader of bertalign / MAC ``.align`` gold files (``[0,1]:[0]``, ``[5]:[]``),
recall per link kind (``1-1``, ``2-1``, …), and the mapping shared by the alignment evaluation
scripts from a job's ``sentences`` and ``alignments`` tables back to line numbers of the files
the job read. ``eval/`` is a folder of scripts: load this module by file path (tests) or import
it from a script in the same folder.
"""

from __future__ import annotations

import math
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

_EVAL = Path(__file__).resolve().parent
if str(_EVAL) not in sys.path:  # eval/ is a folder of scripts: find the sibling script
    sys.path.insert(0, str(_EVAL))

from evaluate_bitext import line_of  # noqa: E402

Link = tuple[tuple[int, ...], tuple[int, ...]]
#: Link kinds reported one by one (source count - target count); the rest are ``other``.
KINDS = ("1-1", "1-2", "2-1", "2-2", "1-3", "3-1")
_ALIGN_LINE = re.compile(r"^\s*\[([\d,\s]*)\]\s*:\s*\[([\d,\s]*)\]\s*$")


def parse_align(text: str, source: str = "<align>") -> list[Link]:
    """Links of a bertalign / MAC ``.align`` text: one ``[src ids]:[tgt ids]`` per line."""
    links: list[Link] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _ALIGN_LINE.match(line)
        if not match:
            raise ValueError(f"{source}:{number}: not an alignment line: {line!r}")
        links.append(tuple(  # type: ignore[arg-type]
            tuple(int(i) for i in side.replace(" ", "").split(",") if i)
            for side in match.groups()))
    return links


def read_align(path: Path) -> list[Link]:
    return parse_align(path.read_text(encoding="utf-8"), str(path))


def format_link(link: Link) -> str:
    """``[0,1]:[0]``, the ``.align`` notation."""
    return ":".join("[" + ",".join(map(str, side)) + "]" for side in link)


def _as_links(links: Iterable[Sequence[Sequence[int]]]) -> set[Link]:
    """A set of links, without those empty on both sides."""
    return {(tuple(a), tuple(b)) for a, b in links if len(a) or len(b)}


def precision_counts(gold: Iterable[Link], test: Iterable[Link]) -> tuple[int, int, int, int]:
    """(strict TP, strict FP, lax TP, lax FP) of ``test`` against ``gold`` (vecalign's
    ``_precision``)."""
    test_links, gold_links = _as_links(test), _as_links(gold)
    gold_targets: dict[int, set[int]] = defaultdict(set)
    for gold_src, gold_tgt in gold_links:
        for src_id in gold_src:
            gold_targets[src_id].update(gold_tgt)
    tp_strict = fp_strict = tp_lax = fp_lax = 0
    for test_src, test_tgt in test_links:
        if (test_src, test_tgt) in gold_links:
            tp_strict += 1
            tp_lax += 1
            continue
        fp_strict += 1
        linked = set().union(*(gold_targets.get(i, set()) for i in test_src))
        if linked.intersection(test_tgt):
            tp_lax += 1
        else:
            fp_lax += 1
    return tp_strict, fp_strict, tp_lax, fp_lax


def _both_sides(links: Iterable[Link]) -> list[Link]:
    return [(a, b) for a, b in links if len(a) and len(b)]


def _ratio(hits: int, misses: int, value_for_div_by_0: float) -> float:
    return hits / (hits + misses) if hits + misses else value_for_div_by_0


def _f1(p: float, r: float, value_for_div_by_0: float) -> float:
    return 2 * p * r / (p + r) if p + r else value_for_div_by_0


def count_multiple(gold_list: Sequence[Iterable[Link]], test_list: Sequence[Iterable[Link]]
                   ) -> dict[str, tuple[int, int, int, int]]:
    """Summed precision counts and recall counts over document pairs (vecalign's order:
    strict TP, strict FP/FN, lax TP, lax FP/FN)."""
    if len(gold_list) != len(test_list):
        raise ValueError(f"{len(gold_list)} gold lists but {len(test_list)} predicted lists")
    precision = [0, 0, 0, 0]
    recall = [0, 0, 0, 0]
    for gold, test in zip(gold_list, test_list, strict=True):
        gold, test = list(gold), list(test)
        for i, value in enumerate(precision_counts(gold, test)):
            precision[i] += value
        # recall: precision with gold and test swapped, links empty on a side removed
        for i, value in enumerate(precision_counts(_both_sides(test), _both_sides(gold))):
            recall[i] += value
    return {"precision": tuple(precision), "recall": tuple(recall)}  # type: ignore[dict-item]


def score_multiple(gold_list: Sequence[Iterable[Link]], test_list: Sequence[Iterable[Link]],
                   value_for_div_by_0: float = 0.0) -> dict[str, float]:
    """vecalign's ``score_multiple``: strict and lax precision, recall and F1 over all pairs."""
    counts = count_multiple(gold_list, test_list)
    p, r = counts["precision"], counts["recall"]
    result = {
        "precision_strict": _ratio(p[0], p[1], value_for_div_by_0),
        "precision_lax": _ratio(p[2], p[3], value_for_div_by_0),
        "recall_strict": _ratio(r[0], r[1], value_for_div_by_0),
        "recall_lax": _ratio(r[2], r[3], value_for_div_by_0),
    }
    result["f1_strict"] = _f1(result["precision_strict"], result["recall_strict"],
                              value_for_div_by_0)
    result["f1_lax"] = _f1(result["precision_lax"], result["recall_lax"], value_for_div_by_0)
    return result


def link_kind(link: Link) -> str:
    """``"2-1"`` for two source and one target id; kinds outside :data:`KINDS` are ``other``."""
    kind = f"{len(link[0])}-{len(link[1])}"
    return kind if kind in KINDS else "other"


def kind_recall(gold_list: Sequence[Iterable[Link]], test_list: Sequence[Iterable[Link]]
                ) -> dict[str, dict[str, float | int]]:
    """Strict and lax recall of the gold links of each kind (links empty on a side excluded),
    counted as :func:`score_multiple` counts recall."""
    totals: dict[str, list[int]] = {kind: [0, 0, 0] for kind in (*KINDS, "other")}
    for gold, test in zip(gold_list, test_list, strict=True):
        test_links = _both_sides(test)
        by_kind: dict[str, list[Link]] = defaultdict(list)
        for link in _both_sides(_as_links(gold)):
            by_kind[link_kind(link)].append(link)
        for kind, links in by_kind.items():
            tp_strict, _, tp_lax, _ = precision_counts(test_links, links)
            totals[kind][0] += len(links)
            totals[kind][1] += tp_strict
            totals[kind][2] += tp_lax
    return {kind: {"gold": n, "recall_strict": round(s / n, 4) if n else 0.0,
                   "recall_lax": round(lax / n, 4) if n else 0.0}
            for kind, (n, s, lax) in totals.items()}


def rounded(scores: dict[str, float], digits: int = 4) -> dict[str, float]:
    return {key: round(value, digits) for key, value in scores.items()}


# --- from a job's tables back to the lines of its input files ------------------------------

def _ids(value: Any) -> list[str]:
    """Sentence ids of one side of an alignment row: a list or array; None / NaN = empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    return [str(v) for v in value]


def sentence_units(sentences: Any, raw: dict[str, str],
                   unit_of: Callable[[str, int], int] | None = None
                   ) -> tuple[dict[str, int], dict[str, Any]]:
    """Each sentence's unit (by default its line) in its raw file, and a coverage check.

    ``sentences``: the job's sentences table (doc_id, sent_id, char_start); ``raw``: doc id →
    the raw file text, for the documents that should be checked; ``unit_of(doc, char_start)``
    maps an offset to a unit number (default: the line). The check counts, over the non-blank
    lines of the checked documents, those holding no sentence (dropped by clean / min_chars) and
    those split into several sentences; ``exact`` is True when every such line holds exactly one
    sentence.
    """
    locate = unit_of or (lambda doc, start: line_of(raw[doc], start))
    unit: dict[str, int] = {}
    per_line: Counter[tuple[str, int]] = Counter()
    for doc, sent, start in zip(sentences["doc_id"], sentences["sent_id"],
                                sentences["char_start"], strict=True):
        if doc not in raw:
            continue
        unit[str(sent)] = locate(doc, int(start))
        per_line[(doc, line_of(raw[doc], int(start)))] += 1
    lines = [(doc, i) for doc, text in raw.items()
             for i, line in enumerate(text.split("\n")) if line.strip()]
    missing = [item for item in lines if per_line[item] == 0]
    several = [item for item in lines if per_line[item] > 1]
    coverage = {"lines": len(lines), "lines_without_sentence": len(missing),
                "lines_with_several_sentences": len(several),
                "exact": not missing and not several,
                "examples": [f"{doc}:{i}" for doc, i in (missing + several)[:5]]}
    return unit, coverage


def unit_links(alignments: Any, unit: dict[str, int]
               ) -> list[tuple[str, tuple[int, ...], str, tuple[int, ...]]]:
    """``(doc_a, units_a, doc_b, units_b)`` for each alignment row; units sorted, de-duplicated
    (two sentences of one line give that line once); an empty side gives ``()``."""
    out = []
    for doc_a, ids_a, doc_b, ids_b in zip(alignments["doc_a"], alignments["sent_ids_a"],
                                          alignments["doc_b"], alignments["sent_ids_b"],
                                          strict=True):
        side_a = tuple(sorted({unit[s] for s in _ids(ids_a)}))
        side_b = tuple(sorted({unit[s] for s in _ids(ids_b)}))
        out.append((str(doc_a), side_a, str(doc_b), side_b))
    return out
