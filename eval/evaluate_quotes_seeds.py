"""Score quote extraction, attribution and clustering on the seed corpus against hand-made gold.

Usage::

    python eval/evaluate_quotes_seeds.py OUTPUT_DIR [--gold eval/seeds_quotes_gold.jsonl] [--json]

OUTPUT_DIR must hold ``quotes.parquet`` (columns quote_id, doc_id, text, and normally direct,
speaker, ...), as written by ``quotetrace run configs/seeds.yaml``; ``clusters.parquet``
(cluster_id, quote_ids, ...) is optional: without it the cluster metrics are skipped with a note.

Gold (``eval/seeds_quotes_gold.jsonl``): one quotation per line, {"doc_id", "text" (an exact
substring of the quote content, unique in its document), "speaker" (canonical full name or
null), "direct" (bool), "group" (shared by every rendition of one statement across outlets and
languages), "note"}.

Matching. A predicted quote matches a gold quote when the document ids are equal (a path or a
``.txt`` file name reduces to the file stem) and either the normalised gold text is contained in
the normalised predicted text, or the token overlap reaches 50% of the gold tokens.
Normalisation: NFKC, curly quotes and guillemets folded to straight ones, whitespace collapsed,
casefold; tokens are the ``\\w+`` words of the normalised text, so quote marks and punctuation
never matter. Token overlap, by ``--overlap``:

- ``contiguous`` (default): the longest run of consecutive gold content words (``STOPWORDS``,
  English and Vietnamese function words, left out) found consecutively in the prediction,
  divided by the number of gold content words. It accepts a prediction that is a large part of
  the gold span (a partial quote without its lead-in, inner quote marks dropped, a shifted
  boundary) and rejects a neighbouring sentence that merely shares "in the Middle East".
- ``bag``: gold words, counted with multiplicity, occurring anywhere in the prediction. This is
  the loosest reading; on sentence-sized predictions of the seeds it lets about one sentence
  in five match a gold quote it does not overlap (25 spurious matches over 136 sentences; 1
  with ``contiguous``, a fragment of the same statement), so it is kept for comparison only.

One prediction may match several gold quotes (a merged span) and several predictions may
match one gold quote (a split span).

Scores:

- extraction: precision = predicted quotes matching at least one gold quote / predicted quotes;
  recall = gold quotes matched by at least one prediction / gold quotes; F1. Also split by the
  ``direct`` flag: direct precision over predictions flagged direct, direct recall over gold
  quotes flagged direct (likewise indirect).
- attribution accuracy = matched gold quotes whose best-matching prediction has the gold
  speaker / matched gold quotes. Names are compared after the same normalisation; a missing
  speaker (None/NaN) is correct only where the gold speaker is null. The best match of a gold
  quote is a containing prediction before an overlapping one, then the larger token overlap,
  then the shorter text.
- clusters, over the matched gold quotes, each labelled by its gold group and by the cluster of
  its best-matching prediction (quote_id -> cluster via clusters.quote_ids; a prediction in no
  cluster is a singleton): purity (each cluster counted for its majority group), inverse purity
  (each group counted for its majority cluster, i.e. completeness) and scikit-learn's
  homogeneity, completeness and V-measure.

The module is import-safe: ``evaluate`` and ``load_gold`` are meant for tests and benchmarks
(load it with importlib from this file's path; ``eval/`` is not a package).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Sequence
from pathlib import Path, PurePath

import pandas as pd

QUOTES_FILE = "quotes.parquet"
CLUSTERS_FILE = "clusters.parquet"
DEFAULT_GOLD = Path(__file__).resolve().parent / "seeds_quotes_gold.jsonl"
REQUIRED_QUOTE_COLUMNS = ("quote_id", "doc_id", "text")
REQUIRED_CLUSTER_COLUMNS = ("cluster_id", "quote_ids")
OVERLAP_THRESHOLD = 0.5
OVERLAP_MODES = ("contiguous", "bag")
#: Function words left out of the token overlap (English, and Vietnamese syllables).
_STOPWORDS_TEXT = """
    a about after all also an and any are as at be been before both but by can could did do
    does during each for from had has have he her here him his i if in into is it its may me
    might more most much must my no not of on one or other our out over she should so some such
    than that the their them then there these they this those to up us was we were what when
    where which who will with would you your
    bị các có cho của cũng để đã đang được hơn khi là mà một này những như nhưng ra rất sẽ thì
    theo trên trong từ và vào về với
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())
UNCLUSTERED = "<unclustered>:"

