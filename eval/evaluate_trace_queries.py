"""Trace by real paraphrase: does ``quotetrace trace`` find an MRPC sentence's quoted partner, and
say "nothing quotes this" for unrelated text?

    python eval/evaluate_trace_queries.py [--half dev|heldout|both]
        [--corpus ../shared/corpora/mrpc_test/msr_paraphrase_test.tsv]
        [--iwslt ../shared/corpora/iwslt15_envi_tst2013] [--targets 300] [--distractors 100]
        [--unrelated 200] [--config configs/seeds.yaml] [--set section.key=value ...]
        [--embed-model PATH] [--output outputs/eval-trace-queries] [--show-false]
        [--json [--rows]]

About 1.5 minutes for both halves on 2 cores (OMP_NUM_THREADS=1); reruns reuse the jobs' caches.

**Split.** The MRPC test pairs (1,725; 1,146 labelled paraphrase) are split by a hash of their
two sentence ids (sha1 of ``"id1-id2"``, even = ``dev``, odd = ``heldout``); the split does not
depend on file order or on any setting. Tune on ``dev``, report ``heldout``.

**Index (one job per half).** Within a half, pairs are ordered by the same hash. The first
``--targets`` label-1 pairs are *targets* and the first ``--distractors`` label-0 pairs are
*distractors*; sentence 1 of each is written as an attributed direct quote, one per paragraph,
``“<sentence 1>,” said <speaker>.`` or ``<speaker> said: “<sentence 1>”`` (alternating; a final
``.`` inside the quote becomes ``,`` in the first form; inner double quotes become single ones;
a pair sharing a sentence id or text with one taken before is skipped). Speakers are
invented names (``speaker_names``), each with about four quotes; documents hold 8 quotes each and
belong to one of five outlets (metadata CSV). The job is ``--config`` (``configs/seeds.yaml``, its
default offline embedder) with inputs, output and ``ingest.metadata`` replaced, run through the
real stages (:mod:`alignment_jobs`); its folder is ``OUTPUT/<half>`` (git-ignored ``outputs/``).
The *expected cluster* of a target is the cluster holding the quote that overlaps the statement's
characters most; a statement the quotes stage did not extract has none (a miss in every row, and
counted as ``not_extracted``).

**Queries**, each through :func:`pipeline.trace_query.trace` on the finished job:

- ``paraphrase``: sentence 2 of a target pair, as written (MRPC's other outlet's wording);
- ``paraphrase, framed``: the same, framed with its speaker, ``According to <speaker>, <s2>``
  (exercises :mod:`pipeline.queryframes` and the speaker bonus);
- ``unrelated news``: sentences of MRPC pairs of the same half that are not indexed (sentence 1
  or 2, alternating; no sentence id or text shared with the index), ``--unrelated`` of them;
- ``unrelated TED``: ``--unrelated`` English lines of IWSLT (tst2012 for ``dev``, tst2013 for
  ``heldout``), every k-th line with at least 8 words;
- ``hard negative`` (for information; no target): sentence 2 of a distractor pair, i.e. same
  story, labelled *not* a paraphrase by MRPC's annotators.

**Measures.** recall@1: the share of paraphrase queries whose first match (``trace(top_k=5)``;
only clusters at or above the job's ``trace.min_similarity`` are ever answered) is the expected
cluster; recall@5: the expected cluster is among the (at most 5) matches. For unrelated and
hard-negative queries: ``nothing``, the share answered "nothing in the corpus quotes this"
(no match at all); a match is a false match. Each share comes with its 95% Wilson interval
(200 queries: about ±3 points). Targets of the issue: recall@1 ≥ 0.9 on paraphrases,
``nothing`` ≥ 0.95 on unrelated queries. Caveat: "unrelated news" excludes the index's sentence
ids and texts but not MRPC's near-duplicates (one statement under two ids, slightly reworded);
such a query finding its statement counts as a false match (``--show-false`` lists them).

Corpus text is read at run time and never written outside ``OUTPUT``. Exit 2 when the corpora
are missing.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import os
import re
import sys
import time
from pathlib import Path
from typing import NamedTuple

EVAL = Path(__file__).resolve().parent
ROOT = EVAL.parent
for _folder in (ROOT, EVAL):  # run as a script from anywhere, or loaded by file path
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

CORPORA = ROOT / ".." / "shared" / "corpora"
DEFAULT_MRPC = CORPORA / "mrpc_test" / "msr_paraphrase_test.tsv"
DEFAULT_IWSLT = CORPORA / "iwslt15_envi_tst2013"
SEEDS_CONFIG = ROOT / "configs" / "seeds.yaml"
DEFAULT_OUTPUT = ROOT / "outputs" / "eval-trace-queries"
HALVES = ("dev", "heldout")
IWSLT_SPLIT = {"dev": "tst2012", "heldout": "tst2013"}
OUTLETS = ("Daily Ledger", "Morning Wire", "City Courier", "Evening Post", "News Desk")
PER_DOCUMENT = 8
QUOTES_PER_SPEAKER = 4
TOP_K = 5
#: Double quotes inside a quoted statement become single ones, as a newspaper nests them.
INNER_QUOTES = str.maketrans({'"': "'", "“": "‘", "”": "’"})
#: Invented names for the speakers (no real person the speaker tables know).
FIRST_NAMES = ("Anna", "Bruno", "Clara", "Dmitri", "Elena", "Farid", "Greta", "Hugo", "Ines",
               "Jonas", "Katrin", "Lukas", "Marta", "Nils", "Olga", "Pavel", "Rosa", "Stefan",
               "Tamara", "Viktor")
LAST_NAMES = ("Albrecht", "Brandt", "Castell", "Dorn", "Eklund", "Falk", "Gerber", "Holm",
              "Ivers", "Jansen", "Kessler", "Lindqvist", "Moser", "Nyberg", "Ortmann", "Pichler",
              "Quist", "Reiter", "Sauer", "Tanner")


class Pair(NamedTuple):
    label: int
    id1: str
    id2: str
    s1: str
    s2: str


class Indexed(NamedTuple):
    pair: Pair
    role: str  # "target" | "distractor"
    speaker: str
    doc_id: str
    start: int  # the statement's characters in the document file
    end: int


def load_mrpc(path: Path) -> list[Pair]:
    """The pairs of an MRPC TSV (with or without its header)."""
    pairs = []
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        fields = line.split("\t")
        if len(fields) < 5 or not fields[0].strip().isdigit():
            continue
        pairs.append(Pair(int(fields[0]), fields[1].strip(), fields[2].strip(),
                          fields[3].strip(), fields[4].strip()))
    return pairs


def pair_hash(pair: Pair) -> int:
    return int(hashlib.sha1(f"{pair.id1}-{pair.id2}".encode()).hexdigest(), 16)


def split_pairs(pairs: list[Pair]) -> dict[str, list[Pair]]:
    """``dev`` (even hash) and ``heldout`` (odd hash), each ordered by hash."""
    ordered = sorted(pairs, key=pair_hash)
    return {"dev": [p for p in ordered if pair_hash(p) % 2 == 0],
            "heldout": [p for p in ordered if pair_hash(p) % 2 == 1]}


def speaker_names(count: int) -> list[str]:
    """``count`` distinct invented names, in a fixed order (first names vary fastest)."""
    if count > len(FIRST_NAMES) * len(LAST_NAMES):
        raise ValueError(f"at most {len(FIRST_NAMES) * len(LAST_NAMES)} speakers, {count} asked")
    return [f"{FIRST_NAMES[i % len(FIRST_NAMES)]} "
            f"{LAST_NAMES[(i // len(FIRST_NAMES) + i) % len(LAST_NAMES)]}" for i in range(count)]


def as_quote(sentence: str, speaker: str, form: int) -> tuple[str, int, int]:
    """A paragraph quoting ``sentence`` (form 0: ``“S,” said X.``; 1: ``X said: “S”``) and the
    statement's (start, end) in it. Inner double quotes become single ones."""
    text = re.sub(r"\s+", " ", sentence.translate(INNER_QUOTES)).strip()
    if form == 0:
        if text.endswith("."):
            text = text[:-1].rstrip() + ","
        elif not text.endswith(("?", "!", ",")):
            text += ","
        paragraph = f"“{text}” said {speaker}."
        return paragraph, 1, 1 + len(text)
    prefix = f"{speaker} said: “"
    return f"{prefix}{text}”", len(prefix), len(prefix) + len(text)


