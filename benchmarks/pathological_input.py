"""Pathological-input benchmark: a 50 MB one-line file and 200,000 one-sentence lines.

    python benchmarks/pathological_input.py             # 50 MB and 200k lines (a few minutes)
    python benchmarks/pathological_input.py --quick     # 5 MB and 20k lines, a smoke test

Hostile input used to find cost cliffs that normal articles never reach: one line of 50 MB
(blingfire's buffers, per-character lists in clean and in the quotation blanking, a dict per
sentence) and one document of 200,000 short lines (quotes counted the newlines before every
sentence from the start of the text, so its time grew with lines²).

The inputs are built in a temporary folder from the seed articles' sentences (seeds/*.txt,
shuffled with a fixed seed; sentences matching clean's drop patterns are left out, because
"Image: …" drops the rest of its line, which would be the whole file here):

- ``single-line.txt``: sentences joined with spaces up to 50 MB, no newline;
- ``sentence-lines.txt``: the same text with a newline after every sentence (the baseline);
- ``lines-200000.txt`` and ``lines-20000.txt``: one sentence a line (the smaller is the
  baseline that shows linear growth).

Each is one ``python -m pipeline.cli run`` subprocess into a fresh output folder (no cache),
measured as in benchmarks/scale.py: peak summed RSS of the process tree (sampled from /proc
every 0.25 s) and per-stage seconds from the job's manifest.json. The config embeds with the
hashing backend, has no translation, one language and ``align.pairs: cross_language``: with one
document stories would otherwise compare every sentence with every other one (quadratic, and
not what this benchmark measures).

JSON lines on stdout (progress on stderr):

- ``pathological_single_line``: ``peak_rss_mb`` of the one-line job (goal: under
  ``goal_peak_rss_mb``), ``ratio`` = that peak / the peak of the same text one sentence a line
  (1: a long line costs nothing extra), ``peak_rss_per_input_byte``, and per-stage seconds;
- ``pathological_many_lines``: ``quotes_s`` of the 200k-line job (goal: under
  ``goal_quotes_s``), ``ratio`` = quotes_s / quotes_s of the 20k-line job (10: linear; 100:
  quadratic), ``quotes_per_segment`` = quotes_s / segment_s of the same job.

A job that fails or runs past ``--timeout`` has ``error`` and the stages its run.log reports.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import ROOT, logged_stages, run_measured  # a script beside this one

Record = dict[str, Any]
SEEDS = ROOT / "seeds"
GOAL_PEAK_RSS_MB = 2048
GOAL_QUOTES_S = 40.0
CONFIG = """\
job: pathological
inputs: [{input}]
ingest: {{metadata: null}}
detect: {{languages: [en]}}
translate: {{enabled: false}}
embed: {{backend: hashing, hashing_dim: 384, cache_dir: {cache}}}
align: {{pairs: cross_language}}
"""


def log(message: str) -> None:
    print(f"[bench-pathological] {message}", file=sys.stderr, flush=True)


def seed_sentences() -> list[str]:
    """English sentences of the seed articles (4+ words), without text clean would drop."""
    sentences = []
    for path in sorted(SEEDS.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            for sentence in re.split(r"(?<=[.!?\"”])\s+", line.strip()):
                if len(sentence.split()) >= 4 and not re.search(r"Image:|Share|https?://",
                                                                sentence):
                    sentences.append(sentence)
    return sentences


def build_inputs(folder: Path, megabytes: float, lines: int) -> dict[str, Path]:
    """The four input files (module doc), from a fixed random stream."""
    rng = random.Random(10)
    pool = seed_sentences()
    budget, chosen, size = int(megabytes * 1_000_000), [], 0
    while True:
        sentence = rng.choice(pool)
        if size + len(sentence.encode()) + 1 > budget:
            break
        chosen.append(sentence)
        size += len(sentence.encode()) + 1
    files = {"single-line": folder / "single-line.txt",
             "sentence-lines": folder / "sentence-lines.txt"}
    files["single-line"].write_text(" ".join(chosen), encoding="utf-8")
    files["sentence-lines"].write_text("\n".join(chosen), encoding="utf-8")
    for count in (lines, lines // 10):
        path = folder / f"lines-{count}.txt"
        path.write_text("\n".join(rng.choice(pool) for _ in range(count)) + "\n",
                        encoding="utf-8")
        files[f"lines-{count}"] = path
    return files


def run_job(folder: Path, name: str, source: Path, timeout: float) -> Record:
    """One cold job on ``source``: measured wall seconds and peak RSS, per-stage seconds."""
    config = folder / f"{name}.yaml"
    config.write_text(CONFIG.format(input=json.dumps(str(source)),
                                    cache=json.dumps(str(folder / f"cache-{name}"))),
                      encoding="utf-8")
    output = folder / f"out-{name}"
    command = [sys.executable, "-m", "pipeline.cli", "run", str(config), "--output", str(output),
               "--force"]
    log(f"{name}: {source.stat().st_size / 1e6:.1f} MB")
    measured = run_measured(command, folder / f"{name}.log", timeout)
    record: Record = {"input_bytes": source.stat().st_size, **measured}
    manifest = output / "manifest.json"
    if measured["returncode"] != 0 or not manifest.is_file():
        finished = logged_stages(output / "run.log")
        tail = (folder / f"{name}.log").read_text(encoding="utf-8", errors="replace")[-1500:]
        record.update(error=("timed out" if measured["timed_out"]
                             else f"exit code {measured['returncode']}") + f": {tail}",
                      stage_seconds={s["stage"]: s["seconds"] for s in finished},
                      failed_after=finished[-1]["stage"] if finished else None)
        log(f"{name}: failed after {record['failed_after']}")
        return record
    stages = json.loads(manifest.read_text(encoding="utf-8"))["stages"]
    record["stage_seconds"] = {s["name"]: round(s["seconds"], 2) for s in stages}
    record["sentences"] = next((s["stats"]["sentences"] for s in stages
                                if "sentences" in s.get("stats", {})), None)
    log(f"{name}: {measured['seconds']:.1f}s, peak {measured['peak_rss_mb']} MB")
    return record


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def commit() -> str:
    """HEAD, with ``+dirty`` when pipeline/ has uncommitted changes (as in align_corpus.py)."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=False)
        return done.stdout.strip()

    return (git("rev-parse", "--short", "HEAD") or "unknown") + (
        "+dirty" if git("status", "--porcelain", "--", "pipeline") else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--megabytes", type=float, default=50.0,
                        help="size of the one-line file (ingest.max_bytes is 50 MB)")
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--quick", action="store_true", help="5 MB and 20,000 lines")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per job")
    parser.add_argument("--keep", type=Path, default=None,
                        help="build and run in this folder and keep it (default: a temp folder)")
    args = parser.parse_args()
    if args.quick:
        args.megabytes, args.lines = 5.0, 20_000
    with tempfile.TemporaryDirectory(prefix="bench-pathological-") as temporary:
        folder = args.keep or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        files = build_inputs(folder, args.megabytes, args.lines)
        jobs = {name: run_job(folder, name, path, args.timeout) for name, path in files.items()}
    common = {"commit": commit(), "load_1m": round(os.getloadavg()[0], 2),
              "cpus": os.cpu_count()}
    single, lines_job = jobs["single-line"], jobs["sentence-lines"]
    print(json.dumps({
        "name": "pathological_single_line", "input_mb": round(single["input_bytes"] / 1e6, 1),
        "peak_rss_mb": single["peak_rss_mb"], "goal_peak_rss_mb": GOAL_PEAK_RSS_MB,
        "ratio": _ratio(single["peak_rss_mb"], lines_job["peak_rss_mb"]),
        "baseline_peak_rss_mb": lines_job["peak_rss_mb"],
        "peak_rss_per_input_byte": _ratio(single["peak_rss_mb"] * 2**20, single["input_bytes"]),
        "seconds": single["seconds"], "baseline_seconds": lines_job["seconds"],
        "sentences": single.get("sentences"), "stage_seconds": single.get("stage_seconds"),
        **{key: single[key] for key in ("error", "failed_after") if key in single},
        **({"baseline_error": lines_job["error"]} if "error" in lines_job else {}),
        **common}), flush=True)
    big, small = jobs[f"lines-{args.lines}"], jobs[f"lines-{args.lines // 10}"]
    quotes = big.get("stage_seconds", {}).get("quotes")
    small_quotes = small.get("stage_seconds", {}).get("quotes")
    print(json.dumps({
        "name": "pathological_many_lines", "lines": args.lines, "quotes_s": quotes,
        "goal_quotes_s": GOAL_QUOTES_S, "ratio": _ratio(quotes, small_quotes),
        "baseline_lines": args.lines // 10, "baseline_quotes_s": small_quotes,
        "quotes_per_segment": _ratio(quotes, big.get("stage_seconds", {}).get("segment")),
        "peak_rss_mb": big["peak_rss_mb"], "seconds": big["seconds"],
        "stage_seconds": big.get("stage_seconds"),
        **{key: big[key] for key in ("error", "failed_after") if key in big},
        **({"baseline_error": small["error"]} if "error" in small else {}),
        **common}), flush=True)


if __name__ == "__main__":
    main()
