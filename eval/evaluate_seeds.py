"""Score an alignment run on the seed corpus against the hand-made gold pairs.

Usage::

    python eval/evaluate_seeds.py OUTPUT_DIR [--gold eval/seeds_gold.jsonl] [--json]

OUTPUT_DIR must hold ``alignments.parquet`` (columns doc_a, sent_ids_a, text_a, doc_b,
sent_ids_b, text_b, score, margin, kind), as written by ``quotetrace run configs/seeds.yaml``.

A predicted pair matches a gold pair when its two documents are the gold pair's two documents
(in either order) and each side's text contains the gold substring for that document, after
normalisation (NFKC, curly quotes folded to straight ones, whitespace collapsed). A merged
1-2 / 2-1 pair can therefore match several gold pairs.

Gold pairs come in two tiers, following the sure/possible convention of word-alignment
evaluation (Och & Ney 2003): a line with ``"sure": false`` is a *possible* pair (a defensible
but looser or redundant correspondence, e.g. a headline restating a body sentence); a line
without the field (or with ``"sure": true``) is a *sure* pair. Aligning a possible pair is not
an error, but not aligning it is not a miss either:

- precision = predicted pairs matching at least one gold pair, sure or possible / predicted pairs
- recall = sure gold pairs matched by at least one predicted pair / sure gold pairs
- f1 = harmonic mean of that precision and recall
- strict_precision = predicted pairs matching at least one *sure* pair / predicted pairs

With no possible pairs in the gold, precision and strict_precision coincide and the scores are
the plain ones. ``missed`` lists unmatched sure pairs only; ``false_positives`` lists predicted
pairs matching no gold pair of either tier.

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
    """Read the gold JSONL file: one {"doc_a", "text_a", "doc_b", "text_b", "note"} per line.

    An optional boolean "sure" field marks the tier; every returned record carries it, set to
    True (sure) where the line has none.
    """
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
            sure = record.get("sure", True)
            if not isinstance(sure, bool):
                raise ValueError(f"{path}:{number}: field 'sure' must be true or false")
            gold.append({**record, "sure": sure})
    return gold


def _pair_key(doc_1: str, doc_2: str) -> str:
    first, second = sorted((doc_1, doc_2))
    return f"{first}|{second}"


def _prf(
    matched_pred: int, predicted: int, matched_gold: int, gold: int, matched_pred_sure: int
) -> dict[str, float]:
    precision = matched_pred / predicted if predicted else 0.0
    recall = matched_gold / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    strict_precision = matched_pred_sure / predicted if predicted else 0.0
    return {"precision": precision, "recall": recall, "f1": f1,
            "strict_precision": strict_precision}


def _is_sure(record: dict) -> bool:
    return record.get("sure", True) is not False


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

    ``gold`` records with ``"sure": False`` are possible pairs (see the module docstring): they
    count for precision, not for recall or strict_precision. Returns {"precision", "recall",
    "f1", "strict_precision", "predicted", "gold", "sure", "possible", "per_pair",
    "false_positives", "possible_only", "missed"}; "gold" and "sure" both give the number of sure
    pairs (the recall denominator), "possible" the number of possible ones. ``per_pair`` maps
    "doc_x|doc_y" (sorted) to the counts ("predicted", "predicted_correct" (matching any gold
    pair), "predicted_sure", "gold" and "gold_found" (sure pairs), "possible") and the scores for
    that document pair. ``false_positives`` lists the predicted pairs matching no gold pair,
    ``possible_only`` those matching possible pairs only, ``missed`` the unmatched sure pairs.
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

    sure = [_is_sure(g) for g in gold]

    pred_hit = [False] * len(preds)  # matches any gold pair, sure or possible
    pred_hit_sure = [False] * len(preds)  # matches a sure gold pair
    gold_hit = [False] * len(golds)
    for i, pred in enumerate(preds):
        for j, gold_pair in enumerate(golds):
            if _matches(pred, gold_pair):
                pred_hit[i] = True
                gold_hit[j] = True
                pred_hit_sure[i] = pred_hit_sure[i] or sure[j]

    counts: dict[str, dict[str, int]] = {}

    def bucket(key: str) -> dict[str, int]:
        return counts.setdefault(
            key,
            {"predicted": 0, "predicted_correct": 0, "predicted_sure": 0, "gold": 0,
             "gold_found": 0, "possible": 0},
        )

    for pred, hit, hit_sure in zip(preds, pred_hit, pred_hit_sure, strict=True):
        entry = bucket(_pair_key(pred[0], pred[2]))
        entry["predicted"] += 1
        entry["predicted_correct"] += hit
        entry["predicted_sure"] += hit_sure
    for gold_pair, hit, is_sure in zip(golds, gold_hit, sure, strict=True):
        entry = bucket(_pair_key(gold_pair[0], gold_pair[2]))
        if is_sure:
            entry["gold"] += 1
            entry["gold_found"] += hit
        else:
            entry["possible"] += 1

    per_pair = {
        key: {
            **entry,
            **_prf(entry["predicted_correct"], entry["predicted"], entry["gold_found"],
                   entry["gold"], entry["predicted_sure"]),
        }
        for key, entry in sorted(counts.items())
    }

    def prediction(index: int) -> dict:
        row = alignments.iloc[index]
        record = {key: row[key] for key in REQUIRED_COLUMNS}
        for extra in ("score", "margin", "kind"):
            if extra in alignments.columns:
                value = row[extra]
                record[extra] = value.item() if hasattr(value, "item") else value
        return record

    false_positives = [prediction(i) for i, hit in enumerate(pred_hit) if not hit]
    possible_only = [
        prediction(i)
        for i, (hit, hit_sure) in enumerate(zip(pred_hit, pred_hit_sure, strict=True))
        if hit and not hit_sure
    ]
    missed = [
        dict(g) for g, hit, is_sure in zip(gold, gold_hit, sure, strict=True)
        if is_sure and not hit
    ]
    n_sure = sum(sure)

    return {
        **_prf(sum(pred_hit), len(preds), sum(h for h, s in zip(gold_hit, sure, strict=True) if s),
               n_sure, sum(pred_hit_sure)),
        "predicted": len(preds),
        "gold": n_sure,
        "sure": n_sure,
        "possible": len(golds) - n_sure,
        "per_pair": per_pair,
        "false_positives": false_positives,
        "possible_only": possible_only,
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
            f"f1 {result['f1']:.3f}  strict precision {result['strict_precision']:.3f}  "
            f"(predicted {result['predicted']}, gold {result['sure']} sure + "
            f"{result['possible']} possible)"
        ),
        "precision counts sure and possible pairs, recall sure ones only; strict precision "
        "counts sure pairs only",
        "",
        (
            f"{'document pair':<14} {'pred':>5} {'ok':>4} {'sure':>5} {'gold':>5} {'found':>6} "
            f"{'poss':>5} {'P':>6} {'R':>6} {'F1':>6} {'P str':>6}"
        ),
    ]
    for key, entry in result["per_pair"].items():
        doc_1, doc_2 = key.split("|")
        lines.append(
            f"{_short_doc(doc_1) + '-' + _short_doc(doc_2):<14} {entry['predicted']:>5} "
            f"{entry['predicted_correct']:>4} {entry['predicted_sure']:>5} {entry['gold']:>5} "
            f"{entry['gold_found']:>6} {entry['possible']:>5} {entry['precision']:>6.2f} "
            f"{entry['recall']:>6.2f} {entry['f1']:>6.2f} {entry['strict_precision']:>6.2f}"
        )

    def predictions(title: str, records: list[dict]) -> list[str]:
        out = ["", f"{title} ({len(records)}):"]
        for pred in records:
            tag = f" [{pred['kind']}]" if "kind" in pred else ""
            score = f" score={pred['score']:.3f}" if isinstance(pred.get("score"), float) else ""
            out.append(f"  {_short_doc(pred['doc_a'])}-{_short_doc(pred['doc_b'])}{tag}{score}")
            out.append(f"    a: {_short(pred['text_a'])}")
            out.append(f"    b: {_short(pred['text_b'])}")
        return out

    lines += predictions("false positives", result["false_positives"])
    lines += predictions("matching possible pairs only", result.get("possible_only", []))
    lines += ["", f"missed gold pairs ({len(result['missed'])}), sure pairs only:"]
    for gold_pair in result["missed"]:
        note = f"  ({gold_pair['note']})" if gold_pair.get("note") else ""
        lines.append(f"  {_short_doc(gold_pair['doc_a'])}-{_short_doc(gold_pair['doc_b'])}{note}")
        lines.append(f"    a: {_short(gold_pair['text_a'])}")
        lines.append(f"    b: {_short(gold_pair['text_b'])}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=(
            "Score OUTPUT_DIR/alignments.parquet against the seed gold pairs. Gold lines with "
            '"sure": false are possible pairs (sure/possible convention of word-alignment '
            "evaluation, Och & Ney 2003): precision counts predicted pairs matching a sure or "
            "possible gold pair, recall counts sure pairs found out of all sure pairs, F1 "
            "combines the two, and strict precision counts predicted pairs matching a sure pair "
            "only."
        )
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
        keys = ("precision", "recall", "f1", "strict_precision", "predicted", "gold", "sure",
                "possible", "per_pair")
        print(json.dumps({key: result[key] for key in keys}, ensure_ascii=False))
    else:
        print(format_report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
