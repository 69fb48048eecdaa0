"""Build a deterministic, real-text news corpus of any size for scale benchmarks.

    python benchmarks/scale_corpus.py --documents 10000 --out outputs/scale-corpus-10000 [--seed 0]

Every document is a *replica* of a real text: the five seed articles in ``seeds/`` and, when
``../shared/corpora`` is present, the IWSLT'15 tst2013 talks (Vietnamese and English renditions
of each talk), PolNeAR's 84 test articles and MRPC test sentence pairs grouped into documents
(the two sentences of a pair were written by two outlets). Without the shared corpora the corpus
is built from the seeds alone (a note says so). No corpus text is copied into the repository:
the output folder is meant to be under ``outputs/`` (git-ignored).

How it is built (all randomness from one ``random.Random(seed)``, so a build is byte-identical
on every machine and ``PYTHONHASHSEED`` plays no part):

- A *group* is one real story with its renditions: the seeds (4 English outlets and 1
  Vietnamese), one IWSLT talk (its en and vi sides, line-aligned), one PolNeAR article, or 15
  MRPC pairs (side 1 and side 2).
- A *story* picks a group (IWSLT 35 %, PolNeAR 25 %, MRPC 25 %, seeds 15 %; then the groups of
  that source in turn) and a window of 8-25 of its sentences.
- Each story has 3-12 documents, one per outlet (distinct outlets from a pool of 40, Vietnamese
  outlets for Vietnamese documents); the first documents cycle through the group's renditions, so
  a talk's story has both languages (cross-lingual pairs). Each document drops some sentences,
  moves some (local swaps, sometimes a sentence pulled up to the lede) and merges adjacent
  sentences into paragraphs, so no two documents are identical.
- Dates keep stories apart: the r-th story of a group is dated around 2020-01-06 + 14·r days
  and its documents within ±3 days, so a 7-day date window separates replicas of one source
  that belong to different stories (dates wrap after ``MAX_ROUNDS`` stories of one group; the
  summary says when, as only a seeds-only build of tens of thousands of documents needs it).

Output (the folder is replaced atomically, built beside it first):

- ``docs/part-NNNNN.jsonl``: at most ``--per-file`` documents (default 5000) and
  ``MAX_FILE_BYTES`` per file, one ``{"id", "text", "outlet", "date", "lang"}`` object per
  line: what ``quotetrace run --input DIR/docs`` ingests.
- ``metadata.csv``: ``doc_id, outlet, date, lang, story, source`` (for ``ingest.metadata``).
- ``corpus.json``: documents, sentences (written), stories, languages, sources, seed, files.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import os
import random
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
SHARED_CORPORA = ROOT.parent / "shared" / "corpora"

GENERATOR_VERSION = 1
PER_FILE = 5000
MAX_FILE_BYTES = 40_000_000  # below ingest.max_bytes (50 MB by default)
WINDOW = (8, 25)  # sentences a story takes from its source
STORY_SIZE = (3, 12)  # documents per story
DAY0 = dt.date(2020, 1, 6)
STORY_SPACING_DAYS = 14  # > 2 * DATE_JITTER + date window (7)
DATE_JITTER = 3
MAX_ROUNDS = 6000  # 6000 * 14 days ≈ 230 years: stays below pandas' Timestamp limit (2262)
SOURCE_WEIGHTS = {"iwslt15": 0.35, "polnear": 0.25, "mrpc": 0.25, "seeds": 0.15}
MRPC_PAIRS_PER_DOC = 15

OUTLETS_EN = [
    "Harbor Daily", "Morning Ledger", "The Civic Post", "Northern Courier", "Global Wire",
    "Evening Standard Times", "Capital Review", "Riverside Herald", "Pacific Dispatch",
    "Metro Observer", "The Daily Signal Press", "Continental News", "Valley Tribune",
    "Coastal Gazette", "World Report Today", "The Public Record", "Summit Chronicle",
    "Lakeside Journal", "Atlas News Service", "Central Bulletin", "The Weekly Compass",
    "Union Sentinel", "Eastern Telegraph", "Prairie Voice", "Harbour Times", "The Forum",
    "Liberty Mirror", "Crossroads Media", "Frontier Post", "Independent Monitor",
]
OUTLETS_VI = [
    "Tin Nhanh", "Báo Sáng", "Thời Sự Hôm Nay", "Nhịp Sống", "Tiếng Nói Mới",
    "Đời Sống Việt", "Bản Tin Thế Giới", "Người Quan Sát", "Tin Tức 24", "Phương Nam",
]
OUTLETS = OUTLETS_EN + OUTLETS_VI  # 40

_BOUNDARY = re.compile(r"[.!?…]+[\"”’)]*\s+")
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "st", "gen", "sen", "rep", "gov", "lt", "col", "sgt", "capt", "no",
    "co", "inc", "corp", "jr", "sr", "vs", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
    "sept", "oct", "nov", "dec", "u.s", "u.n", "u.k", "e.g", "i.e", "mt", "ft", "prof", "rev",
}
_BOILERPLATE = re.compile(r"^\s*(\d+\.\s*)?Skip to |^\s*(https?://|www\.)|^\s*[×✕✖]\s*$")


def note(message: str) -> None:
    print(f"[scale-corpus] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------- source texts


@dataclass(frozen=True)
class Rendition:
    lang: str
    sentences: tuple[str, ...]
    name: str  # e.g. "iwslt15:1694:vi"


@dataclass(frozen=True)
class Group:
    """One real story: its renditions (aligned line by line when ``aligned``)."""

    source: str
    name: str
    renditions: tuple[Rendition, ...]
    aligned: bool


def _open_quote(text: str) -> bool:
    return text.count("“") > text.count("”") or text.count('"') % 2 == 1


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of one paragraph: split after . ! ? … before a capital or an opening quote,
    not after a known abbreviation or an initial, and not inside an open quotation."""
    paragraph = " ".join(paragraph.split())
    sentences, start = [], 0
    for match in _BOUNDARY.finditer(paragraph):
        following = paragraph[match.end():match.end() + 1]
        if not following or not (following.isupper() or following in "\"“‘("):
            continue
        words = paragraph[start:match.start() + 1].split()
        last = words[-1].rstrip(".!?…").lower() if words else ""
        if last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha()):
            continue
        candidate = paragraph[start:match.end()].strip()
        if _open_quote(candidate):
            continue
        sentences.append(candidate)
        start = match.end()
    rest = paragraph[start:].strip()
    if rest:
        sentences.append(rest)
    return sentences


