"""Quote extraction and attribution against PolNeAR's English test articles.

    python eval/evaluate_quotes_polnear.py [--corpus ../shared/corpora/polnear_test] [--json]
                                           [--limit N] [--split dev|heldout|all]
                                           [--show-missed]

``--split`` picks the articles (sorted by file name, the ones with a gold file): ``dev`` = even
indexes, ``heldout`` = odd indexes, ``all`` (the default) = every article. Rules are developed
looking only at ``dev`` errors (``--show-missed`` prints the gold direct quotes that no
prediction matched, and the predicted direct quotes that matched nothing); ``heldout`` is
scored for the report only.

Builds the documents and sentences tables with the real ingest → clean → segment → detect stages
(translation off, no embedding model), then runs the quotes and attribute stages, and scores
them against the brat standoff gold (``attributions/*.ann``; for the two articles annotated by
all six annotators, the first annotator file in sorted order):

- **direct quotes**: a gold attribution is direct when its Content holds a quotation mark (“ ” "
  or the New York Times' ''); a predicted quote is direct when ``direct`` is true or its raw span
  holds a quotation mark (the same definition on both sides; ``direct_flag_only`` also reports
  the ``direct`` flag alone). A prediction matches a gold item when their word tokens overlap by
  at least 50% of the gold's tokens and 50% of the prediction's; matching is one-to-one, best
  overlap first.
- **all attributions**: every gold Content (direct and indirect) against every predicted quote.
- **speaker accuracy**, over matched direct quotes whose gold has a Source span: correct when
  the predicted ``speaker_mention`` or ``speaker`` shares a word with the gold Source text
  (case-insensitive, articles and other function words ignored; so a surname matches a full
  name and "he" matches "he").
- **strict speaker accuracy**, over the same quotes: correct when the predicted
  ``speaker_mention`` names the gold Source exactly, or the predicted canonical ``speaker`` is
  the gold Source's canonical name, both after :func:`strict_name`: cut at its first comma (an
  appositive: "Randall Stephenson, AT&T's chief executive"), NFKC, case-folded, ’ → ', a
  possessive 's dropped, punctuation dropped, then leading articles and titles/honorifics
  (``pipeline.speakers.TITLE_WORDS``: President, Mr., Sen., Secretary, Tổng thống, …) dropped
  unless nothing would be left ("the Republican nominee" stays whole). A gold Source's
  canonical name is the default alias table's entry for it (``pipeline.speakers``: "President
  Obama" → Barack Obama), or the normalised Source itself. So a surname alone matches a
  canonical full name only through the alias table, and "he" is correct only where the
  prediction's mention is also "he".

PolNeAR's README asks that the test split be evaluated on sparingly.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "polnear_test"
QUOTE_MARK = re.compile(r"[“”\"]|''")
WORD = re.compile(r"\w+")
FUNCTION_WORDS = {"the", "a", "an", "of", "to", "in", "and", "s", "mr", "mrs", "ms", "dr"}


def parse_ann(path: Path) -> list[dict]:
    """Gold attributions of one .ann file: content spans, content text, source text."""
    spans: dict[str, tuple[str, list[tuple[int, int]], str]] = {}
    relations: list[dict[str, str]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("T"):
            tid, middle, text = [*line.split("\t"), "", ""][:3]
            label, _, offsets = middle.partition(" ")
            pieces = [tuple(map(int, p.split())) for p in offsets.split(";") if p.strip()]
            spans[tid] = (label, pieces, text)
        elif line.startswith("E"):
            _, _, roles = line.partition("\t")
            relations.append(dict(role.split(":", 1) for role in roles.split() if ":" in role))
    gold = []
    for relation in relations:
        content = spans.get(relation.get("Content", ""))
        if content is None:
            continue
        source = spans.get(relation.get("Source", ""))
        gold.append({"spans": content[1], "text": content[2],
                     "source": source[2] if source else None,
                     "direct": bool(QUOTE_MARK.search(content[2]))})
    return gold


def token_ids(text: str, spans: list[tuple[int, int]]) -> set[int]:
    """Start offsets of the word tokens of ``text`` that fall inside ``spans``."""
    return {m.start() for m in WORD.finditer(text)
            if any(start <= m.start() < end for start, end in spans)}


def match(gold: list[set[int]], predicted: list[set[int]], threshold: float = 0.5) -> list[
        tuple[int, int]]:
    """One-to-one (gold, predicted) pairs overlapping ≥ threshold of both, best first."""
    candidates = []
    for g, gold_tokens in enumerate(gold):
        for p, tokens in enumerate(predicted):
            shared = len(gold_tokens & tokens)
            if not shared or not gold_tokens or not tokens:
                continue
            if shared / len(gold_tokens) >= threshold and shared / len(tokens) >= threshold:
                candidates.append((shared / len(gold_tokens | tokens), g, p))
    pairs, used_g, used_p = [], set(), set()
    for _, g, p in sorted(candidates, reverse=True):
        if g not in used_g and p not in used_p:
            pairs.append((g, p))
            used_g.add(g)
            used_p.add(p)
    return pairs


def prf(n_gold: int, n_pred: int, n_match: int) -> dict[str, float]:
    precision = n_match / n_pred if n_pred else 0.0
    recall = n_match / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3),
            "gold": n_gold, "predicted": n_pred, "matched": n_match}


def strict_name(text: str | None) -> str:
    """A mention normalised for the strict speaker match (see the module doc)."""
    from pipeline.speakers import TITLE_WORDS

    head = (text or "").strip(" ,").split(",")[0]  # "Randall Stephenson, AT&T's chief, …"
    folded = unicodedata.normalize("NFKC", head).casefold().replace("’", "'")
    folded = re.sub(r"'s\b", "", folded)
    words = re.sub(r"[^\w\s-]", " ", folded).split()
    titles = {w.strip(".") for w in TITLE_WORDS} | {"the", "a", "an"}
    start = 0
    while start < len(words) - 1 and words[start] in titles:
        start += 1
    return " ".join(words[start:])


def canonical_names() -> dict[str, str]:
    """strict_name of every default alias → strict_name of its canonical speaker."""
    from pipeline.speakers import DEFAULT_ALIASES

    return {strict_name(alias): strict_name(name)
            for name, aliases in DEFAULT_ALIASES.items() for alias in [name, *aliases]}


def strict_correct(source: str, mention: str | None, speaker: str | None,
                   canonical: dict[str, str]) -> bool:
    """Exact match of the gold Source to the predicted mention or canonical speaker."""
    gold = strict_name(source)
    if not gold:
        return False
    if mention and strict_name(mention) == gold:
        return True
    return bool(speaker) and canonical.get(gold, gold) == strict_name(speaker)


def content_words(text: str | None) -> set[str]:
    return {w for w in WORD.findall((text or "").casefold()) if w not in FUNCTION_WORDS}


def run_pipeline(files: list[Path], model: str = "auto"):
    """documents, sentences and attributed quotes of ``files`` with the real stages;
    ``model`` is the job's ``quotes.model`` (``rules`` for the rules alone)."""
    from pipeline.config import parse_config
    from pipeline.runner import run_stages

    job = parse_config({"job": "polnear", "inputs": [str(f) for f in files],
                        "translate": {"enabled": False}, "detect": {"languages": ["en"]},
                        "quotes": {"model": model}})
    return run_stages(job, ["ingest", "clean", "segment", "detect", "quotes", "attribute"])


