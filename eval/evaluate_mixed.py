"""Many stories in one job: does the aligner find which documents, and which sentences, match?

- IWSLT mixed (vi–en; ``--corpus-iwslt``, ``--split tst2012`` = dev, default; ``tst2013`` =
  test): every talk of the split is one ``talkNN.vi`` / ``talkNN.en`` document pair in one job.
  Vietnamese lines stay in order; each English side is perturbed by ``evaluate_bitext.perturb``
  (10% of lines dropped, 10% of neighbours merged into one line, no lines added) and shuffled.
  Config ``configs/bitext.yaml`` (or ``--config-iwslt``) with ``align.pairs: cross_language``,
  not ``same_stem``: the aligner must find which talks go together. A predicted link is correct
  only when its Vietnamese and English line sets equal a gold link's and both are of one talk
  (``evaluate_bitext.score``: strict link P/R/F1, plus atom P/R over the (vi, en) line pairs
  inside the links). Also: the share of predicted links that join two different talks, and the
  share of Vietnamese talks whose most-linked English document is their own.
- MRPC mixed (English; ``--corpus-mrpc``): the first 320 pairs of the MRPC test file, in file
  order, as 20 stories of 16 pairs (story s = pairs 16s..16s+15). Story s is two documents,
  ``storySS-a.txt`` (its sentence 1s, shuffled) and ``storySS-b.txt`` (its sentence 2s,
  shuffled), one sentence per paragraph (blank line between), with outlet ``A`` / ``B`` in a
  metadata CSV. Config ``configs/seeds.yaml`` (or ``--config-mrpc``) with inputs, output and
  ``ingest.metadata`` replaced: every A document is aligned with every B document. A predicted
  link is correct when it joins sentence 1 and sentence 2 of one label-1 pair (its story's); a
  merged 1-2 / 2-1 link counts as correct when it contains both sentences of such a pair (a
  merge is not penalised for its extra sentence). Precision: correct links / predicted links
  (links to anything but the pair's partner are false); recall: label-1 pairs that some
  predicted link joins / label-1 pairs; F1. Also: the share of label-0 pairs that some link
  joins, and the share of predicted links across stories.

Predicted links empty on a side (unaligned sentences) are not scored, only counted. Both jobs
read ``--set section.key=value`` overrides (as ``quotetrace run --set``). Fixed seeds.

    python eval/evaluate_mixed.py [--only iwslt|mrpc]
        [--corpus-iwslt ../shared/corpora/iwslt15_envi_tst2013] [--split tst2012|tst2013]
        [--corpus-mrpc ../shared/corpora/mrpc_test/msr_paraphrase_test.tsv]
        [--config-iwslt configs/bitext.yaml] [--config-mrpc configs/seeds.yaml]
        [--set align.key=value ...] [--embed-model PATH] [--seed 13] [--json] [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import NamedTuple

EVAL = Path(__file__).resolve().parent
ROOT = EVAL.parent
for _folder in (ROOT, EVAL):  # run as a script from anywhere, or loaded by file path
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from alignment_jobs import UnitLink, job_config, job_links, run_timed, stage_seconds  # noqa: E402
from alignment_metrics import link_kind  # noqa: E402
from evaluate_bitext import (  # noqa: E402
    BITEXT_CONFIG,
    SPLITS,
    line_of,
    load_talks,
    perturb,
    score,
)
from evaluate_mrpc import load_pairs  # noqa: E402

CORPORA = ROOT / ".." / "shared" / "corpora"
DEFAULT_IWSLT = CORPORA / "iwslt15_envi_tst2013"
DEFAULT_MRPC = CORPORA / "mrpc_test" / "msr_paraphrase_test.tsv"
SEEDS_CONFIG = ROOT / "configs" / "seeds.yaml"
STORIES, PER_STORY = 20, 16

#: A link between talks: ((talk, vi line), ...), ((talk, en line), ...).
TalkLink = tuple[tuple[tuple[str, int], ...], tuple[tuple[str, int], ...]]


# --- IWSLT mixed ---------------------------------------------------------------------------

class Talk(NamedTuple):
    stem: str
    vi: list[str]
    en: list[str]
    gold: set  # (vi line ids, en line ids) links


def build_iwslt(corpus: Path, split: str = "tst2012", seed: int = 13,
                talks: int | None = None) -> list[Talk]:
    """Each talk's vi lines in order, its en lines perturbed and shuffled (no lines added)."""
    rng = random.Random(seed)
    out = []
    for number, (_, vi, en) in enumerate(load_talks(corpus, split)[:talks]):
        vi_lines, en_lines, gold = perturb(vi, en, [], rng, add=0.0)
        out.append(Talk(f"talk{number:02d}", vi_lines, en_lines, gold))
    return out


