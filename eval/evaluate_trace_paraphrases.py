"""Trace by paraphrase: does a reported paraphrase of a seed quote find its speaker's cluster?

    python eval/evaluate_trace_paraphrases.py OUTPUT_DIR [--queries eval/trace_paraphrases.jsonl]
                                              [--json]

OUTPUT_DIR is a finished seeds job (``quotetrace run configs/seeds.yaml --output OUTPUT_DIR``).
Each line of the queries file is {"query", "speaker" (the canonical speaker of the statement it
paraphrases), "lang", "source" (where in the seed articles the statement is)}; the queries were
written from the seed articles before the trace's paraphrase handling was tuned. For each query,
:func:`pipeline.trace_query.trace` gives its best cluster; accuracy@1 is the share of queries
whose best cluster's speaker is the expected one (no cluster passing the threshold is wrong).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_QUERIES = ROOT / "eval" / "trace_paraphrases.jsonl"


def load_queries(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def evaluate(output_dir: Path, queries: list[dict]) -> dict:
    from pipeline.trace_query import trace

    rows = []
    for item in queries:
        result = trace(output_dir, item["query"], top_k=1)
        best = result["matches"][0] if result["matches"] else None
        rows.append({
            "query": item["query"], "lang": item.get("lang"), "expected": item["speaker"],
            "speaker_mention": result["speaker_mention"], "content": result["content"],
            "top_speaker": best["speaker"] if best else None,
            "top_cluster": best["cluster_id"] if best else None,
            "score": best["score"] if best else None,
            "speaker_match": best["speaker_match"] if best else None,
            "correct": bool(best) and best["speaker"] == item["speaker"],
        })
    correct = sum(row["correct"] for row in rows)
    return {"queries": len(rows), "correct": correct,
            "accuracy_at_1": round(correct / len(rows), 3) if rows else 0.0, "rows": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("output_dir", type=Path)
    parser.add_argument("--queries", type=Path, default=DEFAULT_QUERIES)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    result = evaluate(args.output_dir, load_queries(args.queries))
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return 0
    for row in result["rows"]:
        mark = "ok " if row["correct"] else "BAD"
        score = f"{row['score']:.3f}" if row["score"] is not None else "  -  "
        print(f"{mark} [{row['lang']}] {row['top_speaker'] or '(none)'!s:18.18s} {score}  "
              f"(expected {row['expected']})  {row['query'][:70]}")
    print(f"accuracy@1 {result['accuracy_at_1']:.3f} ({result['correct']}/{result['queries']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
