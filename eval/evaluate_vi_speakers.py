"""Vietnamese speaker attribution on Dân trí world-news articles against a hand-made gold.

    python eval/evaluate_vi_speakers.py [--gold eval/vi_speakers_gold.jsonl]
                                        [--corpus ../shared/corpora/vi_news_dantri/world]
                                        [--json] [--dump] [--show-errors]

The articles are never part of this repository (their texts are Dân trí's; see the corpus
README), so the script reads them from ``--corpus`` and skips with a message when the corpus or
the gold is absent. The gold holds only ids, offsets and speaker strings, one quote a line:
``{"doc_id", "char_start", "char_end", "speaker" (the full name or organisation as the article
uses it, or null), "split" ("tune" or "report")}``. It was made by running the pipeline on the
first 24 articles in sorted order (all of them hold quotes; 101–112 tune, 113–124 report) and
reading each extracted quote's article to write down its speaker by hand.

Runs ingest → clean → segment → detect → quotes → attribute with ``configs/seeds.yaml``
(``translate.enabled=false``, no embedding) on the gold's articles. A gold quote is matched to
the predicted quote of its document whose raw span overlaps it most (on a tie, the shorter one:
a nested report, "Sputnik cho biết, IDF tuyên bố …", gives an outer and an inner quote).
Speakers are compared after normalisation (NFC, whitespace collapsed, casefold; diacritics
kept). Per split:

- coverage: gold quotes whose prediction has a speaker / gold quotes;
- accuracy: gold quotes whose predicted speaker equals the gold (a null gold needs a null
  prediction; an unmatched gold quote is wrong) / gold quotes;
- accuracy on named: the same over gold quotes with a non-null speaker.
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_GOLD = ROOT / "eval" / "vi_speakers_gold.jsonl"
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "vi_news_dantri" / "world"


def norm(name: str | None) -> str:
    if not isinstance(name, str) or not name.strip():
        return ""
    return " ".join(unicodedata.normalize("NFC", name).split()).casefold()


def run_pipeline(files: list[Path]):
    """documents, sentences and attributed quotes of ``files`` with the real stages."""
    sys.path.insert(0, str(ROOT))
    from pipeline.config import parse_config
    from pipeline.runner import run_stages

    raw = yaml.safe_load((ROOT / "configs" / "seeds.yaml").read_text(encoding="utf-8"))
    raw.pop("ingest", None)  # the seeds' metadata file names other documents
    raw.update(inputs=[str(f) for f in files], translate={**raw.get("translate", {}),
                                                          "enabled": False})
    job = parse_config(raw)
    return run_stages(job, ["ingest", "clean", "segment", "detect", "quotes", "attribute"])


def load_gold(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def evaluate(gold: list[dict], quotes) -> tuple[dict, list[dict]]:
    by_doc: dict[str, list] = {}
    for q in quotes.itertuples(index=False):
        by_doc.setdefault(q.doc_id, []).append(q)
    scores: dict[str, dict] = {}
    errors = []
    for item in gold:
        best, overlap = None, (0, 0)
        for q in by_doc.get(item["doc_id"], []):
            shared = min(q.char_end, item["char_end"]) - max(q.char_start, item["char_start"])
            key = (shared, q.char_start - q.char_end)  # a tie: the tighter (inner) quote
            if shared > 0 and key > overlap:
                best, overlap = q, key
        predicted = best.speaker if best is not None else None
        predicted = predicted if isinstance(predicted, str) else None
        right = best is not None and norm(predicted) == norm(item["speaker"])
        for split in (item["split"], "all"):
            s = scores.setdefault(split, {"quotes": 0, "matched": 0, "with_speaker": 0,
                                          "correct": 0, "named": 0, "named_correct": 0})
            s["quotes"] += 1
            s["matched"] += best is not None
            s["with_speaker"] += predicted is not None
            s["correct"] += right
            s["named"] += item["speaker"] is not None
            s["named_correct"] += right and item["speaker"] is not None
        if not right:
            errors.append({**item, "predicted": predicted,
                           "mention": best.speaker_mention if best is not None else None})
    for s in scores.values():
        s["coverage"] = round(s["with_speaker"] / s["quotes"], 3) if s["quotes"] else 0.0
        s["accuracy"] = round(s["correct"] / s["quotes"], 3) if s["quotes"] else 0.0
        s["accuracy_named"] = round(s["named_correct"] / s["named"], 3) if s["named"] else 0.0
    return scores, errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gold", type=Path, default=DEFAULT_GOLD)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--show-errors", action="store_true",
                        help="list the tune split's wrong quotes")
    parser.add_argument("--dump", type=int, default=0, metavar="N",
                        help="print the quotes of the first N articles (to annotate) and stop")
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"skipped: no corpus at {args.corpus} (pass --corpus)")
        return 0
    if args.dump:
        files = sorted(args.corpus.glob("*.txt"))[:args.dump]
        quotes = run_pipeline(files)["quotes"]
        for q in quotes.itertuples(index=False):
            print(json.dumps({"doc_id": q.doc_id, "char_start": int(q.char_start),
                              "char_end": int(q.char_end), "mention": q.speaker_mention,
                              "speaker": q.speaker, "text": q.text}, ensure_ascii=False))
        return 0
    if not args.gold.is_file():
        print(f"skipped: no gold at {args.gold} (pass --gold)")
        return 0
    gold = load_gold(args.gold)
    docs = sorted({g["doc_id"] for g in gold})
    missing = [d for d in docs if not (args.corpus / f"{d}.txt").is_file()]
    if missing:
        print(f"skipped: articles missing from {args.corpus}: {', '.join(missing[:5])}")
        return 0
    quotes = run_pipeline([args.corpus / f"{d}.txt" for d in docs])["quotes"]
    scores, errors = evaluate(gold, quotes)
    if args.json:
        print(json.dumps(scores, indent=2))
    else:
        print(f"Vietnamese speakers (Dân trí), {len(docs)} articles, {len(gold)} gold quotes")
        for split in ("tune", "report", "all"):
            s = scores.get(split)
            if s:
                print(f"  {split:<7} coverage {s['coverage']:.3f}  accuracy {s['accuracy']:.3f}"
                      f"  accuracy on named {s['accuracy_named']:.3f}  (quotes {s['quotes']},"
                      f" matched {s['matched']}, named {s['named']})")
    if args.show_errors:
        for e in errors:
            if e["split"] == "tune":
                print(f"  {e['doc_id']} {e['char_start']}: gold {e['speaker']!r} predicted "
                      f"{e['predicted']!r} (mention {e['mention']!r})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