def write_talks(talks: list[Talk], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for talk in talks:
        (folder / f"{talk.stem}.vi").write_text("\n".join(talk.vi) + "\n", encoding="utf-8")
        (folder / f"{talk.stem}.en").write_text("\n".join(talk.en) + "\n", encoding="utf-8")


def _talk_link(stem_vi: str, vi: tuple[int, ...], stem_en: str, en: tuple[int, ...]) -> TalkLink:
    return tuple((stem_vi, i) for i in vi), tuple((stem_en, j) for j in en)


def score_iwslt(talks: list[Talk], links: list[UnitLink]) -> dict:
    """Strict link and atom scores over all talks; cross-talk share; talks matched."""
    gold = {_talk_link(t.stem, vi, t.stem, en) for t in talks for vi, en in t.gold}
    predicted: set[TalkLink] = set()
    cross = unaligned = 0
    votes: dict[str, Counter] = defaultdict(Counter)
    kinds: Counter = Counter()
    for doc_a, ids_a, doc_b, ids_b in links:
        (stem_a, lang_a), (stem_b, lang_b) = doc_a.rsplit(".", 1), doc_b.rsplit(".", 1)
        if (lang_a, lang_b) == ("en", "vi"):
            stem_a, ids_a, stem_b, ids_b = stem_b, ids_b, stem_a, ids_a
        if not ids_a or not ids_b:
            unaligned += 1
            continue
        cross += stem_a != stem_b
        kinds[link_kind((ids_a, ids_b))] += 1
        votes[stem_a][stem_b] += 1
        predicted.add(_talk_link(stem_a, ids_a, stem_b, ids_b))
    # A talk is matched when its own English side has strictly more links than any other.
    matched = sum(1 for t in talks if votes[t.stem][t.stem] > max(
        (n for stem, n in votes[t.stem].items() if stem != t.stem), default=0))
    scored = len(links) - unaligned
    return {
        "talks": len(talks),
        "vi_lines": sum(len(t.vi) for t in talks),
        "en_lines": sum(len(t.en) for t in talks),
        "links": score(gold, predicted),  # type: ignore[arg-type]
        "cross_talk_links": cross,
        "cross_talk_share": round(cross / scored, 4) if scored else 0.0,
        "talks_matched": round(matched / len(talks), 4) if talks else 0.0,
        "unaligned_links": unaligned,
        "predicted_kinds": dict(sorted(kinds.items())),
    }


def evaluate_iwslt(talks: list[Talk], work: Path, config: Path = BITEXT_CONFIG,
                   settings: list[str] | None = None, embed_model: str | None = None) -> dict:
    inputs = work / "iwslt-mixed"
    write_talks(talks, inputs)
    data = job_config(config, inputs, work / "iwslt-mixed-out", "iwslt-mixed-eval", settings,
                        embed_model, ingest={"extensions": [".vi", ".en"]},
                        segment={"min_chars": 1}, detect={"languages": ["vi", "en"]},
                        align={"pairs": "cross_language"})
    result, wall = run_timed(data, f"evaluate_mixed ({config.name})")
    links, coverage = job_links(result)
    return {**score_iwslt(talks, links), "coverage": coverage,
            "seconds": stage_seconds(result, wall)}


# --- MRPC mixed ----------------------------------------------------------------------------

class Story(NamedTuple):
    stem: str
    a: list[int]  # pair index of each sentence 1 in storySS-a, in file order
    b: list[int]  # pair index of each sentence 2 in storySS-b


def build_mrpc(first: list[str], stories: int = STORIES, per_story: int = PER_STORY,
               seed: int = 13) -> list[Story]:
    """Stories of consecutive pairs (story s = pairs s·per_story …), each side shuffled."""
    if len(first) < stories * per_story:
        raise ValueError(f"MRPC file has {len(first)} pairs, {stories * per_story} needed")
    rng = random.Random(seed)
    out = []
    for s in range(stories):
        pairs = list(range(s * per_story, (s + 1) * per_story))
        a, b = pairs[:], pairs[:]
        rng.shuffle(a)
        rng.shuffle(b)
        out.append(Story(f"story{s:02d}", a, b))
    return out


def write_mrpc(stories: list[Story], first: list[str], second: list[str], folder: Path
               ) -> Path:
    """Write the story files (one sentence per paragraph) and the outlet metadata CSV."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for story in stories:
        for side, pairs, texts in (("a", story.a, first), ("b", story.b, second)):
            doc = f"{story.stem}-{side}"
            (folder / f"{doc}.txt").write_text("\n\n".join(texts[p] for p in pairs) + "\n",
                                               encoding="utf-8")
            rows.append({"doc_id": doc, "outlet": side.upper()})
    metadata = folder.parent / f"{folder.name}-metadata.csv"
    with metadata.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["doc_id", "outlet"])
        writer.writeheader()
        writer.writerows(rows)
    return metadata


def paragraph_of(raw: dict[str, str]):
    """Unit of an offset in a story file: its paragraph (line // 2, blank lines between)."""
    return lambda doc, start: line_of(raw[doc], start) // 2


def score_mrpc(stories: list[Story], labels: list[bool], links: list[UnitLink]) -> dict:
    """Label-1 pair F1, label-0 pairs linked, links across stories (see the module doc)."""
    sides = {f"{s.stem}-{side}": (s.stem, side, pairs)
             for s in stories for side, pairs in (("a", s.a), ("b", s.b))}
    in_stories = [p for s in stories for p in s.a]
    positives = {p for p in in_stories if labels[p]}
    negatives = set(in_stories) - positives
    correct = cross = unaligned = 0
    joined: set[int] = set()
    kinds: Counter = Counter()
    for doc_a, ids_a, doc_b, ids_b in links:
        if not ids_a or not ids_b:
            unaligned += 1
            continue
        # Outlet A's side first: (story, side, pair of each paragraph), paragraph ids.
        (end_a, units_a), (end_b, units_b) = sorted(
            [(sides[doc_a], ids_a), (sides[doc_b], ids_b)], key=lambda end: end[0][1])
        kinds[link_kind((units_a, units_b))] += 1
        cross += end_a[0] != end_b[0]
        if end_a[1] == end_b[1]:
            continue  # two first (or two second) sentences: never a pair
        both = {end_a[2][i] for i in units_a} & {end_b[2][i] for i in units_b}
        joined |= both
        correct += bool(both & positives)
    predicted = len(links) - unaligned
    precision = correct / predicted if predicted else 0.0
    recall = len(joined & positives) / len(positives) if positives else 0.0
    return {
        "stories": len(stories),
        "pairs": len(in_stories),
        "label_1_pairs": len(positives),
        "label_0_pairs": len(negatives),
        "predicted_links": predicted,
        "correct_links": correct,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(2 * precision * recall / (precision + recall), 4) if correct else 0.0,
        "label_0_linked": round(len(joined & negatives) / len(negatives), 4) if negatives else 0.0,
        "cross_story_links": cross,
        "cross_story_share": round(cross / predicted, 4) if predicted else 0.0,
        "unaligned_links": unaligned,
        "predicted_kinds": dict(sorted(kinds.items())),
    }


def evaluate_mrpc(corpus: Path, work: Path, config: Path = SEEDS_CONFIG,
                  settings: list[str] | None = None, embed_model: str | None = None,
                  seed: int = 13) -> dict:
    first, second, labels = load_pairs(corpus)
    stories = build_mrpc(first, seed=seed)
    inputs = work / "mrpc-mixed"
    metadata = write_mrpc(stories, first, second, inputs)
    data = job_config(config, inputs, work / "mrpc-mixed-out", "mrpc-mixed-eval", settings,
                        embed_model, ingest={"metadata": str(metadata)})
    result, wall = run_timed(data, f"evaluate_mixed ({config.name})")
    links, coverage = job_links(result, paragraph_of)
    return {**score_mrpc(stories, [bool(x) for x in labels], links), "coverage": coverage,
            "seconds": stage_seconds(result, wall)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("iwslt", "mrpc"), default=None,
                        help="Run one part only (default: both).")
    parser.add_argument("--corpus-iwslt", type=Path, default=DEFAULT_IWSLT)
    parser.add_argument("--split", choices=SPLITS, default="tst2012",
                        help="IWSLT split: tst2012 (dev, default) or tst2013 (test).")
    parser.add_argument("--talks", type=int, default=None, help="IWSLT: the first N talks only.")
    parser.add_argument("--corpus-mrpc", type=Path, default=DEFAULT_MRPC)
    parser.add_argument("--config-iwslt", type=Path, default=BITEXT_CONFIG)
    parser.add_argument("--config-mrpc", type=Path, default=SEEDS_CONFIG)
    parser.add_argument("--set", dest="settings", action="append", default=[],
                        metavar="KEY=VALUE", help="Config override for both jobs.")
    parser.add_argument("--embed-model", default=None)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--keep", type=Path, default=None, help="Work folder to keep.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    parts = [args.only] if args.only else ["iwslt", "mrpc"]
    if "iwslt" in parts and not (args.corpus_iwslt / f"{args.split}.raw.vi").is_file():
        print(f"error: {args.corpus_iwslt}/{args.split}.raw.vi not found; pass --corpus-iwslt "
              "path/to/iwslt15_envi_tst2013 (see ../shared/corpora/README.md)", file=sys.stderr)
        return 2
    if "mrpc" in parts and not args.corpus_mrpc.is_file():
        print(f"error: {args.corpus_mrpc} not found; pass --corpus-mrpc "
              "path/to/msr_paraphrase_test.tsv (see ../shared/corpora/README.md)",
              file=sys.stderr)
        return 2
    for config in (args.config_iwslt, args.config_mrpc):
        if not config.is_file():
            print(f"error: {config}: config file not found", file=sys.stderr)
            return 2

    report: dict = {}
    with tempfile.TemporaryDirectory(prefix="qt-mixed-") as temp:
        work = args.keep or Path(temp)
        if "iwslt" in parts:
            talks = build_iwslt(args.corpus_iwslt.resolve(), args.split, args.seed, args.talks)
            report["iwslt"] = evaluate_iwslt(talks, work, args.config_iwslt.resolve(),
                                             args.settings, args.embed_model)
            report["iwslt"].update({"corpus": str(args.corpus_iwslt), "split": args.split,
                                    "seed": args.seed})
        if "mrpc" in parts:
            report["mrpc"] = evaluate_mrpc(args.corpus_mrpc.resolve(), work,
                                           args.config_mrpc.resolve(), args.settings,
                                           args.embed_model, args.seed)
            report["mrpc"]["corpus"] = str(args.corpus_mrpc)
    if args.json:
        print(json.dumps(report))
        return 0
    if "iwslt" in report:
        r, links = report["iwslt"], report["iwslt"]["links"]
        print(f"IWSLT'15 {args.split} mixed vi-en: {r['talks']} talks in one job "
              f"(en shuffled, 10% dropped, 10% merged), {r['seconds']['job']} s")
        print(f"  strict links P {links['precision']:.3f}  R {links['recall']:.3f}  "
              f"F1 {links['f1']:.3f}  (atoms P {links['atom_precision']:.3f} "
              f"R {links['atom_recall']:.3f}; gold {links['gold']}, predicted "
              f"{links['predicted']})")
        print(f"  cross-talk links {r['cross_talk_links']} ({r['cross_talk_share']:.1%}), "
              f"talks matched {r['talks_matched']:.1%}")
    if "mrpc" in report:
        r = report["mrpc"]
        print(f"MRPC mixed: {r['stories']} stories x 2 outlets, {r['pairs']} pairs "
              f"({r['label_1_pairs']} label 1), {r['seconds']['job']} s")
        print(f"  label-1 pairs P {r['precision']:.3f}  R {r['recall']:.3f}  F1 {r['f1']:.3f}  "
              f"(predicted {r['predicted_links']}, correct {r['correct_links']})")
        print(f"  label-0 pairs linked {r['label_0_linked']:.1%}, cross-story links "
              f"{r['cross_story_links']} ({r['cross_story_share']:.1%})")
    for r in report.values():
        if not r["coverage"]["exact"]:
            print(f"  WARNING: coverage {r['coverage']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