def article_sentences(text: str, min_chars: int = 25) -> tuple[str, ...]:
    """Sentences of a news article: one paragraph per non-empty line; menus, bare URLs and
    short lines (section headings, captions' stubs) left out."""
    sentences: list[str] = []
    for line in text.splitlines():
        if len(line.strip()) < min_chars or _BOILERPLATE.search(line):
            continue
        sentences.extend(s for s in split_sentences(line) if len(s) >= 3)
    return tuple(sentences)


def seed_groups() -> list[Group]:
    """The five seed articles: one story in four English outlets and one Vietnamese article."""
    renditions = []
    for path in sorted(SEEDS.glob("*.txt")):
        lang = "vi" if path.stem.startswith("003_") else "en"
        renditions.append(Rendition(lang, article_sentences(path.read_text(encoding="utf-8")),
                                    f"seeds:{path.stem}"))
    return [Group("seeds", "seeds", tuple(renditions), aligned=False)]


def iwslt_groups(corpora: Path) -> list[Group]:
    folder = corpora / "iwslt15_envi_tst2013"
    en = (folder / "tst2013.raw.en").read_text(encoding="utf-8").splitlines()
    vi = (folder / "tst2013.raw.vi").read_text(encoding="utf-8").splitlines()
    talks = [line.split("\t")[0] for line in
             (folder / "tst2013.docids").read_text(encoding="utf-8").splitlines()]
    if not len(en) == len(vi) == len(talks):
        raise ValueError(f"{folder}: tst2013.raw.en/.vi and tst2013.docids differ in length")
    lines: dict[str, list[tuple[str, str]]] = {}
    for talk, en_line, vi_line in zip(talks, en, vi, strict=True):
        if en_line.strip() and vi_line.strip():
            lines.setdefault(talk, []).append((en_line.strip(), vi_line.strip()))
    groups = []
    for talk, pairs in lines.items():  # file order
        groups.append(Group("iwslt15", f"iwslt15:{talk}", (
            Rendition("en", tuple(p[0] for p in pairs), f"iwslt15:{talk}:en"),
            Rendition("vi", tuple(p[1] for p in pairs), f"iwslt15:{talk}:vi"),
        ), aligned=True))
    return groups


def polnear_groups(corpora: Path) -> list[Group]:
    groups = []
    for path in sorted((corpora / "polnear_test" / "text").glob("*.txt")):
        sentences = article_sentences(path.read_text(encoding="utf-8"))
        if sentences:
            groups.append(Group("polnear", f"polnear:{path.stem}", (
                Rendition("en", sentences, f"polnear:{path.stem}"),), aligned=False))
    return groups