def split_articles(texts: list[Path], split: str) -> list[Path]:
    """``dev`` = even indexes of the sorted list, ``heldout`` = odd ones, ``all`` = every one."""
    if split == "dev":
        return texts[0::2]
    if split == "heldout":
        return texts[1::2]
    return texts


def evaluate(corpus: Path, limit: int | None = None, split: str = "all",
             show_missed: bool = False, model: str = "auto") -> dict:
    texts = sorted((corpus / "text").glob("*.txt"))
    annotations: dict[str, Path] = {}
    for path in sorted((corpus / "attributions").glob("*.ann")):
        stem = re.sub(r"_[0-9a-f]{4}$", "", path.stem)
        annotations.setdefault(stem, path)  # first annotator, sorted
    texts = split_articles([t for t in texts if t.stem in annotations], split)[:limit]
    tables = run_pipeline(texts, model)
    quotes = tables["quotes"]
    by_doc = defaultdict(list)
    for row in quotes.itertuples(index=False):
        by_doc[row.doc_id].append(row)
    counts = defaultdict(int)
    speaker_total = speaker_correct = speaker_strict = 0
    canonical = canonical_names()
    for path in texts:
        raw = path.read_text(encoding="utf-8")
        gold = parse_ann(annotations[path.stem])
        predicted = by_doc.get(path.stem, [])
        gold_tokens = [token_ids(raw, g["spans"]) for g in gold]
        pred_tokens = [token_ids(raw, [(q.char_start, q.char_end)]) for q in predicted]
        pred_direct = [bool(q.direct) or bool(QUOTE_MARK.search(raw[q.char_start:q.char_end]))
                       for q in predicted]
        # all attributions
        counts["all_gold"] += len(gold)
        counts["all_pred"] += len(predicted)
        counts["all_match"] += len(match(gold_tokens, pred_tokens))
        # direct quotes
        g_idx = [i for i, g in enumerate(gold) if g["direct"]]
        for name, flags in (("direct", pred_direct),
                            ("flag", [bool(q.direct) for q in predicted])):
            p_idx = [i for i, f in enumerate(flags) if f]
            pairs = match([gold_tokens[i] for i in g_idx], [pred_tokens[i] for i in p_idx])
            counts[f"{name}_gold"] += len(g_idx)
            counts[f"{name}_pred"] += len(p_idx)
            counts[f"{name}_match"] += len(pairs)
            if name != "direct":
                continue
            if show_missed:
                _print_errors(path.stem, raw, [gold[i] for i in g_idx],
                              [predicted[i] for i in p_idx], pairs)
            for g, p in pairs:
                source = gold[g_idx[g]]["source"]
                if not source:
                    continue
                quote = predicted[p_idx[p]]
                said = content_words(quote.speaker_mention) | content_words(quote.speaker)
                speaker_total += 1
                speaker_correct += bool(said & content_words(source))
                speaker_strict += strict_correct(source, quote.speaker_mention, quote.speaker,
                                                 canonical)
    return {
        "split": split,
        "model": model,
        "articles": len(texts),
        "direct": prf(counts["direct_gold"], counts["direct_pred"], counts["direct_match"]),
        "direct_flag_only": prf(counts["flag_gold"], counts["flag_pred"], counts["flag_match"]),
        "all_attributions": prf(counts["all_gold"], counts["all_pred"], counts["all_match"]),
        "speaker_accuracy": round(speaker_correct / speaker_total, 3) if speaker_total else 0.0,
        "speaker_accuracy_strict": round(speaker_strict / speaker_total, 3)
        if speaker_total else 0.0,
        "speaker_scored": speaker_total,
    }


