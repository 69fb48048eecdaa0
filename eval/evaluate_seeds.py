"""Score an alignment run on the seed corpus against the hand-made gold pairs.

Usage::

    python eval/evaluate_seeds.py OUTPUT_DIR [--gold eval/seeds_gold.jsonl] [--json]

OUTPUT_DIR must hold ``alignments.parquet`` (columns doc_a, sent_ids_a, text_a, doc_b,
sent_ids_b, text_b, score, margin, kind), as written by ``quotetrace run configs/seeds.yaml``.

A predicted pair matches a gold pair when its two documents are the gold pair's two documents
(in either order) and each side's text contains the gold substring for that document, after
normalisation (NFKC, curly quotes folded to straight ones, whitespace collapsed). A merged
1-2 / 2-1 pair can therefore match several gold pairs.

- precision = predicted pairs matching at least one gold pair / predicted pairs
- recall = gold pairs matched by at least one predicted pair / gold pairs

The module is import-safe: ``evaluate`` and ``load_gold`` are meant for tests and benchmarks
(load it with importlib from this file's path; ``eval/`` is not a package).
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from collections.abc import Sequence
from pathlib import Path, PurePath

import pandas as pd

ALIGNMENTS_FILE = "alignments.parquet"
DEFAULT_GOLD = Path(__file__).resolve().parent / "seeds_gold.jsonl"
GOLD_KEYS = ("doc_a", "text_a", "doc_b", "text_b")
REQUIRED_COLUMNS = ("doc_a", "text_a", "doc_b", "text_b")

_QUOTE_FOLD = str.maketrans(
    {
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u00ab": '"', "\u00bb": '"',
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
    }
)


def normalize(text: str) -> str:
    """NFKC, straight quotes, single spaces: the form both sides are compared in."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTE_FOLD)
    return " ".join(text.split())


def _doc_key(doc: object) -> str:
    """Document id as compared: a path or a ``.txt`` file name reduces to the file stem."""
    name = PurePath(str(doc)).name
    return name.removesuffix(".txt")


def _text(value: object) -> str:
    return normalize(value) if isinstance(value, str) else ""


def load_gold(path: str | Path) -> list[dict]:
    """Read the gold JSONL file: one {"doc_a", "text_a", "doc_b", "text_b", "note"} per line."""
    gold: list[dict] = []
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number}: not valid JSON ({error.msg})") from error
            missing = [key for key in GOLD_KEYS if not isinstance(record.get(key), str)]
            if missing:
                raise ValueError(f"{path}:{number}: missing or non-string field(s) {missing}")
            gold.append(record)
    return gold


def _pair_key(doc_1: str, doc_2: str) -> str:
    first, second = sorted((doc_1, doc_2))
    return f"{first}|{second}"


def _prf(matched_pred: int, predicted: int, matched_gold: int, gold: int) -> dict[str, float]:
    precision = matched_pred / predicted if predicted else 0.0
    recall = matched_gold / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def _matches(pred: tuple[str, str, str, str], gold: tuple[str, str, str, str]) -> bool:
    p_doc_a, p_text_a, p_doc_b, p_text_b = pred
    g_doc_a, g_text_a, g_doc_b, g_text_b = gold
    same = (p_doc_a, p_doc_b) == (g_doc_a, g_doc_b)
    same = same and g_text_a in p_text_a and g_text_b in p_text_b
    swapped = (p_doc_a, p_doc_b) == (g_doc_b, g_doc_a)
    swapped = swapped and g_text_b in p_text_a and g_text_a in p_text_b
    return same or swapped