def mrpc_groups(corpora: Path) -> list[Group]:
    rows = []
    with (corpora / "mrpc_test" / "msr_paraphrase_test.tsv").open(encoding="utf-8") as handle:
        for line in handle:
            fields = line.rstrip("\n").split("\t")
            if len(fields) == 5 and fields[3].strip() and fields[4].strip():
                rows.append((fields[3].strip(), fields[4].strip()))
    groups = []
    for number, start in enumerate(range(0, len(rows), MRPC_PAIRS_PER_DOC)):
        chunk = rows[start:start + MRPC_PAIRS_PER_DOC]
        if len(chunk) < WINDOW[0]:
            continue
        groups.append(Group("mrpc", f"mrpc:{number:03d}", (
            Rendition("en", tuple(r[0] for r in chunk), f"mrpc:{number:03d}:1"),
            Rendition("en", tuple(r[1] for r in chunk), f"mrpc:{number:03d}:2"),
        ), aligned=True))
    return groups


def load_groups(corpora: Path | None) -> dict[str, list[Group]]:
    """Source name → its groups; only the seeds when ``corpora`` is None or absent."""
    groups = {"seeds": seed_groups()}
    if corpora is None:
        return groups
    if not corpora.is_dir():
        note(f"{corpora} not found: building from the five seed articles only")
        return groups
    loaders = {"iwslt15": (iwslt_groups, "iwslt15_envi_tst2013"),
               "polnear": (polnear_groups, "polnear_test"), "mrpc": (mrpc_groups, "mrpc_test")}
    for name, (loader, folder) in loaders.items():
        if (corpora / folder).is_dir():
            groups[name] = loader(corpora)
        else:
            note(f"{corpora / folder} not found: building without {name}")
    return groups


# ---------------------------------------------------------------------------------- replicas


def _window(rendition: Rendition, start_fraction: float, length: int) -> list[str]:
    size = min(length, len(rendition.sentences))
    start = round(start_fraction * (len(rendition.sentences) - size))
    return list(rendition.sentences[start:start + size])