def _print_errors(doc: str, raw: str, gold: list[dict], predicted: list, pairs) -> None:
    """The unmatched gold direct quotes (MISS) and predicted direct quotes (FALSE) of one doc."""
    matched_g = {g for g, _ in pairs}
    matched_p = {p for _, p in pairs}
    for g, item in enumerate(gold):
        if g not in matched_g:
            start = item["spans"][0][0]
            context = raw[max(0, start - 150):start].replace("\n", " ¶ ")
            print(f"MISS {doc} [{item['source']}] …{context}⟦{item['text']}⟧")
    for p, quote in enumerate(predicted):
        if p not in matched_p:
            print(f"FALSE {doc} [{quote.speaker_mention}] ⟦{raw[quote.char_start:quote.char_end]}⟧")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--limit", type=int, default=None, help="only the first N articles")
    parser.add_argument("--split", choices=("dev", "heldout", "all"), default="all",
                        help="dev = even-indexed articles, heldout = odd-indexed, all = every one")
    parser.add_argument("--model", default="auto",
                        help="quotes.model: auto (the shipped CRF), rules, or a model file")
    parser.add_argument("--show-missed", action="store_true",
                        help="print unmatched gold and predicted direct quotes")
    args = parser.parse_args(argv)
    if not (args.corpus / "text").is_dir():
        print(f"{args.corpus}: PolNeAR test split not found (text/ and attributions/); "
              "pass --corpus", file=sys.stderr)
        return 2
    result = evaluate(args.corpus, args.limit, args.split, args.show_missed, args.model)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"PolNeAR {args.corpus.name} ({result['split']}), {result['articles']} articles, "
          f"quotes.model {result['model']}")
    for key in ("direct", "direct_flag_only", "all_attributions"):
        r = result[key]
        print(f"  {key:18s} P {r['precision']:.3f}  R {r['recall']:.3f}  F1 {r['f1']:.3f}  "
              f"(gold {r['gold']}, predicted {r['predicted']}, matched {r['matched']})")
    print(f"  speaker accuracy   {result['speaker_accuracy']:.3f} lenient (a shared word), "
          f"{result['speaker_accuracy_strict']:.3f} strict (exact name) "
          f"over {result['speaker_scored']} matched direct quotes with a gold source")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
