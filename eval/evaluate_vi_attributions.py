"""Vietnamese attributions (content and canonical speaker) on Dân trí articles against a gold
annotated by hand from the raw text, independently of the pipeline's output.

    python eval/evaluate_vi_attributions.py [--gold eval/vi_attributions_gold.jsonl]
                                            [--corpus ../shared/corpora/vi_news_dantri/world]
                                            [--split tune|report|all] [--json] [--show-errors]
    python eval/evaluate_vi_attributions.py --build WORKSHEET.json  # snippets → gold lines

The articles are never part of this repository (their texts are Dân trí's; see the corpus
README), so the script reads them from ``--corpus`` and exits with status 2 and a message when
the corpus is absent. The gold holds only ids, raw character offsets, cue and speaker strings,
one attribution a line: ``{"doc_id", "char_start", "char_end", "cue", "speaker", "split"}``.

**Articles and splits.** news_world_125 … news_world_148, the 24 files after the first 24 in
sorted order (those are ``eval/vi_speakers_gold.jsonl``'s). Odd article numbers are ``tune``
(125, 127, …, 147), even numbers are ``report`` (126, …, 148): rules are developed looking only
at ``tune`` errors (``--show-errors`` prints only those); ``report`` is held out. Every article
was annotated by reading its raw text, before the pipeline was run on it.

**Annotation guideline.**

- *What counts*: every report of what a person, organisation, country, outlet or unnamed
  source said, wrote or claimed, direct (in quotation marks) or indirect: a speech verb with a
  clause or quotation as its content (nói, cho biết, cho hay, tuyên bố, thông báo, khẳng định,
  nhấn mạnh, nhận định, cho rằng, cảnh báo, xác nhận, tiết lộ, viết, kể lại, nhớ lại, chia sẻ,
  hỏi, trả lời, phát biểu, đưa tin, cáo buộc, tố cáo, chỉ trích, ước tính, dự đoán, đính chính,
  cam kết), verbal directives with a clause (kêu gọi, đề nghị, khuyến cáo, nhắc nhở, yêu cầu
  when said, not an administrative measure), framing (gọi/mô tả X là "…"), relative clauses
  ("… mà họ nói là …"), passive reports ("được cho là", "được dự đoán", speaker null), "Theo X,
  …" and "…, theo X" where X is a source of information, and a paragraph that is only a
  quotation continuing the previous speaker (cue null). Nested reports are annotated each
  ("Sputnik cho biết, IDF tuyên bố …": two). Not counted: bylines and credits at the end
  ("Theo RT", "Tổng hợp"), photo credits, "Theo đó" (= accordingly), negated or content-less
  speech ("không nói rõ", "lên tiếng bác bỏ"), a topic instead of a clause ("giải thích cách
  thức …", "tiết lộ về …"), mental states (tin rằng, hy vọng, lo ngại, muốn), "được coi là",
  and reports inside a quotation.
- *Content span*: for a direct quote, the text inside the quotation marks (several sentences
  of one quotation are one attribution); for an indirect one, from the first word after the
  cue (after "rằng", "là", "," or the addressee: "nói với các phóng viên rằng …") to the end
  of the clause or sentence holding the cue (final full stop excluded); for "…, theo X" the
  sentence before it; a subject that precedes a passive cue is left out.
- *Speaker*: the full canonical name the article uses for the source: a person's longest name
  in the article ("ông Ho" → "Ben Ho", "người phát ngôn Lầu Năm Góc" → "John Kirby" when the
  article names him), an organisation's full name as first written, its acronym dropped
  ("Cơ quan kiểm soát dịch bệnh (DCD)" → "Cơ quan kiểm soát dịch bệnh", "IDF" → its full
  name), an outlet's own name ("hãng thông tấn Syria SANA" → "SANA"), a country or capital as
  written ("Mỹ", "Tehran"); for "X dẫn (lời) Y cho biết" the outlet X. ``null`` when the
  source is unnamed or only described ("một quan chức Israel", "giới chức Mỹ", "các nhà khí
  tượng", "truyền thông nhà nước Trung Quốc", "Ngoại trưởng Ukraine" with no name).

**Scores**, per split, with the real stages (ingest → clean → segment → detect → quotes →
attribute, ``configs/seeds.yaml``, translation off, English quotes by the rules):

- *content P/R/F1* (PolNeAR's scheme, as ``eval/evaluate_quotes_polnear.py``): each gold
  content and each predicted quote's raw span is the set of its word tokens; a prediction
  matches a gold item when they share at least 50% of the gold's tokens and 50% of the
  prediction's; matching is one-to-one, best overlap (Jaccard) first;
- *speaker accuracy*: over matched pairs, the predicted canonical ``speaker`` equals the gold
  after NFC, whitespace collapsed and casefold (a null gold needs a null prediction).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
for _folder in (ROOT, ROOT / "eval"):  # run as a script from anywhere, or loaded by file path
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from evaluate_quotes_polnear import match, prf  # noqa: E402  (PolNeAR's matching scheme)

DEFAULT_GOLD = ROOT / "eval" / "vi_attributions_gold.jsonl"
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "vi_news_dantri" / "world"
WORD = re.compile(r"\w+")
SPLITS = ("tune", "report", "all")


def norm(name: str | None) -> str:
    """A speaker normalised for comparison: NFC, whitespace collapsed, casefold; '' for none."""
    if not isinstance(name, str) or not name.strip():
        return ""
    return " ".join(unicodedata.normalize("NFC", name).split()).casefold()


def split_of(doc_id: str) -> str:
    """``tune`` for an odd article number, ``report`` for an even one."""
    return "tune" if int(doc_id.rsplit("_", 1)[1]) % 2 else "report"


def locate(text: str, start: str, end: str) -> tuple[int, int]:
    """Raw offsets of the span from the only occurrence of ``start`` to the first occurrence of
    ``end`` at or after it (``end`` included); ValueError when either is missing or ``start``
    is ambiguous."""
    at = text.find(start)
    if at < 0 or text.find(start, at + 1) >= 0:
        raise ValueError(f"start snippet {'ambiguous' if at >= 0 else 'missing'}: {start!r}")
    stop = text.find(end, at)
    if stop < 0:
        raise ValueError(f"end snippet missing after start: {end!r}")
    return at, stop + len(end)


def build_gold(worksheet: list[dict], corpus: Path) -> list[dict]:
    """Gold lines from worksheet items ``{"doc_id", "start", "end", "cue", "speaker"}`` (text
    snippets, kept out of the repository), sorted by document and offset."""
    lines = []
    for item in worksheet:
        text = (corpus / f"{item['doc_id']}.txt").read_text(encoding="utf-8")
        begin, stop = locate(text, item["start"], item["end"])
        while stop > begin and text[stop - 1] in " .\"“”":  # no closing mark or full stop
            stop -= 1
        while begin < stop and text[begin] in " \"“”":
            begin += 1
        lines.append({"doc_id": item["doc_id"], "char_start": begin, "char_end": stop,
                      "cue": item["cue"], "speaker": item["speaker"],
                      "split": split_of(item["doc_id"])})
    return sorted(lines, key=lambda g: (g["doc_id"], g["char_start"], g["char_end"]))


def token_ids(text: str, start: int, end: int) -> set[int]:
    """Start offsets of the word tokens of ``text`` that begin inside ``[start, end)``."""
    return {m.start() for m in WORD.finditer(text, start, end)}


def score(gold: list[dict], predicted: list[dict], texts: dict[str, str]) -> tuple[
        dict, list[dict]]:
    """Scores per split and the errors: ``predicted`` items are ``{"doc_id", "char_start",
    "char_end", "speaker", ...}``; ``texts`` maps a doc id to its raw text."""
    counts = {s: {"gold": 0, "predicted": 0, "matched": 0, "speaker_correct": 0}
              for s in SPLITS}
    errors = []
    for doc in sorted({g["doc_id"] for g in gold}):
        text = texts[doc]
        golds = [g for g in gold if g["doc_id"] == doc]
        preds = [p for p in predicted if p["doc_id"] == doc]
        pairs = match([token_ids(text, g["char_start"], g["char_end"]) for g in golds],
                      [token_ids(text, p["char_start"], p["char_end"]) for p in preds])
        split = golds[0]["split"]
        right = 0
        for g, p in pairs:
            ok = norm(preds[p].get("speaker")) == norm(golds[g]["speaker"])
            right += ok
            if not ok:
                errors.append({"kind": "speaker", "gold": golds[g], "predicted": preds[p]})
        matched_g = {g for g, _ in pairs}
        matched_p = {p for _, p in pairs}
        errors += [{"kind": "missed", "gold": g} for i, g in enumerate(golds)
                   if i not in matched_g]
        errors += [{"kind": "spurious", "predicted": p} for i, p in enumerate(preds)
                   if i not in matched_p]
        for s in (split, "all"):
            c = counts[s]
            c["gold"] += len(golds)
            c["predicted"] += len(preds)
            c["matched"] += len(pairs)
            c["speaker_correct"] += right
    scores = {}
    for s, c in counts.items():
        if c["gold"]:
            scores[s] = {**prf(c["gold"], c["predicted"], c["matched"]),
                         "speaker_accuracy": round(c["speaker_correct"] / c["matched"], 3)
                         if c["matched"] else 0.0,
                         "speaker_correct": c["speaker_correct"]}
    return scores, errors


def run_pipeline(files: list[Path]):
    """The attributed quotes of ``files`` with the real stages (translation off, no
    embedding, English quotes by the rules)."""
    sys.path.insert(0, str(ROOT))
    from pipeline.config import parse_config
    from pipeline.configschema import QuotesConfig
    from pipeline.runner import run_stages

    raw = yaml.safe_load((ROOT / "configs" / "seeds.yaml").read_text(encoding="utf-8"))
    raw.pop("ingest", None)  # the seeds' metadata file names other documents
    raw.update(inputs=[str(f) for f in files], translate={**raw.get("translate", {}),
                                                          "enabled": False})
    if "model" in QuotesConfig.model_fields:
        raw["quotes"] = {**raw.get("quotes", {}), "model": "rules"}
    job = parse_config(raw)
    return run_stages(job, ["ingest", "clean", "segment", "detect", "quotes",
                            "attribute"])["quotes"]


def _snippet(text: str, start: int, end: int, width: int = 90) -> str:
    span = " ".join(text[start:end].split())
    return span if len(span) <= width else f"{span[:width // 2]} … {span[-width // 2:]}"


def _print_errors(errors: list[dict], texts: dict[str, str]) -> None:
    for e in errors:
        g, p = e.get("gold"), e.get("predicted")
        doc = (g or p)["doc_id"]
        text = texts[doc]
        if (g["split"] if g is not None else split_of(doc)) != "tune":
            continue
        if e["kind"] == "speaker":
            print(f"  SPEAKER {doc} {g['char_start']}: gold {g['speaker']!r} predicted "
                  f"{p['speaker']!r} (mention {p.get('speaker_mention')!r}) "
                  f"[{_snippet(text, g['char_start'], g['char_end'], 60)}]")
        elif e["kind"] == "missed":
            print(f"  MISSED  {doc} {g['char_start']}-{g['char_end']} cue {g['cue']!r} "
                  f"speaker {g['speaker']!r}: {_snippet(text, g['char_start'], g['char_end'])}")
        else:
            print(f"  SPURIOUS {doc} {p['char_start']}-{p['char_end']} mention "
                  f"{p.get('speaker_mention')!r}: "
                  f"{_snippet(text, p['char_start'], p['char_end'])}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gold", type=Path, default=DEFAULT_GOLD)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--split", choices=SPLITS, default="all",
                        help="articles to run (scores are always given per split)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--show-errors", action="store_true",
                        help="list the tune split's missed, spurious and wrong-speaker quotes")
    parser.add_argument("--build", type=Path, metavar="WORKSHEET",
                        help="write the gold from a JSON list of snippet items and stop")
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"error: no corpus at {args.corpus}: the Dân trí articles live in "
              "../shared/corpora/vi_news_dantri/world (pass --corpus)", file=sys.stderr)
        return 2
    if args.build:
        lines = build_gold(json.loads(args.build.read_text(encoding="utf-8")), args.corpus)
        args.gold.write_text("".join(json.dumps(g, ensure_ascii=False) + "\n" for g in lines),
                             encoding="utf-8")
        print(f"wrote {len(lines)} attributions to {args.gold}")
        return 0
    if not args.gold.is_file():
        print(f"error: no gold at {args.gold} (pass --gold)", file=sys.stderr)
        return 2
    gold = [json.loads(line) for line in args.gold.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    if args.split != "all":
        gold = [g for g in gold if g["split"] == args.split]
    docs = sorted({g["doc_id"] for g in gold})
    missing = [d for d in docs if not (args.corpus / f"{d}.txt").is_file()]
    if missing:
        print(f"error: articles missing from {args.corpus}: {', '.join(missing[:5])}",
              file=sys.stderr)
        return 2
    texts = {d: (args.corpus / f"{d}.txt").read_text(encoding="utf-8") for d in docs}
    quotes = run_pipeline([args.corpus / f"{d}.txt" for d in docs])
    predicted = [{"doc_id": q.doc_id, "char_start": int(q.char_start),
                  "char_end": int(q.char_end),
                  "speaker": q.speaker if isinstance(q.speaker, str) else None,
                  "speaker_mention": q.speaker_mention if isinstance(q.speaker_mention, str)
                  else None} for q in quotes.itertuples(index=False)]
    scores, errors = score(gold, predicted, texts)
    if args.json:
        print(json.dumps(scores, indent=2))
    else:
        print(f"Vietnamese attributions (Dân trí), {len(docs)} articles, {len(gold)} gold")
        for split in SPLITS:
            s = scores.get(split)
            if s:
                print(f"  {split:<7} content P {s['precision']:.3f} R {s['recall']:.3f} "
                      f"F1 {s['f1']:.3f}  speaker accuracy {s['speaker_accuracy']:.3f}  "
                      f"(gold {s['gold']}, predicted {s['predicted']}, matched {s['matched']})")
    if args.show_errors:
        _print_errors(errors, texts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