_QUOTE_FOLD = str.maketrans(
    {
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u00ab": '"', "\u00bb": '"',
        "\u2033": '"', "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
        "\u2032": "'",
    }
)
_TOKEN = re.compile(r"\w+")


def normalize(text: str) -> str:
    """NFKC, straight quotes, single spaces, casefold: the form texts are compared in."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTE_FOLD)
    return " ".join(text.split()).casefold()


def tokens(text: str) -> list[str]:
    """Word tokens of the normalised text (punctuation and quote marks dropped)."""
    return _TOKEN.findall(normalize(text))


def content_tokens(text: str) -> list[str]:
    """``tokens`` without ``STOPWORDS``; all tokens where the text has no other word."""
    words = tokens(text)
    return [w for w in words if w not in STOPWORDS] or words


def _longest_run(pred: Sequence[str], gold: Sequence[str]) -> int:
    """Length of the longest run of consecutive gold tokens found consecutively in ``pred``."""
    best = 0
    previous = [0] * (len(gold) + 1)
    for word in pred:
        current = [0] * (len(gold) + 1)
        for j, gold_word in enumerate(gold, start=1):
            if word == gold_word:
                current[j] = previous[j - 1] + 1
                best = max(best, current[j])
        previous = current
    return best


def token_overlap(pred_text: str, gold_text: str, mode: str = "contiguous") -> float:
    """Share of the gold tokens the prediction covers (see the module docstring for ``mode``)."""
    if mode == "bag":
        gold = Counter(tokens(gold_text))
        total = sum(gold.values())
        return sum((gold & Counter(tokens(pred_text))).values()) / total if total else 0.0
    if mode != "contiguous":
        raise ValueError(f"unknown overlap mode {mode!r} (expected one of {OVERLAP_MODES})")
    gold_words = content_tokens(gold_text)
    if not gold_words:
        return 0.0
    return _longest_run(content_tokens(pred_text), gold_words) / len(gold_words)


def doc_key(doc: object) -> str:
    """Document id as compared: a path or a ``.txt`` file name reduces to the file stem."""
    return PurePath(str(doc)).name.removesuffix(".txt")


def _missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # list-like values
        return False


def _speaker(value: object) -> str | None:
    if _missing(value) or not isinstance(value, str) or not value.strip():
        return None
    return value


def _same_speaker(predicted: str | None, gold: str | None) -> bool:
    if gold is None or predicted is None:
        return gold is None and predicted is None
    return normalize(predicted) == normalize(gold)


def _flag(value: object) -> bool | None:
    return None if _missing(value) else bool(value)


def load_gold(path: str | Path) -> list[dict]:
    """Read the gold JSONL file; raise ValueError (with file:line) on a malformed line."""
    gold: list[dict] = []
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{where}: not valid JSON ({error.msg})") from error
            if not isinstance(record, dict):
                raise ValueError(f"{where}: not a JSON object")
            missing = [key for key in ("doc_id", "text", "group")
                       if not isinstance(record.get(key), str) or not record[key].strip()]
            if missing:
                raise ValueError(f"{where}: missing or non-string field(s) {missing}")
            if "speaker" not in record or not (
                record["speaker"] is None or isinstance(record["speaker"], str)
            ):
                raise ValueError(f"{where}: field 'speaker' must be a string or null")
            if not isinstance(record.get("direct"), bool):
                raise ValueError(f"{where}: field 'direct' must be true or false")
            gold.append(record)
    return gold


def _prf(matched_pred: int, predicted: int, matched_gold: int, gold: int) -> dict[str, float]:
    precision = matched_pred / predicted if predicted else 0.0
    recall = matched_gold / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1,
            "predicted": predicted, "predicted_correct": matched_pred,
            "gold": gold, "gold_found": matched_gold}


def match(pred_text: str, gold_text: str, mode: str = "contiguous") -> tuple[bool, bool, float]:
    """(matches, gold contained in prediction, token overlap) for two texts of one document."""
    gold_norm = normalize(gold_text)
    contained = bool(gold_norm) and gold_norm in normalize(pred_text)
    overlap = 1.0 if contained else token_overlap(pred_text, gold_text, mode)
    return contained or overlap >= OVERLAP_THRESHOLD, contained, overlap


def _cluster_scores(groups: list[str], clusters: list[str]) -> dict:
    from sklearn.metrics import homogeneity_completeness_v_measure

    n = len(groups)
    if not n:
        return {"n": 0, "purity": 0.0, "inverse_purity": 0.0, "homogeneity": 0.0,
                "completeness": 0.0, "v_measure": 0.0, "clusters": 0, "groups": 0}
    pairs = Counter(zip(clusters, groups, strict=True))
    best_by_cluster: dict[str, int] = {}
    best_by_group: dict[str, int] = {}
    for (cluster, group), count in pairs.items():
        best_by_cluster[cluster] = max(best_by_cluster.get(cluster, 0), count)
        best_by_group[group] = max(best_by_group.get(group, 0), count)
    homogeneity, completeness, v_measure = homogeneity_completeness_v_measure(groups, clusters)
    return {
        "n": n,
        "purity": sum(best_by_cluster.values()) / n,
        "inverse_purity": sum(best_by_group.values()) / n,
        "homogeneity": float(homogeneity),
        "completeness": float(completeness),
        "v_measure": float(v_measure),
        "clusters": len(best_by_cluster),
        "groups": len(best_by_group),
    }


def _cluster_map(clusters: pd.DataFrame) -> dict[str, str]:
    missing = [c for c in REQUIRED_CLUSTER_COLUMNS if c not in clusters.columns]
    if missing:
        raise ValueError(f"clusters lack column(s) {missing}")
    mapping: dict[str, str] = {}
    for cluster_id, quote_ids in zip(clusters["cluster_id"], clusters["quote_ids"], strict=True):
        if isinstance(quote_ids, str):
            quote_ids = [quote_ids]
        elif not hasattr(quote_ids, "__iter__"):  # None or NaN: an empty cluster
            continue
        for quote_id in quote_ids:
            mapping.setdefault(str(quote_id), str(cluster_id))
    return mapping


def evaluate(
    quotes: pd.DataFrame, clusters: pd.DataFrame | None, gold: list[dict],
    overlap: str = "contiguous",
) -> dict:
    """Extraction, attribution and cluster scores of ``quotes``/``clusters`` against ``gold``.

    ``overlap`` picks the token-overlap rule ("contiguous", the default, or "bag"; see the
    module docstring).

    Returns plain Python values: "extraction" ({precision, recall, f1, predicted,
    predicted_correct, gold, gold_found}), "direct" and "indirect" (the same, split by the
    ``direct`` flag of the predictions for precision and of the gold for recall), "per_doc"
    (the same per document), "attribution" ({accuracy, correct, matched}), "direct_agreement"
    (matched gold quotes whose best prediction carries the gold ``direct`` flag / matched),
    "clusters" (see ``_cluster_scores``; None when ``clusters`` is None) with "cluster_note",
    "cluster_confusions" (groups spread over several clusters and clusters holding several
    groups), "matches" (one record per gold quote), "missed" (unmatched gold records),
    "false_positives" (predictions matching no gold quote) and "wrong_speaker".
    """
    if overlap not in OVERLAP_MODES:
        raise ValueError(f"unknown overlap mode {overlap!r} (expected one of {OVERLAP_MODES})")
    missing = [c for c in REQUIRED_QUOTE_COLUMNS if c not in quotes.columns]
    if missing:
        raise ValueError(f"quotes lack column(s) {missing}")
    n_pred = len(quotes)
    pred_ids = [str(q) for q in quotes["quote_id"]]
    pred_docs = [doc_key(d) for d in quotes["doc_id"]]
    pred_texts = [t if isinstance(t, str) else "" for t in quotes["text"]]
    pred_speakers = ([_speaker(s) for s in quotes["speaker"]] if "speaker" in quotes.columns
                     else [None] * n_pred)
    pred_direct = ([_flag(d) for d in quotes["direct"]] if "direct" in quotes.columns
                   else [None] * n_pred)
    gold_docs = [doc_key(g["doc_id"]) for g in gold]

    pred_hit = [False] * n_pred
    best: list[tuple[tuple, int] | None] = [None] * len(gold)
    for j in range(len(gold)):
        for i in range(n_pred):
            if pred_docs[i] != gold_docs[j]:
                continue
            ok, contained, share = match(pred_texts[i], gold[j]["text"], overlap)
            if not ok:
                continue
            pred_hit[i] = True
            key = (contained, share, -len(normalize(pred_texts[i])), -i)
            if best[j] is None or key > best[j][0]:
                best[j] = (key, i)
    best_pred = [b[1] if b is not None else None for b in best]
    gold_hit = [b is not None for b in best_pred]

    def split(flag: bool) -> dict[str, float]:
        preds = [i for i in range(n_pred) if pred_direct[i] is flag]
        golds = [j for j, g in enumerate(gold) if g["direct"] is flag]
        return _prf(sum(pred_hit[i] for i in preds), len(preds),
                    sum(gold_hit[j] for j in golds), len(golds))

    per_doc = {}
    for doc in sorted(set(pred_docs) | set(gold_docs)):
        preds = [i for i in range(n_pred) if pred_docs[i] == doc]
        golds = [j for j in range(len(gold)) if gold_docs[j] == doc]
        per_doc[doc] = _prf(sum(pred_hit[i] for i in preds), len(preds),
                            sum(gold_hit[j] for j in golds), len(golds))

    matches = []
    wrong_speaker = []
    correct = agree = 0
    for j, g in enumerate(gold):
        i = best_pred[j]
        record = {"doc_id": gold_docs[j], "text": g["text"], "group": g["group"],
                  "gold_speaker": g["speaker"], "gold_direct": g["direct"],
                  "matched": i is not None}
        if i is not None:
            ok = _same_speaker(pred_speakers[i], g["speaker"])
            correct += ok
            agree += pred_direct[i] is g["direct"]
            record.update({"quote_id": pred_ids[i], "predicted_text": pred_texts[i],
                           "predicted_speaker": pred_speakers[i],
                           "predicted_direct": pred_direct[i], "speaker_correct": ok})
            if not ok:
                wrong_speaker.append(record)
        matches.append(record)
    n_matched = sum(gold_hit)

    result: dict = {
        "extraction": _prf(sum(pred_hit), n_pred, n_matched, len(gold)),
        "direct": split(True),
        "indirect": split(False),
        "per_doc": per_doc,
        "attribution": {"accuracy": correct / n_matched if n_matched else 0.0,
                        "correct": correct, "matched": n_matched},
        "direct_agreement": agree / n_matched if n_matched else 0.0,
        "clusters": None,
        "cluster_note": None,
        "cluster_confusions": {"split_groups": {}, "mixed_clusters": {}},
        "matches": matches,
        "missed": [dict(g) for g, hit in zip(gold, gold_hit, strict=True) if not hit],
        "false_positives": [
            {"quote_id": pred_ids[i], "doc_id": pred_docs[i], "text": pred_texts[i],
             "speaker": pred_speakers[i], "direct": pred_direct[i]}
            for i in range(n_pred) if not pred_hit[i]
        ],
        "wrong_speaker": wrong_speaker,
    }

    if clusters is None:
        result["cluster_note"] = f"no {CLUSTERS_FILE}: cluster metrics skipped"
        return result
    mapping = _cluster_map(clusters)
    labels_group: list[str] = []
    labels_cluster: list[str] = []
    unclustered = 0
    for record in matches:
        if not record["matched"]:
            continue
        cluster = mapping.get(record["quote_id"])
        if cluster is None:
            unclustered += 1
            cluster = UNCLUSTERED + record["quote_id"]
        labels_group.append(record["group"])
        labels_cluster.append(cluster)
        record["cluster_id"] = cluster
    result["clusters"] = _cluster_scores(labels_group, labels_cluster)
    result["clusters"]["unclustered"] = unclustered
    if unclustered:
        result["cluster_note"] = (f"{unclustered} matched quote(s) in no cluster, "
                                  "counted as singleton clusters")
    by_group: dict[str, set[str]] = {}
    by_cluster: dict[str, set[str]] = {}
    for group, cluster in zip(labels_group, labels_cluster, strict=True):
        by_group.setdefault(group, set()).add(cluster)
        by_cluster.setdefault(cluster, set()).add(group)
    result["cluster_confusions"] = {
        "split_groups": {g: sorted(c) for g, c in sorted(by_group.items()) if len(c) > 1},
        "mixed_clusters": {c: sorted(g) for c, g in sorted(by_cluster.items()) if len(g) > 1},
    }
    return result


def _short(text: object, width: int = 72) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _short_doc(doc: object) -> str:
    return doc_key(doc).split("_", 1)[0]


def _line(name: str, scores: dict) -> str:
    return (f"{name:<11} P {scores['precision']:.3f} ({scores['predicted_correct']}/"
            f"{scores['predicted']})  R {scores['recall']:.3f} ({scores['gold_found']}/"
            f"{scores['gold']})  F1 {scores['f1']:.3f}")


def format_report(result: dict) -> str:
    """Human-readable summary of an ``evaluate`` result."""
    attribution = result["attribution"]
    lines = [
        "extraction (P: predictions split by their direct flag, R: gold split by its flag)",
        _line("all", result["extraction"]),
        _line("direct", result["direct"]),
        _line("indirect", result["indirect"]),
        "",
        f"{'document':<10} {'pred':>5} {'ok':>4} {'gold':>5} {'found':>6} {'P':>6} {'R':>6}"
        f" {'F1':>6}",
    ]
    for doc, s in result["per_doc"].items():
        lines.append(f"{_short_doc(doc):<10} {s['predicted']:>5} {s['predicted_correct']:>4} "
                     f"{s['gold']:>5} {s['gold_found']:>6} {s['precision']:>6.2f} "
                     f"{s['recall']:>6.2f} {s['f1']:>6.2f}")
    lines += [
        "",
        f"attribution accuracy {attribution['accuracy']:.3f} "
        f"({attribution['correct']}/{attribution['matched']} matched gold quotes)",
        f"direct flag agreement {result['direct_agreement']:.3f}",
        "",
    ]
    clusters = result["clusters"]
    if clusters is None:
        lines.append(f"clusters: {result['cluster_note']}")
    else:
        lines.append(
            f"clusters over {clusters['n']} matched quotes ({clusters['groups']} gold groups, "
            f"{clusters['clusters']} predicted clusters): purity {clusters['purity']:.3f}  "
            f"inverse purity {clusters['inverse_purity']:.3f}  homogeneity "
            f"{clusters['homogeneity']:.3f}  completeness {clusters['completeness']:.3f}  "
            f"V {clusters['v_measure']:.3f}"
        )
        if result["cluster_note"]:
            lines.append(f"  note: {result['cluster_note']}")
        confusions = result["cluster_confusions"]
        for group, ids in confusions["split_groups"].items():
            lines.append(f"  group {group} split over clusters {', '.join(ids)}")
        for cluster, groups in confusions["mixed_clusters"].items():
            lines.append(f"  cluster {cluster} mixes groups {', '.join(groups)}")

    lines += ["", f"missed gold quotes ({len(result['missed'])}):"]
    for g in result["missed"]:
        kind = "direct" if g["direct"] else "indirect"
        lines.append(f"  {_short_doc(g['doc_id'])} [{kind}, {g['speaker']}, {g['group']}] "
                     f"{_short(g['text'])}")
    lines += ["", f"false positives ({len(result['false_positives'])}):"]
    for p in result["false_positives"]:
        kind = {True: "direct", False: "indirect", None: "?"}[p["direct"]]
        lines.append(f"  {_short_doc(p['doc_id'])} {p['quote_id']} [{kind}, {p['speaker']}] "
                     f"{_short(p['text'])}")
    lines += ["", f"wrong speakers ({len(result['wrong_speaker'])}):"]
    for r in result["wrong_speaker"]:
        lines.append(f"  {_short_doc(r['doc_id'])} {r['quote_id']} gold {r['gold_speaker']!r} "
                     f"predicted {r['predicted_speaker']!r}: {_short(r['text'], 50)}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=(
            "Score OUTPUT_DIR/quotes.parquet (and clusters.parquet when present) against the "
            "seed quote gold: extraction precision/recall/F1 (also direct vs indirect), "
            "attribution accuracy, and cluster purity, inverse purity and V-measure."
        )
    )
    parser.add_argument("output_dir", type=Path, metavar="OUTPUT_DIR",
                        help=f"run output directory holding {QUOTES_FILE}")
    parser.add_argument("--gold", type=Path, default=DEFAULT_GOLD,
                        help="gold JSONL file (default: eval/seeds_quotes_gold.jsonl)")
    parser.add_argument("--overlap", choices=OVERLAP_MODES, default="contiguous",
                        help="token-overlap rule: longest contiguous run of content words "
                        "(default) or plain bag of words")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object instead of the readable report")
    args = parser.parse_args(argv)

    quotes_path = args.output_dir / QUOTES_FILE
    if not quotes_path.is_file():
        print(
            f"error: {quotes_path} not found; run `quotetrace run configs/seeds.yaml` first "
            "(or pass the output directory of a finished run)",
            file=sys.stderr,
        )
        return 2
    if not args.gold.is_file():
        print(f"error: gold file {args.gold} not found", file=sys.stderr)
        return 2
    clusters_path = args.output_dir / CLUSTERS_FILE
    try:
        gold = load_gold(args.gold)
        quotes = pd.read_parquet(quotes_path)
        clusters = pd.read_parquet(clusters_path) if clusters_path.is_file() else None
        result = evaluate(quotes, clusters, gold, overlap=args.overlap)
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    if args.json:
        print(json.dumps(result, ensure_ascii=False, default=str))
    else:
        print(format_report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