def evaluate(alignments: pd.DataFrame, gold: list[dict]) -> dict:
    """Precision, recall and F1 of ``alignments`` against ``gold``, overall and per document pair.

    Returns {"precision", "recall", "f1", "predicted", "gold", "per_pair", "false_positives",
    "missed"}; ``per_pair`` maps "doc_x|doc_y" (sorted) to the same counts and scores for that
    document pair, ``false_positives`` and ``missed`` list the unmatched predicted and gold pairs.
    """
    missing = [column for column in REQUIRED_COLUMNS if column not in alignments.columns]
    if missing:
        raise ValueError(f"alignments lack column(s) {missing}")

    preds = [
        (_doc_key(doc_a), _text(text_a), _doc_key(doc_b), _text(text_b))
        for doc_a, text_a, doc_b, text_b in zip(
            alignments["doc_a"], alignments["text_a"], alignments["doc_b"], alignments["text_b"],
            strict=True,
        )
    ]
    golds = [
        (_doc_key(g["doc_a"]), normalize(g["text_a"]), _doc_key(g["doc_b"]), normalize(g["text_b"]))
        for g in gold
    ]

    pred_hit = [False] * len(preds)
    gold_hit = [False] * len(golds)
    for i, pred in enumerate(preds):
        for j, gold_pair in enumerate(golds):
            if _matches(pred, gold_pair):
                pred_hit[i] = True
                gold_hit[j] = True

    counts: dict[str, dict[str, int]] = {}

    def bucket(key: str) -> dict[str, int]:
        return counts.setdefault(
            key, {"predicted": 0, "predicted_correct": 0, "gold": 0, "gold_found": 0}
        )

    for pred, hit in zip(preds, pred_hit, strict=True):
        entry = bucket(_pair_key(pred[0], pred[2]))
        entry["predicted"] += 1
        entry["predicted_correct"] += hit
    for gold_pair, hit in zip(golds, gold_hit, strict=True):
        entry = bucket(_pair_key(gold_pair[0], gold_pair[2]))
        entry["gold"] += 1
        entry["gold_found"] += hit

    per_pair = {
        key: {
            **entry,
            **_prf(entry["predicted_correct"], entry["predicted"], entry["gold_found"],
                   entry["gold"]),
        }
        for key, entry in sorted(counts.items())
    }

    false_positives = []
    for index, hit in enumerate(pred_hit):
        if hit:
            continue
        row = alignments.iloc[index]
        record = {key: row[key] for key in REQUIRED_COLUMNS}
        for extra in ("score", "margin", "kind"):
            if extra in alignments.columns:
                value = row[extra]
                record[extra] = value.item() if hasattr(value, "item") else value
        false_positives.append(record)
    missed = [dict(g) for g, hit in zip(gold, gold_hit, strict=True) if not hit]

    return {
        **_prf(sum(pred_hit), len(preds), sum(gold_hit), len(golds)),
        "predicted": len(preds),
        "gold": len(golds),
        "per_pair": per_pair,
        "false_positives": false_positives,
        "missed": missed,
    }


def _short(text: object, width: int = 70) -> str:
    text = normalize(text) if isinstance(text, str) else str(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _short_doc(doc: object) -> str:
    return _doc_key(doc).split("_", 1)[0]


def format_report(result: dict) -> str:
    """Human-readable summary of an ``evaluate`` result."""
    lines = [
        (
            f"precision {result['precision']:.3f}  recall {result['recall']:.3f}  "
            f"f1 {result['f1']:.3f}  (predicted {result['predicted']}, gold {result['gold']})"
        ),
        "",
        (
            f"{'document pair':<14} {'pred':>5} {'ok':>4} {'gold':>5} {'found':>6} "
            f"{'P':>6} {'R':>6} {'F1':>6}"
        ),
    ]
    for key, entry in result["per_pair"].items():
        doc_1, doc_2 = key.split("|")
        lines.append(
            f"{_short_doc(doc_1) + '-' + _short_doc(doc_2):<14} {entry['predicted']:>5} "
            f"{entry['predicted_correct']:>4} {entry['gold']:>5} {entry['gold_found']:>6} "
            f"{entry['precision']:>6.2f} {entry['recall']:>6.2f} {entry['f1']:>6.2f}"
        )
    lines += ["", f"false positives ({len(result['false_positives'])}):"]
    for fp in result["false_positives"]:
        tag = f" [{fp['kind']}]" if "kind" in fp else ""
        score = f" score={fp['score']:.3f}" if isinstance(fp.get("score"), float) else ""
        lines.append(f"  {_short_doc(fp['doc_a'])}-{_short_doc(fp['doc_b'])}{tag}{score}")
        lines.append(f"    a: {_short(fp['text_a'])}")
        lines.append(f"    b: {_short(fp['text_b'])}")
    lines += ["", f"missed gold pairs ({len(result['missed'])}):"]
    for gold_pair in result["missed"]:
        note = f"  ({gold_pair['note']})" if gold_pair.get("note") else ""
        lines.append(f"  {_short_doc(gold_pair['doc_a'])}-{_short_doc(gold_pair['doc_b'])}{note}")
        lines.append(f"    a: {_short(gold_pair['text_a'])}")
        lines.append(f"    b: {_short(gold_pair['text_b'])}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Score OUTPUT_DIR/alignments.parquet against the seed gold pairs."
    )
    parser.add_argument("output_dir", type=Path, metavar="OUTPUT_DIR",
                        help=f"run output directory holding {ALIGNMENTS_FILE}")
    parser.add_argument("--gold", type=Path, default=DEFAULT_GOLD,
                        help="gold JSONL file (default: eval/seeds_gold.jsonl)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object instead of the readable report")
    args = parser.parse_args(argv)

    alignments_path = args.output_dir / ALIGNMENTS_FILE
    if not alignments_path.is_file():
        print(
            f"error: {alignments_path} not found; run `quotetrace run configs/seeds.yaml` first "
            f"(or pass the output directory of a finished run)",
            file=sys.stderr,
        )
        return 2
    if not args.gold.is_file():
        print(f"error: gold file {args.gold} not found", file=sys.stderr)
        return 2
    try:
        gold = load_gold(args.gold)
        alignments = pd.read_parquet(alignments_path)
        result = evaluate(alignments, gold)
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    if args.json:
        keys = ("precision", "recall", "f1", "predicted", "gold", "per_pair")
        print(json.dumps({key: result[key] for key in keys}, ensure_ascii=False))
    else:
        print(format_report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
