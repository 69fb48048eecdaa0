"""Candidate recall of story search on a scale-benchmark job: the share of same-story document
pairs from different outlets that reach the aligner.

    python benchmarks/candidate_recall.py outputs/scale-10000-local outputs/scale-corpus-10000

The story of each document comes from the corpus's ``metadata.csv`` (benchmarks/scale_corpus.py
writes it); the candidate pairs are recomputed from the job's own tables and config with the
align stage's functions, so the number describes exactly what the job aligned. Prints one JSON
line.
"""

from __future__ import annotations

import argparse
import json
import sys
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.config import parse_config  # noqa: E402
from pipeline.stages.align import document_pairs, story_candidates  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("job", type=Path, help="a scale job's output folder")
    parser.add_argument("corpus", type=Path, help="the scale corpus folder it ran on")
    args = parser.parse_args(argv)

    manifest = json.loads((args.job / "manifest.json").read_text())
    job = parse_config(manifest["config"])
    documents = pd.read_parquet(args.job / "documents.parquet")
    sentences = pd.read_parquet(args.job / "sentences.parquet", columns=["doc_id", "sent_id"])
    embeddings = pd.read_parquet(args.job / "embeddings.parquet")
    story = pd.read_csv(args.corpus / "metadata.csv", dtype=str).set_index("doc_id")["story"]

    vectors = np.stack(embeddings["embedding"].to_numpy())
    rows_of = sentences.reset_index(drop=True).groupby("doc_id", sort=True).indices
    doc_ids = sorted(rows_of)
    means = np.stack([vectors[rows_of[doc]].mean(axis=0) for doc in doc_ids])
    means /= np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
    dates = dict(zip(documents["doc_id"], documents["date"], strict=True))
    candidates = story_candidates(doc_ids, means, dates, job.align)
    aligned = set(document_pairs(documents, job.align.pairs, job.align.same_outlet, candidates))

    outlet = dict(zip(documents["doc_id"], documents["outlet"], strict=True))
    wanted = set()
    for _, members in documents.groupby(documents["doc_id"].map(story)):
        for a, b in combinations(sorted(members["doc_id"]), 2):
            if outlet[a] != outlet[b]:
                wanted.add((a, b))
    found = len(wanted & aligned)

    print(json.dumps({
        "name": "candidate_recall", "job": str(args.job), "documents": len(documents),
        "story_pairs": len(wanted), "document_pairs": len(aligned), "found": found,
        "recall": round(found / len(wanted), 4) if wanted else None,
        "precision": round(found / len(aligned), 4) if aligned else None,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
