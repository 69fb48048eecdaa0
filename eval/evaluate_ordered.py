"""Alignment of ordered translations: MAC-Dev zh–en chapters and IWSLT'15 vi–en talks.

Both parts put every document pair of the corpus into ONE job, as a real job is a corpus, and
score with the strict/lax link metric of Sennrich & Volk as vecalign computes it
(``eval/alignment_metrics.py``), per document pair:

- MAC-Dev (``--corpus``, ../shared/corpora/mac_dev_zhen): the six literary chapters and their
  published translations, one sentence per line, with manual alignments (many 1-2 / 2-1 and
  larger groups, a few unaligned lines). Chapter N is written as ``chNN.zh`` / ``chNN.en``.
- IWSLT'15 ordered (``--corpus-iwslt``, ``--split tst2012`` = dev, default; ``tst2013`` = test):
  each talk's Vietnamese and English lines in their own order, with each Vietnamese line dropped
  with probability 0.1, each English line dropped with probability 0.1 independently, and one in
  ten adjacent English lines merged into one (gold 2-1, Vietnamese ids → one English id). A line
  whose counterpart was dropped gets an unaligned gold link. Talk N is ``talkNN.vi`` /
  ``talkNN.en``; fixed seed (``--seed``).

Config: ``configs/bitext.yaml`` (or ``--config``) with ``detect.languages`` the two languages,
``ingest.extensions`` their two extensions, ``segment.min_chars: 1`` and ``align.pairs:
cross_language``, then the ``--set section.key=value`` overrides (as ``quotetrace run --set``).

Each predicted link is mapped back to line numbers through the sentences' ``char_start``
(a side with no sentence ids, an unaligned link, gives ``()``). Links between two different
chapters / talks are false positives: each is scored as a document pair of its own with no gold.
Unaligned gold links are left out of recall (vecalign). Reported: strict and lax precision /
recall / F1, the number of cross-document links, strict and lax recall per gold link kind
(source-target: zh-en, vi-en), whether every non-blank line became exactly one sentence, and
seconds (per stage, and the whole job).

    python eval/evaluate_ordered.py [--only mac|iwslt] [--corpus ../shared/corpora/mac_dev_zhen]
        [--chapters 001,002,003] [--corpus-iwslt ../shared/corpora/iwslt15_envi_tst2013]
        [--split tst2012|tst2013]
        [--config configs/bitext.yaml] [--set align.key=value ...] [--embed-model PATH]
        [--seed 13] [--json] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import NamedTuple

EVAL = Path(__file__).resolve().parent
ROOT = EVAL.parent
for _folder in (ROOT, EVAL):  # run as a script from anywhere, or loaded by file path
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from alignment_jobs import job_config, job_links, run_timed, stage_seconds  # noqa: E402
from alignment_metrics import (  # noqa: E402
    count_multiple,
    kind_recall,
    link_kind,
    read_align,
    rounded,
    score_multiple,
)
from evaluate_bitext import BITEXT_CONFIG, SPLITS, Link, load_talks  # noqa: E402

CORPORA = ROOT / ".." / "shared" / "corpora"
DEFAULT_MAC = CORPORA / "mac_dev_zhen"
DEFAULT_IWSLT = CORPORA / "iwslt15_envi_tst2013"


class Bitext(NamedTuple):
    """One document pair: its file stem, source and target lines, gold links (line ids)."""

    stem: str
    source: list[str]
    target: list[str]
    gold: list[Link]


def load_mac(corpus: Path, chapters: list[str] | None = None) -> list[Bitext]:
    """MAC-Dev chapters (``zh/00N``, ``en/00N``, ``gold/00N.align``) as ``chNN`` bitexts; only
    the text ids ``chapters`` (e.g. ``["001", "002"]``) when given."""
    bitexts = []
    for gold_path in sorted((corpus / "gold").glob("*.align")):
        text_id = gold_path.stem
        if chapters is not None and text_id not in chapters:
            continue
        source = (corpus / "zh" / text_id).read_text(encoding="utf-8").splitlines()
        target = (corpus / "en" / text_id).read_text(encoding="utf-8").splitlines()
        gold = read_align(gold_path)
        for src, tgt in gold:
            if any(i >= len(source) for i in src) or any(j >= len(target) for j in tgt):
                raise ValueError(f"{gold_path}: link {src}:{tgt} is past the end of a text")
        bitexts.append(Bitext(f"ch{int(text_id):02d}", source, target, gold))
    return bitexts


def perturb_ordered(source: list[str], target: list[str], rng: random.Random,
                    drop: float = 0.1, merge: float = 0.1
                    ) -> tuple[list[str], list[str], list[Link]]:
    """Drop source and target lines, merge adjacent target lines; order kept.

    ``source[i]`` translates ``target[i]``. Each source line is dropped with probability
    ``drop``; walking the target, a line is merged with the next with probability ``merge``,
    else dropped with probability ``drop``. Gold: (kept source ids of a target unit, (its id,)),
    and ``((i,), ())`` for a kept source line whose target was dropped; ids are positions in the
    returned lists.
    """
    kept_source = [rng.random() >= drop for _ in source]
    source_pos: dict[int, int] = {}
    for i, kept in enumerate(kept_source):
        if kept:
            source_pos[i] = len(source_pos)
    units: list[tuple[int, ...]] = []
    i = 0
    while i < len(target):
        roll = rng.random()
        if roll < merge and i + 1 < len(target):
            units.append((i, i + 1))
            i += 2
        elif roll < merge + drop:
            i += 1
        else:
            units.append((i,))
            i += 1
    in_unit = {line for unit in units for line in unit}
    gold: list[Link] = [(tuple(source_pos[i] for i in unit if i in source_pos), (position,))
                        for position, unit in enumerate(units)]
    gold += [((position,), ()) for i, position in source_pos.items() if i not in in_unit]
    return ([source[i] for i in source_pos], [" ".join(target[i] for i in unit)
                                              for unit in units], sorted(gold))


def load_iwslt_ordered(corpus: Path, split: str = "tst2012", seed: int = 13,
                       talks: int | None = None) -> list[Bitext]:
    rng = random.Random(seed)
    bitexts = []
    for number, (_, vi, en) in enumerate(load_talks(corpus, split)[:talks]):
        source, target, gold = perturb_ordered(vi, en, rng)
        bitexts.append(Bitext(f"talk{number:02d}", source, target, gold))
    return bitexts


def write_bitexts(bitexts: list[Bitext], folder: Path, src: str, tgt: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for bitext in bitexts:
        for lang, lines in ((src, bitext.source), (tgt, bitext.target)):
            (folder / f"{bitext.stem}.{lang}").write_text("\n".join(lines) + "\n",
                                                          encoding="utf-8")


def job_data(inputs: Path, output: Path, src: str, tgt: str, config: Path = BITEXT_CONFIG,
             settings: list[str] | None = None, embed_model: str | None = None,
             job: str = "ordered-eval") -> dict:
    """The config mapping: ``config`` set up for ``src``/``tgt`` files, then ``settings``."""
    return job_config(config, inputs, output, job, settings, embed_model,
                      detect={"languages": [src, tgt]},
                      ingest={"extensions": [f".{src}", f".{tgt}"]},
                      segment={"min_chars": 1}, align={"pairs": "cross_language"})


def split_links(bitexts: list[Bitext],
                links: list[tuple[str, tuple[int, ...], str, tuple[int, ...]]],
                src: str, tgt: str) -> tuple[dict[str, list[Link]], list[Link]]:
    """Predicted links per bitext stem (source side first), and links joining two documents
    that are not one bitext's two sides (another chapter, or the same language)."""
    by_stem: dict[str, list[Link]] = {b.stem: [] for b in bitexts}
    cross: list[Link] = []
    for doc_a, ids_a, doc_b, ids_b in links:
        (stem_a, lang_a), (stem_b, lang_b) = doc_a.rsplit(".", 1), doc_b.rsplit(".", 1)
        if (lang_a, lang_b) == (tgt, src):
            stem_a, lang_a, ids_a, stem_b, lang_b, ids_b = (stem_b, lang_b, ids_b,
                                                            stem_a, lang_a, ids_a)
        if (lang_a, lang_b) == (src, tgt) and stem_a == stem_b and stem_a in by_stem:
            by_stem[stem_a].append((ids_a, ids_b))
        else:
            cross.append((ids_a, ids_b))
    return by_stem, cross