def replica_text(rng: random.Random, sentences: list[str]) -> tuple[str, int]:
    """One outlet's version: drop some, move some, merge neighbours into paragraphs."""
    drop = rng.uniform(0.0, 0.2)
    kept = [s for s in sentences if rng.random() >= drop]
    if len(kept) < min(3, len(sentences)):
        kept = sentences[:max(3, len(kept))]
    for _ in range(rng.randint(0, len(kept) // 3)):  # local reordering
        i = rng.randrange(len(kept))
        j = min(len(kept) - 1, max(0, i + rng.randint(-3, 3)))
        kept[i], kept[j] = kept[j], kept[i]
    if len(kept) > 3 and rng.random() < 0.3:  # a later sentence pulled up to the lede
        kept.insert(0, kept.pop(rng.randrange(2, len(kept))))
    paragraphs, i = [], 0
    while i < len(kept):
        size = rng.choice((1, 1, 2, 2, 3))
        paragraphs.append(" ".join(kept[i:i + size]))
        i += size
    return "\n\n".join(paragraphs), len(kept)


def _pick_source(rng: random.Random, sources: list[str]) -> str:
    weights = [SOURCE_WEIGHTS[name] for name in sources]
    return rng.choices(sources, weights)[0]


def generate(documents: int, seed: int, groups: dict[str, list[Group]]) -> tuple[
        list[dict[str, Any]], dict[str, Any]]:
    """``documents`` records (id, text, outlet, date, lang, story, source) and counts."""
    rng = random.Random(seed)
    sources = [name for name in SOURCE_WEIGHTS if groups.get(name)]
    next_group = dict.fromkeys(sources, 0)
    rounds: dict[str, int] = {}
    records: list[dict[str, Any]] = []
    sentences_written = 0
    wrapped = False
    story = 0
    while len(records) < documents:
        source = _pick_source(rng, sources)
        group = groups[source][next_group[source] % len(groups[source])]
        next_group[source] += 1
        round_ = rounds.get(group.name, 0)
        rounds[group.name] = round_ + 1
        wrapped = wrapped or round_ >= MAX_ROUNDS
        base = DAY0 + dt.timedelta(days=STORY_SPACING_DAYS * (round_ % MAX_ROUNDS))
        start_fraction, length = rng.random(), rng.randint(*WINDOW)
        size = min(rng.randint(*STORY_SIZE), documents - len(records))
        picks = [group.renditions[k % len(group.renditions)] if k < len(group.renditions)
                 else rng.choice(group.renditions) for k in range(size)]
        outlets = {"en": rng.sample(OUTLETS_EN, len(OUTLETS_EN)),
                   "vi": rng.sample(OUTLETS_VI, len(OUTLETS_VI))}
        for k, rendition in enumerate(picks):
            pool = outlets["vi" if rendition.lang == "vi" else "en"]
            outlet = pool.pop() if pool else rng.choice(OUTLETS)
            text, count = replica_text(rng, _window(rendition, start_fraction, length))
            date = base + dt.timedelta(days=rng.randint(-DATE_JITTER, DATE_JITTER))
            records.append({"id": f"s{story:06d}-{k:02d}", "text": text, "outlet": outlet,
                            "date": date.isoformat(), "lang": rendition.lang,
                            "story": story, "source": rendition.name})
            sentences_written += count
        story += 1
    counts = {"stories": story, "sentences": sentences_written, "date_wraps": wrapped}
    return records, counts


# ------------------------------------------------------------------------------------ output


def _parts(records: list[dict[str, Any]], per_file: int) -> list[str]:
    """JSONL file contents: at most ``per_file`` records and MAX_FILE_BYTES each."""
    parts: list[str] = []
    lines: list[str] = []
    size = 0
    for record in records:
        line = json.dumps({k: record[k] for k in ("id", "text", "outlet", "date", "lang")},
                          ensure_ascii=False) + "\n"
        length = len(line.encode())
        if lines and (len(lines) >= per_file or size + length > MAX_FILE_BYTES):
            parts.append("".join(lines))
            lines, size = [], 0
        lines.append(line)
        size += length
    if lines:
        parts.append("".join(lines))
    return parts


def _metadata_csv(records: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    columns = ("doc_id", "outlet", "date", "lang", "story", "source")
    writer.writerow(columns)
    for record in records:
        writer.writerow([record["id"], record["outlet"], record["date"], record["lang"],
                         record["story"], record["source"]])
    return buffer.getvalue()


def build_params(documents: int, seed: int, corpora: Path | None,
                 per_file: int = PER_FILE) -> dict[str, Any]:
    """What a build depends on; a cached build with equal params can be reused."""
    usable = corpora is not None and corpora.is_dir()
    return {"documents": documents, "seed": seed, "per_file": per_file,
            "generator_version": GENERATOR_VERSION,
            "shared_corpora": usable}


def build_corpus(out: Path, documents: int, seed: int = 0, corpora: Path | None = SHARED_CORPORA,
                 per_file: int = PER_FILE) -> dict[str, Any]:
    """Write the corpus into ``out`` (replacing it atomically) and return its summary."""
    if documents < 1:
        raise ValueError("documents must be at least 1")
    started = time.perf_counter()
    groups = load_groups(corpora)
    records, counts = generate(documents, seed, groups)
    if counts["date_wraps"]:
        note("more stories per source than MAX_ROUNDS: dates wrap, so the date window no "
             "longer separates every replica of one source (add ../shared/corpora)")
    parts = _parts(records, per_file)
    summary = {
        **build_params(documents, seed, corpora, per_file),
        "stories": counts["stories"],
        "sentences": counts["sentences"],
        "languages": _count(r["lang"] for r in records),
        "sources": {name: {"groups": len(groups[name]),
                           "documents": sum(r["source"].split(":")[0] == name for r in records)}
                    for name in groups},
        "date_range": [min(r["date"] for r in records), max(r["date"] for r in records)],
        "date_wraps": counts["date_wraps"],
        "files": [f"docs/part-{i:05d}.jsonl" for i in range(len(parts))],
        "metadata": "metadata.csv",
    }
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        (staging / "docs").mkdir(parents=True)
        for name, content in zip(summary["files"], parts, strict=True):
            (staging / name).write_text(content, encoding="utf-8")
        (staging / "metadata.csv").write_text(_metadata_csv(records), encoding="utf-8")
        (staging / "corpus.json").write_text(
            json.dumps(summary, indent=2, ensure_ascii=False, sort_keys=True) + "\n",
            encoding="utf-8")
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        if out.exists():
            out.rename(old)
        staging.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    note(f"{documents} documents, {counts['stories']} stories, {counts['sentences']} sentences, "
         f"{len(parts)} files → {out} in {time.perf_counter() - started:.1f}s")
    return summary


def _count(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return dict(sorted(counts.items()))


def cached_summary(out: Path, params: dict[str, Any]) -> dict[str, Any] | None:
    """The summary of a complete build in ``out`` made with ``params``, else None."""
    try:
        summary = json.loads((Path(out) / "corpus.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    if any(summary.get(key) != value for key, value in params.items()):
        return None
    if not all((Path(out) / name).is_file() for name in [*summary["files"], "metadata.csv"]):
        return None
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, required=True, metavar="N")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-file", type=int, default=PER_FILE, metavar="N",
                        help=f"documents per JSONL file (default {PER_FILE})")
    parser.add_argument("--corpora", type=Path, default=SHARED_CORPORA,
                        help="the shared corpora folder (default ../shared/corpora)")
    parser.add_argument("--seeds-only", action="store_true",
                        help="use only the seed articles, even if the shared corpora exist")
    args = parser.parse_args(argv)
    if args.documents < 1:
        parser.error("--documents must be at least 1")
    summary = build_corpus(args.out, args.documents, args.seed,
                           None if args.seeds_only else args.corpora, args.per_file)
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
