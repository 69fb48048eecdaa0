"""Train the learned quote tagger (:mod:`pipeline.quoting.learned`) on PolNeAR train.

    python eval/train_quote_model.py [--corpus ../shared/corpora/polnear_traindev]
                                     [--splits train,dev] [--c1 1.0] [--c2 0.01]
                                     [--iterations 200] [--limit N]
                                     [--output pipeline/quoting/models/polnear-crf.crfsuite]

Reads ``<split>/text/*.txt`` and the first annotator's ``<split>/attributions/*.ann`` of each
article (sorted, as the evaluation reads the test split), builds each article's cleaned text and
sentences with the real ingest → clean → segment → detect stages, reads the rules' quotes as
features, tags every token from the gold Content / Cue / Source spans, learns the cue words,
and trains the CRF. The settings and the decoding were chosen on dev with a model trained on
train alone (``--splits train``, scored with ``eval/evaluate_quotes_polnear.py --corpus
../shared/corpora/polnear_traindev/dev --model PATH``); the shipped model is then trained on
train and dev together (the defaults), and the test split is only ever scored. The written
model holds feature weights and the learned cue words (``*.cues.txt``), no article text.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "polnear_traindev"


def read_spans(path: Path) -> list[tuple[str, list[tuple[int, int]]]]:
    """``(label, pieces)`` of every text-bound annotation of a brat ``.ann`` file."""
    spans = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("T"):
            continue
        middle = line.split("\t")[1] if "\t" in line else ""
        label, _, offsets = middle.partition(" ")
        pieces = [tuple(map(int, p.split())) for p in offsets.split(";") if p.strip()]
        if pieces:
            spans.append((label, pieces))
    return spans


def articles(split_dir: Path, limit: int | None, every_annotator: bool = False
             ) -> list[tuple[Path, Path]]:
    """(text, .ann) of each annotated article of a split, sorted: the first annotator's, or
    with ``every_annotator`` one entry per annotator of the article."""
    annotations: dict[str, list[Path]] = {}
    for path in sorted((split_dir / "attributions").glob("*.ann")):
        annotations.setdefault(re.sub(r"_[0-9a-f]{4}$", "", path.stem), []).append(path)
    texts = [t for t in sorted((split_dir / "text").glob("*.txt")) if t.stem in annotations]
    return [(t, ann) for t in texts[:limit]
            for ann in (annotations[t.stem] if every_annotator else annotations[t.stem][:1])]


def sequences(pairs: list[tuple[Path, Path]]
              ) -> tuple[frozenset[str], list[tuple[list[list[str]], list[str]]]]:
    """(features, gold tags) of every chunk of every article, with the cue words learned
    from these articles' gold cues."""
    from pipeline.cleaning import clean_text_of
    from pipeline.config import parse_config
    from pipeline.quoting import QuoteParams, document_source, extract_document
    from pipeline.quoting.document import paragraph_numbers, sentence_positions
    from pipeline.quoting.learned import (
        RuleSpans,
        chunk_features,
        chunks,
        gold_tags,
        learn_cue_words,
    )
    from pipeline.runner import run_stages

    job = parse_config({"job": "polnear-train", "inputs": sorted({str(t) for t, _ in pairs}),
                        "translate": {"enabled": False}, "detect": {"languages": ["en"]}})
    tables = run_stages(job, ["ingest", "clean", "segment", "detect"])
    documents, sentences = tables["documents"], tables["sentences"]
    ann_of: dict[str, list[Path]] = {}
    for text, ann in pairs:
        ann_of.setdefault(text.stem, []).append(ann)
    by_doc = {doc_id: group.sort_values("idx")["text"].tolist()
              for doc_id, group in sentences.groupby("doc_id")}
    params = QuoteParams()
    read = []
    for row in documents.itertuples(index=False):
        texts = by_doc.get(row.doc_id)
        if not texts or row.doc_id not in ann_of:
            continue
        clean = clean_text_of(row)
        raw = row.raw_text
        rules = RuleSpans(extract_document(clean.text, texts, params,
                                           document_source(raw, clean.text)))
        positions = sentence_positions(clean.text, texts)
        paragraphs = paragraph_numbers(clean.text, positions)
        for ann in ann_of[row.doc_id]:
            spans = read_spans(ann)
            for chunk in chunks(clean.text, positions, texts, paragraphs, [True] * len(texts)):
                read.append((clean.text, chunk, rules, gold_tags(
                    chunk, spans, lambda a, b, c=clean, r=raw: c.raw_span(a, b, r))))
    cue_words = learn_cue_words([([text[a:b] for a, b in chunk.tokens], tags)
                                 for text, chunk, _, tags in read])
    return cue_words, [(chunk_features(text, chunk, rules.around(chunk.start, chunk.end),
                                       cue_words), tags)
                       for text, chunk, rules, tags in read]


def main(argv: list[str] | None = None) -> int:
    from pipeline.quoting.learned import DEFAULT_MODEL, train

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--output", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--splits", default="train,dev",
                        help="comma-separated splits of --corpus to train on")
    parser.add_argument("--c1", type=float, default=1.0)
    parser.add_argument("--c2", type=float, default=0.01)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--limit", type=int, default=None, help="only the first N articles")
    parser.add_argument("--every-annotator", action="store_true",
                        help="train on every annotator's file of an article, not the first")
    args = parser.parse_args(argv)
    pairs = []
    for name in args.splits.split(","):
        split = args.corpus / name.strip()
        if not (split / "text").is_dir():
            print(f"{split}: PolNeAR {name} split not found (text/ and attributions/); "
                  "pass --corpus", file=sys.stderr)
            return 2
        pairs += articles(split, args.limit, args.every_annotator)
    started = time.perf_counter()
    cue_words, data = sequences(pairs)
    tokens = sum(len(tags) for _, tags in data)
    print(f"{len(pairs)} articles, {len(data)} chunks, {tokens} tokens, "
          f"{len(cue_words)} cue words "
          f"({time.perf_counter() - started:.0f} s)")
    result = train(iter(data), args.output, args.c1, args.c2, args.iterations, cue_words)
    size = args.output.stat().st_size
    print(f"wrote {args.output} ({size / 1e6:.1f} MB) in {time.perf_counter() - started:.0f} s; "
          f"last iteration {result}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
