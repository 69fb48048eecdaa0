"""Story recall and precision of the document pairs the stories stage supports, under each
``align.weak_pairs`` rule, on a scale corpus: one mining, three rules compared.

    python benchmarks/story_support.py outputs/scale-corpus-10000 \\
        [--config configs/scale.yaml] [--set embed.backend=torch --set align.evidence_min_score=0]

The corpus comes from ``benchmarks/scale_corpus.py``. Ingest … embed run in this process
(:func:`pipeline.runner.run_stages`: nothing cached or written; the embedding cache serves the
vectors it holds); the corpus is built as the stories stage builds it
(:func:`pipeline.stages.stories.mining_corpus`) and mined once (:mod:`pipeline.corpusmining`:
search, ratio margins, mutual links), and :func:`pipeline.corpusmining.
supported_pairs` is scored under ``weak_pairs`` = shared, story and none against the corpus's
stories (``metadata.csv``), with the scoring of ``benchmarks/story_recall.py``: recall is the
share of same-story pairs from different outlets that are supported, precision the share of
supported pairs that are same-story. One JSON line per rule.

A job's own alignments (pairs the align stage linked) are scored by ``story_recall.py``; the
two agree within a few pairs in 10,000, since nearly every supported pair gets a link.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

from pipeline.config import load_config
from pipeline.corpusalign import planning_params
from pipeline.corpusmining import mutual_links, search, supported_pairs
from pipeline.data import grouped_sentences, matching_texts
from pipeline.lexical import fit_lexicon, tfidf_rows
from pipeline.runner import run_stages
from pipeline.stages.stories import mining_corpus

sys.path.insert(0, str(Path(__file__).resolve().parent))
from story_recall import pair_scores  # a script beside this one, not a package

RULES = ("shared", "story", "none")
ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="a folder written by benchmarks/scale_corpus.py")
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "scale.yaml")
    parser.add_argument("--set", dest="settings", action="append", default=[],
                        help="config override, as quotetrace run --set (repeatable)")
    args = parser.parse_args(argv)
    if not (args.corpus / "metadata.csv").is_file():
        print(f"error: {args.corpus}/metadata.csv not found; build the corpus with "
              "benchmarks/scale_corpus.py --documents N --out DIR", file=sys.stderr)
        return 2
    job = load_config(args.config, overrides={
        "inputs": [str(args.corpus / "docs")],
        "ingest": {"metadata": str(args.corpus / "metadata.csv")}}, settings=args.settings)
    started = time.perf_counter()
    tables = run_stages(job, ["ingest", "clean", "segment", "detect", "translate", "embed"])
    documents = tables["documents"]
    sentences, doc_ids, doc = grouped_sentences(tables["sentences"])
    texts = matching_texts(sentences)
    corpus = mining_corpus(documents, tables.pop("embeddings"), sentences, doc_ids, doc,
                           tfidf_rows(texts, fit_lexicon(texts)))
    mining = planning_params(job.align).mining
    links = mutual_links(corpus, search(corpus, mining), mining.min_margin, mining.min_score)
    mined = time.perf_counter() - started
    story = pd.read_csv(args.corpus / "metadata.csv", dtype=str).set_index("doc_id")["story"]
    cross = job.align.pairs == "cross_language"
    for rule in RULES:
        supported = supported_pairs(corpus, links, replace(mining, weak_pairs=rule))
        linked = {tuple(sorted((doc_ids[a], doc_ids[b]))) for a, b in supported}
        print(json.dumps({"name": "story_support", "corpus": str(args.corpus),
                          "documents": len(doc_ids), "weak_pairs": rule,
                          "corpus_links": len(links), "seconds_to_mine": round(mined, 1),
                          **pair_scores(documents, linked, story, cross)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
