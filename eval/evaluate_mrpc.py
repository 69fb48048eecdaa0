"""Paraphrase detection on MRPC test: does a cosine threshold tell renditions of one statement?

The trace stage links two quotes (and ``quotetrace`` links a query to a cluster) when the cosine of
their embeddings reaches ``trace.min_similarity``. MRPC's test split (1,725 cross-outlet news
sentence pairs, many of them one quote reported by two outlets) measures how well that rule
works: a pair is predicted a paraphrase when the cosine of its two sentences, embedded with the
trace's model and prompt (multilingual-e5-small, ``query: ``), reaches the threshold.

Reported: accuracy, F1, precision and recall at the default ``trace.min_similarity``; and, so
that the default can be justified without tuning on the test pairs, the thresholds that maximise
F1 and accuracy on the first half of the file, applied to the second half.

    python eval/evaluate_mrpc.py [--corpus ../shared/corpora/mrpc_test/msr_paraphrase_test.tsv]
                                 [--model intfloat/multilingual-e5-small] [--threshold T] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

DEFAULT_CORPUS = ROOT / ".." / "shared" / "corpora" / "mrpc_test" / "msr_paraphrase_test.tsv"
DEFAULT_CACHE = ROOT / "outputs" / ".cache" / "eval-vectors"


def load_pairs(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """(first sentences, second sentences, labels) from an MRPC TSV, with or without header."""
    first, second, labels = [], [], []
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        fields = line.split("\t")
        if len(fields) < 5 or not fields[0].strip().isdigit():
            continue  # the header ("Quality  #1 ID  #2 ID  #1 String  #2 String") or a blank
        labels.append(int(fields[0]))
        first.append(fields[3].strip())
        second.append(fields[4].strip())
    return first, second, np.array(labels, dtype=bool)


def scores(predicted: np.ndarray, gold: np.ndarray) -> dict[str, float]:
    tp = int((predicted & gold).sum())
    fp = int((predicted & ~gold).sum())
    fn = int((~predicted & gold).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = float((predicted == gold).mean()) if len(gold) else 0.0
    return {"accuracy": round(accuracy, 4), "f1": round(f1, 4),
            "precision": round(precision, 4), "recall": round(recall, 4)}


def best_threshold(cosines: np.ndarray, gold: np.ndarray, metric: str) -> float:
    """The threshold (one of the observed cosines) that maximises ``metric`` on these pairs."""
    best, best_value = 1.0, -1.0
    for threshold in np.unique(np.round(cosines, 4)):
        value = scores(cosines >= threshold, gold)[metric]
        if value > best_value:
            best, best_value = float(threshold), value
    return best


def evaluate(cosines: np.ndarray, gold: np.ndarray, threshold: float) -> dict:
    half = len(gold) // 2
    report: dict = {
        "pairs": len(gold),
        "paraphrases": int(gold.sum()),
        "threshold": threshold,
        "at_threshold": scores(cosines >= threshold, gold),
        "at_threshold_second_half": scores(cosines[half:] >= threshold, gold[half:]),
        "cosine_mean": {"paraphrase": round(float(cosines[gold].mean()), 4),
                        "not_paraphrase": round(float(cosines[~gold].mean()), 4)},
    }
    for metric in ("f1", "accuracy"):
        tuned = best_threshold(cosines[:half], gold[:half], metric)
        report[f"best_{metric}_first_half"] = {
            "threshold": tuned,
            "first_half": scores(cosines[:half] >= tuned, gold[:half]),
            "second_half": scores(cosines[half:] >= tuned, gold[half:]),
        }
    return report


def main(argv: list[str] | None = None) -> int:
    from pipeline.config import EmbedConfig, TraceConfig

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--model", default=EmbedConfig().model)
    parser.add_argument("--prompt", default=EmbedConfig().prompt_name)
    parser.add_argument("--threshold", type=float, default=TraceConfig().min_similarity,
                        help="Default: trace.min_similarity.")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                        help="Embedding cache folder.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not args.corpus.is_file():
        print(f"{args.corpus}: MRPC test file not found (see ../shared/corpora/README.md)",
              file=sys.stderr)
        return 3

    from pipeline.models.embedder import Embedder

    first, second, gold = load_pairs(args.corpus)
    embedder = Embedder(args.model, args.prompt, 64, args.cache)
    vectors = embedder.embed(first + second)
    cosines = np.einsum("ij,ij->i", vectors[:len(first)], vectors[len(first):])
    report = {"model": args.model, "prompt": args.prompt,
              **evaluate(cosines, gold, args.threshold)}
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"MRPC test: {report['pairs']} pairs ({report['paraphrases']} paraphrases), "
          f"{args.model} prompt {args.prompt!r}")
    print(f"mean cosine: paraphrase {report['cosine_mean']['paraphrase']:.3f}, "
          f"not {report['cosine_mean']['not_paraphrase']:.3f}")
    rows = [(f"trace.min_similarity {args.threshold:.3f}, all", report["at_threshold"]),
            (f"trace.min_similarity {args.threshold:.3f}, 2nd half",
             report["at_threshold_second_half"])]
    for metric in ("f1", "accuracy"):
        tuned = report[f"best_{metric}_first_half"]
        rows.append((f"best {metric} on 1st half {tuned['threshold']:.3f}, 2nd half",
                     tuned["second_half"]))
    print(f"{'setting':<44} {'acc':>6} {'F1':>6} {'P':>6} {'R':>6}")
    for label, s in rows:
        print(f"{label:<44} {s['accuracy']:6.3f} {s['f1']:6.3f} {s['precision']:6.3f} "
              f"{s['recall']:6.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