def framed(sentence: str, speaker: str) -> str:
    return f"According to {speaker}, {sentence}"


def _key(sentence: str) -> str:
    return " ".join(sentence.split()).casefold()


def plan_half(pairs: list[Pair], targets: int, distractors: int) -> list[tuple[Pair, str]]:
    """The first ``targets`` label-1 and ``distractors`` label-0 pairs, skipping a pair that
    shares a sentence (id or text) with one taken before: MRPC repeats 53 sentences across
    pairs, and one statement must not be indexed twice under two invented speakers."""
    chosen: list[tuple[Pair, str]] = []
    seen: set[str] = set()
    for role, label, count in (("target", 1, targets), ("distractor", 0, distractors)):
        taken = 0
        for pair in pairs:
            if taken == count:
                break
            keys = {pair.id1, pair.id2, _key(pair.s1), _key(pair.s2)}
            if pair.label != label or keys & seen:
                continue
            seen |= keys
            chosen.append((pair, role))
            taken += 1
        if taken < count:
            raise ValueError(f"only {taken} usable label-{label} pairs in this half, "
                             f"{count} asked")
    return chosen


def write_corpus(chosen: list[tuple[Pair, str]], folder: Path) -> tuple[list[Indexed], Path]:
    """The documents and their metadata CSV; each indexed statement's place."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("doc*.txt"):  # an earlier run's documents (other sizes)
        stale.unlink()
    names = speaker_names(max(1, -(-len(chosen) // QUOTES_PER_SPEAKER)))
    # Interleave targets and distractors so that every document mixes both.
    order = sorted(range(len(chosen)), key=lambda i: (pair_hash(chosen[i][0]) >> 7) % 1_000_003)
    indexed: list[Indexed] = []
    rows = []
    for d in range(0, len(order), PER_DOCUMENT):
        doc_id = f"doc{d // PER_DOCUMENT:03d}"
        paragraphs: list[str] = []
        offset = 0
        for k, i in enumerate(order[d:d + PER_DOCUMENT]):
            pair, role = chosen[i]
            speaker = names[i % len(names)]
            paragraph, start, end = as_quote(pair.s1, speaker, (d + k) % 2)
            indexed.append(Indexed(pair, role, speaker, doc_id, offset + start, offset + end))
            paragraphs.append(paragraph)
            offset += len(paragraph) + 2
        (folder / f"{doc_id}.txt").write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
        rows.append({"doc_id": doc_id, "outlet": OUTLETS[(d // PER_DOCUMENT) % len(OUTLETS)]})
    metadata = folder.parent / f"{folder.name}-metadata.csv"
    with metadata.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["doc_id", "outlet"])
        writer.writeheader()
        writer.writerows(rows)
    return indexed, metadata


def unrelated_news(pairs: list[Pair], chosen: list[tuple[Pair, str]], count: int) -> list[str]:
    """Sentences of this half's pairs that are not indexed (no id or text in common)."""
    used = {p for p, _ in chosen}
    ids = {i for p, _ in chosen for i in (p.id1, p.id2)}
    texts = {_key(s) for p, _ in chosen for s in (p.s1, p.s2)}
    out: list[str] = []
    for n, pair in enumerate(p for p in pairs if p not in used):
        sent_id, sentence = (pair.id1, pair.s1) if n % 2 == 0 else (pair.id2, pair.s2)
        key = _key(sentence)
        if sent_id in ids or key in texts:
            continue
        ids.add(sent_id)
        texts.add(key)
        out.append(sentence)
        if len(out) == count:
            break
    return out