def score_bitexts(bitexts: list[Bitext],
                  links: list[tuple[str, tuple[int, ...], str, tuple[int, ...]]],
                  src: str, tgt: str) -> dict:
    """Strict/lax scores of predicted ``(doc_a, lines_a, doc_b, lines_b)`` links."""
    by_stem, cross = split_links(bitexts, links, src, tgt)
    gold_list = [b.gold for b in bitexts]
    test_list = [by_stem[b.stem] for b in bitexts]
    # Each cross-document link is a document pair of its own, with no gold: a false positive.
    all_gold = gold_list + [[] for _ in cross]
    all_test = test_list + [[link] for link in cross]
    scores = score_multiple(all_gold, all_test)
    per_document = {b.stem: rounded({k: v for k, v in score_multiple([g], [t]).items()
                                     if k.startswith("f1")})
                    for b, g, t in zip(bitexts, gold_list, test_list, strict=True)}
    gold_links = [link for b in bitexts for link in b.gold]
    predicted = [link for t in test_list for link in t] + cross
    return {
        "documents": len(bitexts),
        "source_lines": sum(len(b.source) for b in bitexts),
        "target_lines": sum(len(b.target) for b in bitexts),
        "gold_links": len(gold_links),
        "gold_unaligned": sum(1 for a, b in gold_links if not a or not b),
        "predicted_links": len(predicted),
        "cross_document_links": len(cross),
        "strict": {"precision": round(scores["precision_strict"], 4),
                   "recall": round(scores["recall_strict"], 4),
                   "f1": round(scores["f1_strict"], 4)},
        "lax": {"precision": round(scores["precision_lax"], 4),
                "recall": round(scores["recall_lax"], 4),
                "f1": round(scores["f1_lax"], 4)},
        "counts": count_multiple(all_gold, all_test),
        "kind_recall": kind_recall(gold_list, test_list),
        "gold_kinds": dict(sorted(Counter(link_kind(link) for link in gold_links
                                          if link[0] and link[1]).items())),
        "predicted_kinds": dict(sorted(Counter(
            link_kind(link) if link[0] and link[1] else "unaligned"
            for link in predicted).items())),
        "per_document": per_document,
    }


