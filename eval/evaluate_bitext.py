"""Sentence-alignment quality on real vi–en text: IWSLT'15 tst2013, English side perturbed.

For each TED talk the Vietnamese lines stay in order; the English lines are deterministically
perturbed: some are dropped (their Vietnamese line then has no counterpart), some adjacent pairs
are merged into one line (gold 2-1 links), unrelated English lines from the dev set are added,
and the result is shuffled. The talks are written as ``talkNN.vi`` / ``talkNN.en`` files and run
through the real pipeline with ``configs/bitext.yaml`` (plus ``align.pairs: same_stem``). Its
align settings were chosen on the dev split (``--split tst2012``); report the test split.

Reported: strict link precision/recall/F1 (a predicted link counts only if its Vietnamese and
English line sets both equal a gold link's), and atom precision/recall (each (vi, en) line pair
inside the links), overall and for the 2-1 merges alone.

    python eval/evaluate_bitext.py [--corpus ../shared/corpora/iwslt15_envi_tst2013]
                                   [--talks N] [--json] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import yaml

DEFAULT_CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpora" / \
    "iwslt15_envi_tst2013"
Link = tuple[tuple[int, ...], tuple[int, ...]]


BITEXT_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "bitext.yaml"
SPLITS = ("tst2013", "tst2012")  # test, dev (tune on dev, report test)


def load_talks(corpus: Path, split: str = "tst2013") -> list[tuple[str, list[str], list[str]]]:
    """(talk id, vi lines, en lines) for each talk of ``split``, in corpus order."""
    vi = (corpus / f"{split}.raw.vi").read_text(encoding="utf-8").splitlines()
    en = (corpus / f"{split}.raw.en").read_text(encoding="utf-8").splitlines()
    ids = [line.split("\t")[0] for line in
           (corpus / f"{split}.docids").read_text(encoding="utf-8").splitlines()]
    talks: dict[str, tuple[list[str], list[str]]] = {}
    for talk, v, e in zip(ids, vi, en, strict=True):
        talks.setdefault(talk, ([], []))
        talks[talk][0].append(v.strip())
        talks[talk][1].append(e.strip())
    return [(talk, v, e) for talk, (v, e) in talks.items()]


def perturb(vi: list[str], en: list[str], distractors: list[str], rng: random.Random,
            drop: float = 0.1, merge: float = 0.1, add: float = 0.1
            ) -> tuple[list[str], list[str], set[Link]]:
    """Perturbed English lines and the gold links (vi line ids, en line ids) after shuffling."""
    units: list[tuple[tuple[int, ...], str]] = []
    i = 0
    while i < len(en):
        roll = rng.random()
        if roll < merge and i + 1 < len(en):
            units.append(((i, i + 1), f"{en[i]} {en[i + 1]}"))
            i += 2
        elif roll < merge + drop:
            i += 1
        else:
            units.append(((i,), en[i]))
            i += 1
    extra = [((), line) for line in rng.sample(distractors, int(add * len(en)))]
    units += extra
    rng.shuffle(units)
    gold = {(vi_ids, (position,)) for position, (vi_ids, _) in enumerate(units) if vi_ids}
    return vi, [text for _, text in units], gold


def line_of(raw: str, char_start: int) -> int:
    return raw.count("\n", 0, char_start)


def score(gold: set[Link], predicted: set[Link]) -> dict[str, float]:
    def atoms(links: set[Link]) -> set[tuple[int, int]]:
        return {(a, b) for va, vb in links for a in va for b in vb}

    hits = len(gold & predicted)
    gold_atoms, predicted_atoms = atoms(gold), atoms(predicted)
    atom_hits = len(gold_atoms & predicted_atoms)
    precision = hits / len(predicted) if predicted else 0.0
    recall = hits / len(gold) if gold else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(2 * precision * recall / (precision + recall), 4) if hits else 0.0,
        "atom_precision": round(atom_hits / len(predicted_atoms), 4) if predicted_atoms else 0.0,
        "atom_recall": round(atom_hits / len(gold_atoms), 4) if gold_atoms else 0.0,
        "gold": len(gold),
        "predicted": len(predicted),
    }


def evaluate(corpus: Path, talks: int | None = None, workdir: Path | None = None,
             seed: int = 13, embed_model: str | None = None, align: dict | None = None,
             split: str = "tst2013") -> dict:
    from pipeline.config import parse_config
    from pipeline.runner import run_job

    all_talks = load_talks(corpus, split)[:talks]
    other = SPLITS[1] if split == SPLITS[0] else SPLITS[0]
    distractors = [line.strip() for line in
                   (corpus / f"{other}.raw.en").read_text(encoding="utf-8").splitlines()
                   if len(line.split()) > 3]
    rng = random.Random(seed)
    work = Path(workdir or tempfile.mkdtemp(prefix="qt-bitext-"))
    inputs = work / "bitext"
    inputs.mkdir(parents=True, exist_ok=True)
    gold: dict[str, set[Link]] = {}
    for number, (_, vi, en) in enumerate(all_talks):
        vi_lines, en_lines, talk_gold = perturb(vi, en, distractors, rng)
        stem = f"talk{number:02d}"
        (inputs / f"{stem}.vi").write_text("\n".join(vi_lines) + "\n", encoding="utf-8")
        (inputs / f"{stem}.en").write_text("\n".join(en_lines) + "\n", encoding="utf-8")
        gold[stem] = talk_gold
    # The shipped bitext config, with every talk's x.vi aligned only to its own x.en.
    config = yaml.safe_load(BITEXT_CONFIG.read_text(encoding="utf-8"))
    config.update({"job": "bitext-eval", "inputs": [str(inputs)], "output": str(work / "out")})
    config["ingest"] = {**config.get("ingest", {}), "extensions": [".vi", ".en"]}
    config["segment"] = {**config.get("segment", {}), "min_chars": 1}
    config["align"] = {**config.get("align", {}), "pairs": "same_stem", **(align or {})}
    if embed_model:
        config["embed"] = {"model": embed_model}
    result = run_job(parse_config(config, "evaluate_bitext"))
    sentences = result.tables["sentences"].set_index("sent_id")
    raw = {f.name: f.read_text(encoding="utf-8") for f in inputs.iterdir()}

    predicted: dict[str, set[Link]] = defaultdict(set)
    for row in result.tables["alignments"].itertuples(index=False):
        sides = {}
        for doc, ids in ((row.doc_a, row.sent_ids_a), (row.doc_b, row.sent_ids_b)):
            lines = tuple(sorted(line_of(raw[doc], int(sentences.loc[s, "char_start"]))
                                 for s in ids))
            sides[doc.rsplit(".", 1)[1]] = (doc.rsplit(".", 1)[0], lines)
        stem = sides["vi"][0]
        predicted[stem].add((sides["vi"][1], sides["en"][1]))

    all_gold = {(stem, link) for stem, links in gold.items() for link in links}
    all_pred = {(stem, link) for stem, links in predicted.items() for link in links}
    merged_gold = {item for item in all_gold if len(item[1][0]) == 2}
    merged_pred = {item for item in all_pred if len(item[1][0]) == 2}
    report = {
        "corpus": str(corpus), "split": split, "talks": len(all_talks), "seed": seed,
        "vi_lines": sum(len(vi) for _, vi, _ in all_talks),
        "overall": score(all_gold, all_pred),  # type: ignore[arg-type]
        "merges_2_1": score(merged_gold, merged_pred),  # type: ignore[arg-type]
        "seconds": {r.name: round(r.seconds, 2) for r in result.reports},
    }
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--talks", type=int, default=None, help="Only the first N talks.")
    parser.add_argument("--keep", type=Path, default=None, help="Work folder to keep.")
    parser.add_argument("--embed-model", default=None)
    parser.add_argument("--split", choices=SPLITS, default="tst2013",
                        help="tst2013 (test, default) or tst2012 (dev, for tuning).")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not (args.corpus / "tst2013.raw.vi").is_file():
        print(f"error: {args.corpus}/tst2013.raw.vi not found; pass --corpus "
              "path/to/iwslt15_envi_tst2013", file=sys.stderr)
        return 2
    report = evaluate(args.corpus.resolve(), args.talks, args.keep, embed_model=args.embed_model,
                      split=args.split)
    if args.json:
        print(json.dumps(report))
    else:
        print(f"IWSLT'15 {report['split']}, {report['talks']} talks, {report['vi_lines']} vi lines "
              "(en: shuffled, 10% dropped, 10% merged, 10% added)")
        for name in ("overall", "merges_2_1"):
            r = report[name]
            print(f"  {name:<11} P {r['precision']:.3f}  R {r['recall']:.3f}  F1 {r['f1']:.3f}  "
                  f"(atoms P {r['atom_precision']:.3f} R {r['atom_recall']:.3f}; "
                  f"gold {r['gold']}, predicted {r['predicted']})")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
