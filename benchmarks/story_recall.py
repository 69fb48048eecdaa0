"""Story recall and precision of a scale-benchmark job: which document pairs the aligner linked.

    python benchmarks/story_recall.py outputs/scale-10000-local outputs/scale-corpus-10000

The story of each document comes from the corpus's ``metadata.csv`` (benchmarks/scale_corpus.py
writes it). A document pair is *linked* when ``alignments.parquet`` holds at least one link
between its documents with a sentence on both sides. Recall: the share of same-story pairs from
different outlets (and, under ``align.pairs: cross_language``, different languages) that are
linked (also over same-language pairs alone: the hashing backend of configs/scale.yaml cannot
match a sentence with its translation); precision: the share of linked pairs that are
same-story. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
from itertools import combinations
from pathlib import Path

import pandas as pd


def story_scores(documents: pd.DataFrame, alignments: pd.DataFrame, story: pd.Series,
                 cross_language: bool = False) -> dict:
    """Recall and precision of linked document pairs against same-story pairs."""
    both = alignments[[len(a) > 0 and len(b) > 0 for a, b in
                       zip(alignments["sent_ids_a"], alignments["sent_ids_b"], strict=True)]]
    linked = {tuple(sorted(p)) for p in zip(both["doc_a"], both["doc_b"], strict=True)}
    return pair_scores(documents, linked, story, cross_language)


def pair_scores(documents: pd.DataFrame, linked: set[tuple[str, str]], story: pd.Series,
                cross_language: bool = False) -> dict:
    """Recall and precision of ``linked`` document pairs (sorted id pairs) against same-story
    pairs."""
    outlet = dict(zip(documents["doc_id"], documents["outlet"].fillna(""), strict=True))
    lang = dict(zip(documents["doc_id"], documents["lang"], strict=True))
    wanted = set()
    for _, members in documents.groupby(documents["doc_id"].map(story)):
        for a, b in combinations(sorted(members["doc_id"]), 2):
            if outlet[a] != outlet[b] and not (cross_language and lang[a] == lang[b]):
                wanted.add((a, b))
    same = {p for p in linked if story.get(p[0]) == story.get(p[1])}
    monolingual = {p for p in wanted if lang[p[0]] == lang[p[1]]}
    return {"story_pairs": len(wanted), "linked_pairs": len(linked),
            "found": len(wanted & linked),
            "recall": round(len(wanted & linked) / len(wanted), 4) if wanted else None,
            "same_language_pairs": len(monolingual),
            "recall_same_language": (round(len(monolingual & linked) / len(monolingual), 4)
                                     if monolingual else None),
            "precision": round(len(same) / len(linked), 4) if linked else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("job", type=Path, help="a scale job's output folder")
    parser.add_argument("corpus", type=Path, help="the scale corpus folder it ran on")
    args = parser.parse_args(argv)
    manifest = json.loads((args.job / "manifest.json").read_text())
    documents = pd.read_parquet(args.job / "documents.parquet")
    alignments = pd.read_parquet(args.job / "alignments.parquet",
                                 columns=["doc_a", "doc_b", "sent_ids_a", "sent_ids_b"])
    story = pd.read_csv(args.corpus / "metadata.csv", dtype=str).set_index("doc_id")["story"]
    cross = manifest["config"].get("align", {}).get("pairs") == "cross_language"
    print(json.dumps({"name": "story_recall", "job": str(args.job), "documents": len(documents),
                      **story_scores(documents, alignments, story, cross)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