def evaluate(bitexts: list[Bitext], src: str, tgt: str, work: Path,
             config: Path = BITEXT_CONFIG, settings: list[str] | None = None,
             embed_model: str | None = None, name: str = "ordered") -> dict:
    """Write ``bitexts`` into ``work``, run them as one job and score the alignments."""
    inputs = work / name
    write_bitexts(bitexts, inputs, src, tgt)
    data = job_data(inputs, work / f"{name}-out", src, tgt, config, settings, embed_model,
                    job=f"{name}-eval")
    result, seconds = run_timed(data, f"evaluate_ordered ({config.name})")
    links, coverage = job_links(result)
    report = score_bitexts(bitexts, links, src, tgt)
    report["coverage"] = coverage
    report["config"] = str(config)
    report["settings"] = list(settings or [])
    report["seconds"] = stage_seconds(result, seconds)
    return report


def print_report(title: str, report: dict) -> None:
    print(f"{title}: {report['documents']} document pairs, {report['source_lines']} / "
          f"{report['target_lines']} lines, gold {report['gold_links']} links "
          f"({report['gold_unaligned']} unaligned), predicted {report['predicted_links']} "
          f"({report['cross_document_links']} across documents), {report['seconds']['job']} s")
    for name in ("strict", "lax"):
        s = report[name]
        print(f"  {name:<6} P {s['precision']:.3f}  R {s['recall']:.3f}  F1 {s['f1']:.3f}")
    kinds = "  ".join(f"{kind} {r['recall_strict']:.2f}/{r['recall_lax']:.2f} (n={r['gold']})"
                      for kind, r in report["kind_recall"].items() if r["gold"])
    print(f"  recall by kind, strict/lax: {kinds}")
    coverage = report["coverage"]
    if not coverage["exact"]:
        print(f"  WARNING: {coverage['lines_without_sentence']} lines without a sentence, "
              f"{coverage['lines_with_several_sentences']} split in several "
              f"(e.g. {', '.join(coverage['examples'])})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("mac", "iwslt"), default=None,
                        help="Run one part only (default: both).")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_MAC, help="MAC-Dev folder.")
    parser.add_argument("--corpus-iwslt", type=Path, default=DEFAULT_IWSLT)
    parser.add_argument("--split", choices=SPLITS, default="tst2012",
                        help="IWSLT split: tst2012 (dev, default) or tst2013 (test).")
    parser.add_argument("--talks", type=int, default=None, help="IWSLT: the first N talks only.")
    parser.add_argument("--chapters", default=None, metavar="IDS",
                        help="MAC-Dev: these text ids only, comma-separated (e.g. 001,002,003).")
    parser.add_argument("--config", type=Path, default=BITEXT_CONFIG,
                        help="Base job config (default configs/bitext.yaml).")
    parser.add_argument("--set", dest="settings", action="append", default=[],
                        metavar="KEY=VALUE", help="Config override, e.g. align.min_margin=1.05.")
    parser.add_argument("--embed-model", default=None)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--keep", type=Path, default=None, help="Work folder to keep.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    parts = [args.only] if args.only else ["mac", "iwslt"]
    if "mac" in parts and not (args.corpus / "gold").is_dir():
        print(f"error: {args.corpus}/gold not found; pass --corpus path/to/mac_dev_zhen "
              "(see ../shared/corpora/README.md)", file=sys.stderr)
        return 2
    if "iwslt" in parts and not (args.corpus_iwslt / f"{args.split}.raw.vi").is_file():
        print(f"error: {args.corpus_iwslt}/{args.split}.raw.vi not found; pass --corpus-iwslt "
              "path/to/iwslt15_envi_tst2013 (see ../shared/corpora/README.md)", file=sys.stderr)
        return 2
    if not args.config.is_file():
        print(f"error: {args.config}: config file not found", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="qt-ordered-") as temp:
        work = args.keep or Path(temp)
        report: dict = {}
        options = {"config": args.config.resolve(), "settings": args.settings,
                   "embed_model": args.embed_model}
        if "mac" in parts:
            chapters = args.chapters.split(",") if args.chapters else None
            bitexts = load_mac(args.corpus.resolve(), chapters)
            if not bitexts:
                print(f"error: no chapter {args.chapters} in {args.corpus}/gold", file=sys.stderr)
                return 2
            report["mac"] = evaluate(bitexts, "zh", "en", work, name="mac", **options)
            report["mac"]["corpus"] = str(args.corpus)
        if "iwslt" in parts:
            bitexts = load_iwslt_ordered(args.corpus_iwslt.resolve(), args.split, args.seed,
                                         args.talks)
            report["iwslt"] = evaluate(bitexts, "vi", "en", work, name="iwslt", **options)
            report["iwslt"].update({"corpus": str(args.corpus_iwslt), "split": args.split,
                                    "seed": args.seed})
    if args.json:
        print(json.dumps(report))
        return 0
    if "mac" in report:
        print_report("MAC-Dev zh-en", report["mac"])
    if "iwslt" in report:
        print_report(f"IWSLT'15 {args.split} vi-en ordered (10% dropped each side, "
                     "10% en merged)", report["iwslt"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