def unrelated_ted(path: Path, count: int) -> list[str]:
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()
             if len(line.split()) >= 8]
    step = max(1, len(lines) // count) if count else 1
    return lines[::step][:count]


def expected_clusters(indexed: list[Indexed], quotes, clusters) -> list[str | None]:
    """Per indexed statement, the cluster of the quote that overlaps it most (None: no quote)."""
    cluster_of = {q: c for c, ids in zip(clusters["cluster_id"], clusters["quote_ids"],
                                         strict=True) for q in ids}
    by_doc: dict[str, list[tuple[int, int, str]]] = {}
    for row in quotes.itertuples(index=False):
        by_doc.setdefault(row.doc_id, []).append((int(row.char_start), int(row.char_end),
                                                  row.quote_id))
    out: list[str | None] = []
    for item in indexed:
        best, best_overlap = None, 0
        for start, end, quote_id in by_doc.get(item.doc_id, []):
            overlap = min(end, item.end) - max(start, item.start)
            if overlap > best_overlap:
                best, best_overlap = quote_id, overlap
        out.append(cluster_of.get(best) if best else None)
    return out


def run_queries(output: Path, queries: list[tuple[str, str, str | None]]) -> list[dict]:
    """``(kind, query, expected cluster or None)`` → one row per query."""
    from pipeline.trace_query import trace

    rows = []
    for kind, query, expected in queries:
        result = trace(output, query, top_k=TOP_K)
        ids = [m["cluster_id"] for m in result["matches"]]
        rank = ids.index(expected) + 1 if expected in ids else None
        rows.append({"kind": kind, "threshold": result["threshold"], "query": query,
                     "expected": expected, "rank": rank, "matches": ids,
                     "top_score": result["matches"][0]["score"] if ids else None,
                     "top_text": result["matches"][0]["renditions"][0]["text"] if ids else None,
                     "speaker_match": result["matches"][0]["speaker_match"] if ids else None,
                     "message": result.get("message")})
    return rows


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval (95% by default) of a share ``hits / n``."""
    if n == 0:
        return 0.0, 1.0
    share = hits / n
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)


def summarise(rows: list[dict]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for kind in dict.fromkeys(row["kind"] for row in rows):
        group = [row for row in rows if row["kind"] == kind]
        n = len(group)
        if kind.startswith("paraphrase"):
            at1 = sum(row["rank"] == 1 for row in group)
            at5 = sum(row["rank"] is not None for row in group)
            nothing = sum(not row["matches"] for row in group)
            out[kind] = {"queries": n, "recall_at_1": round(at1 / n, 4) if n else 0.0,
                         "recall_at_5": round(at5 / n, 4) if n else 0.0,
                         "recall_at_1_ci95": wilson(at1, n),
                         "hits_at_1": at1, "hits_at_5": at5, "answered_nothing": nothing}
        else:
            nothing = sum(not row["matches"] for row in group)
            out[kind] = {"queries": n, "nothing": round(nothing / n, 4) if n else 0.0,
                         "nothing_ci95": wilson(nothing, n), "false_matches": n - nothing}
    return out


def evaluate_half(half: str, pairs: list[Pair], ted: Path, args: argparse.Namespace) -> dict:
    from alignment_jobs import job_config, run_timed, stage_seconds

    chosen = plan_half(pairs, args.targets, args.distractors)
    work = args.output / half
    indexed, metadata = write_corpus(chosen, args.output / f"{half}-inputs")
    data = job_config(args.config, args.output / f"{half}-inputs", work,
                      f"trace-queries-{half}", args.settings, args.embed_model,
                      ingest={"metadata": str(metadata)})
    result, wall = run_timed(data, f"evaluate_trace_queries ({args.config.name})")
    expected = expected_clusters(indexed, result.tables["quotes"], result.tables["clusters"])
    queries: list[tuple[str, str, str | None]] = []
    for item, cluster in zip(indexed, expected, strict=True):
        if item.role == "target":
            queries.append(("paraphrase", item.pair.s2, cluster))
    for item, cluster in zip(indexed, expected, strict=True):
        if item.role == "target":
            queries.append(("paraphrase, framed", framed(item.pair.s2, item.speaker), cluster))
    queries += [("unrelated news", s, None)
                for s in unrelated_news(pairs, chosen, args.unrelated)]
    queries += [("unrelated TED", s, None)
                for s in unrelated_ted(ted / f"{IWSLT_SPLIT[half]}.raw.en", args.unrelated)]
    queries += [("hard negative", item.pair.s2, None) for item in indexed
                if item.role == "distractor"]
    started = time.perf_counter()
    rows = run_queries(work, queries)
    query_seconds = time.perf_counter() - started
    targets = [c for item, c in zip(indexed, expected, strict=True) if item.role == "target"]
    return {
        "half": half, "pairs_in_half": len(pairs), "targets": len(targets),
        "distractors": len(indexed) - len(targets),
        "quotes": len(result.tables["quotes"]), "clusters": len(result.tables["clusters"]),
        "not_extracted": sum(c is None for c in targets),
        "shared_clusters": len(targets) - len(set(c for c in targets if c)) - sum(
            c is None for c in targets),
        "threshold": rows[0]["threshold"] if rows else None,
        "summary": summarise(rows),
        "seconds": {**stage_seconds(result, wall), "queries": round(query_seconds, 1)},
        "output": str(work), "rows": rows,
    }


def print_report(report: dict, show_false: bool = False) -> None:
    print("trace on MRPC paraphrase queries (quotes indexed: sentence 1; query: sentence 2)")
    print(f"{'half':8} {'query kind':20} {'n':>5} {'recall@1':>9} {'recall@5':>9} "
          f"{'nothing':>8} {'false':>6}")
    for half, r in report["halves"].items():
        for kind, s in r["summary"].items():
            if "recall_at_1" in s:
                low, high = s["recall_at_1_ci95"]
                print(f"{half:8} {kind:20} {s['queries']:5d} {s['recall_at_1']:9.3f} "
                      f"{s['recall_at_5']:9.3f} {'':>8} {'':>6}  recall@1 95% CI "
                      f"[{low:.3f}, {high:.3f}]")
            else:
                low, high = s["nothing_ci95"]
                print(f"{half:8} {kind:20} {s['queries']:5d} {'':>9} {'':>9} "
                      f"{s['nothing']:8.3f} {s['false_matches']:6d}  nothing 95% CI "
                      f"[{low:.3f}, {high:.3f}]")
        print(f"{'':8} job: {r['targets']} targets + {r['distractors']} distractors -> "
              f"{r['quotes']} quotes, {r['clusters']} clusters; statements not extracted "
              f"{r['not_extracted']}, targets sharing a cluster {r['shared_clusters']}; "
              f"job {r['seconds']['job']} s, queries {r['seconds']['queries']} s")
    if show_false:
        for half, r in report["halves"].items():
            for row in r.get("rows", []):
                if row["kind"].startswith("unrelated") and row["matches"]:
                    print(f"  false match ({half}, {row['kind']}, {row['top_score']:.3f}): "
                          f"{row['query'][:90]}\n      -> {row['top_text'][:90]}")
    thresholds = sorted({r["threshold"] for r in report["halves"].values()})
    print(f"threshold: trace.min_similarity {', '.join(map(str, thresholds))}; "
          "targets: recall@1 >= 0.9, unrelated nothing >= 0.95 (hard negatives: information only)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--half", choices=(*HALVES, "both"), default="both")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_MRPC)
    parser.add_argument("--iwslt", type=Path, default=DEFAULT_IWSLT)
    parser.add_argument("--targets", type=int, default=300)
    parser.add_argument("--distractors", type=int, default=100)
    parser.add_argument("--unrelated", type=int, default=200)
    parser.add_argument("--config", type=Path, default=SEEDS_CONFIG)
    parser.add_argument("--set", dest="settings", action="append", default=[],
                        metavar="KEY=VALUE", help="Config override for the jobs.")
    parser.add_argument("--embed-model", default=None)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--rows", action="store_true", help="with --json: every query's row")
    parser.add_argument("--show-false", action="store_true",
                        help="also print each unrelated query that got a match, and the match")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not args.corpus.is_file():
        print(f"error: {args.corpus} not found; pass --corpus path/to/msr_paraphrase_test.tsv "
              "(see ../shared/corpora/README.md)", file=sys.stderr)
        return 2
    halves = HALVES if args.half == "both" else (args.half,)
    for half in halves:
        if not (args.iwslt / f"{IWSLT_SPLIT[half]}.raw.en").is_file():
            print(f"error: {args.iwslt}/{IWSLT_SPLIT[half]}.raw.en not found; pass --iwslt "
                  "path/to/iwslt15_envi_tst2013 (see ../shared/corpora/README.md)",
                  file=sys.stderr)
            return 2
    if not args.config.is_file():
        print(f"error: {args.config}: config file not found", file=sys.stderr)
        return 2
    if min(args.targets, args.distractors, args.unrelated) < 0 or args.targets < 1:
        print("error: --targets must be >= 1, --distractors and --unrelated >= 0",
              file=sys.stderr)
        return 2
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    args.output = args.output.resolve()
    args.config = args.config.resolve()
    split = split_pairs(load_mrpc(args.corpus))
    report: dict = {"corpus": str(args.corpus), "halves": {}}
    for half in halves:
        report["halves"][half] = evaluate_half(half, split[half], args.iwslt, args)
    if args.json:
        if not args.rows:
            for r in report["halves"].values():
                r.pop("rows")
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    print_report(report, args.show_false)
    return 0


if __name__ == "__main__":
    sys.exit(main())
