"""Scale benchmark: the whole pipeline on 1k, 10k and 100k real-text documents, per executor.

    python benchmarks/scale.py                                   # make bench-scale
    python benchmarks/scale.py --sizes 1000,10000 --executors local

For each size it builds (or reuses) ``outputs/scale-corpus-N/`` with benchmarks/scale_corpus.py,
then runs ``quotetrace run configs/scale.yaml`` on it in a subprocess per executor, into
``outputs/scale-N-EXECUTOR[-TAG]/`` (emptied first, with the embedding model's vector cache
inside it, ``embed.cache_dir``: every run is cold, whatever the backend). It prints
one JSON line per stage (``scale_stage``, from the job's manifest.json), one per run
(``scale_job``: wall seconds of the subprocess, import time included, and the peak resident
memory of its whole process tree, sampled from /proc) and one ``scale_growth`` per executor
with at least two sizes: the least-squares slope of log(seconds) against log(documents)
(1 = linear). It ends with one line per fast backend (``embed_onnx_int8``,
``translate_ct2_int8``) whose ``ratio`` is measured against the plain baseline in the same run
(``--no-backends`` skips them). A run that fails or times out prints a ``scale_job`` line
with ``error``. Every line also goes to ``outputs/bench-scale.jsonl``. Progress goes to
stderr. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "scale.yaml"
QUOTETRACE = ROOT / ".venv" / "bin" / "quotetrace"
RESULTS = ROOT / "outputs" / "bench-scale.jsonl"
PAGE = os.sysconf("SC_PAGE_SIZE")

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scale_corpus  # noqa: E402  (a script beside this one, not a package)

Record = dict[str, Any]


def log(message: str) -> None:
    print(f"[bench-scale] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------- peak memory


def _process_tree(root: int) -> list[int]:
    """``root`` and every live descendant (from the parent ids in /proc/<pid>/stat)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])  # fields after "(comm)"
        children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def tree_rss_bytes(root: int) -> int:
    total = 0
    for pid in _process_tree(root):
        try:
            with open(f"/proc/{pid}/statm", "rb") as handle:
                total += int(handle.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
    return total


class TreeMemory:
    """Samples the summed RSS of a process tree every ``interval`` seconds in a thread."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self.pid, self.interval, self.peak = pid, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss_bytes(self.pid))
            self._stop.wait(self.interval)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return round(self.peak / 2**20, 1)


def run_measured(command: list[str], log_path: Path, timeout: float) -> Record:
    """Run ``command`` (output to ``log_path``); wall seconds, exit status and peak memory:
    ``peak_rss_mb`` sums the tree's processes (sampled), ``max_process_rss_mb`` is the largest
    single process (the kernel's ru_maxrss over the child and its reaped descendants)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false", "COLUMNS": "120"}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w", encoding="utf-8") as output:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        memory = TreeMemory(process.pid)
        timed_out = False
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid == process.pid:
                break
            if time.perf_counter() - started > timeout:
                timed_out = True
                os.killpg(process.pid, signal.SIGKILL)  # the job's own process group
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.1)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        peak = memory.stop()
    return {"seconds": round(seconds, 3), "returncode": process.returncode,
            "timed_out": timed_out, "peak_rss_mb": peak,
            "max_process_rss_mb": round(usage.ru_maxrss / 1024, 1)}


# --------------------------------------------------------------------------------------- runs


def executor_flag_supported() -> bool:
    done = subprocess.run([str(QUOTETRACE), "run", "--help"], cwd=ROOT, capture_output=True,
                          text=True, check=False, env={**os.environ, "COLUMNS": "200"})
    return "--executor" in done.stdout


def job_command(corpus: Path, output: Path, executor: str, has_flag: bool,
                settings: tuple[str, ...] | list[str] = ()) -> list[str]:
    """``quotetrace run configs/scale.yaml`` on ``corpus``, then each ``--set`` of ``settings``
    (e.g. ``embed.backend=torch`` for the real model)."""
    command = [str(QUOTETRACE), "run", str(CONFIG.relative_to(ROOT)),
               "--input", str(corpus / "docs"), "--output", str(output), "--force",
               "--set", f"ingest.metadata={corpus / 'metadata.csv'}"]
    if has_flag:
        command += ["--executor", executor]
    elif executor != "local":
        command += ["--set", f"executor.name={executor}"]
    # the vector cache lives in the (emptied) job folder: no run reads another's vectors
    command += ["--set", f"embed.cache_dir={output / 'embedding-cache'}"]
    for setting in settings:
        command += ["--set", setting]
    return command


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


_STAGE_LINE = re.compile(r" INFO stage (\w+): ([0-9.]+)s( \(cached\))? (\{.*\})$")


def logged_stages(run_log: Path) -> list[Record]:
    """``stage``, ``seconds``, ``cached`` and ``stats`` of each stage the job's run.log reports
    as finished (its "stage NAME: 1.23s {...}" lines)."""
    stages = []
    try:
        text = run_log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    for line in text.splitlines():
        match = _STAGE_LINE.search(line)
        if match:
            try:
                stats = json.loads(match.group(4))
            except json.JSONDecodeError:
                stats = {}
            stages.append({"stage": match.group(1), "seconds": float(match.group(2)),
                           "cached": bool(match.group(3)), "stats": stats})
    return stages


def bench_job(corpus: Path, documents: int, executor: str, has_flag: bool,
              timeout: float, settings: tuple[str, ...] | list[str] = (), tag: str = ""
              ) -> list[Record]:
    output = ROOT / "outputs" / f"scale-{documents}-{executor}{'-' + tag if tag else ''}"
    command = job_command(corpus.relative_to(ROOT), output.relative_to(ROOT), executor, has_flag,
                          settings)
    log(f"{documents} documents, {executor}: {' '.join(command[1:])}")
    shutil.rmtree(output, ignore_errors=True)  # cold: its embedding cache goes too
    measured = run_measured(command, output.with_name(output.name + ".log"), timeout)
    base = {"executor": executor, "documents": documents,
            **({"tag": tag, "settings": list(settings)} if tag or settings else {})}
    manifest_path = output / "manifest.json"
    if measured["returncode"] != 0 or not manifest_path.is_file():
        why = (f"timed out after {timeout:.0f}s" if measured["timed_out"]
               else f"exit code {measured['returncode']}")
        log(f"{documents} documents, {executor}: failed ({why})")
        finished = logged_stages(output / "run.log")
        sentences = next((s["stats"]["sentences"] for s in finished
                          if "sentences" in s["stats"]), None)
        # The stages that finished before the failure, from the job's log (no memory there).
        lines = [{"name": "scale_stage", **stage, **base, "sentences": sentences,
                  "peak_rss_mb": None, "partial": True} for stage in finished]
        return [*lines, {"name": "scale_job", **base, "sentences": sentences, **measured,
                         "failed_after": finished[-1]["stage"] if finished else None,
                         "error": f"{why}: {_tail(output.with_name(output.name + '.log'))}"}]
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    summary = manifest["summary"]
    sentences = summary["sentences"]
    lines: list[Record] = []
    for stage in manifest["stages"]:
        lines.append({"name": "scale_stage", "stage": stage["name"], **base,
                      "sentences": sentences, "seconds": stage["seconds"],
                      "peak_rss_mb": stage.get("peak_rss_mb"), "cached": stage.get("cached"),
                      "stats": stage.get("stats", {})})
    stage_seconds = round(sum(stage["seconds"] for stage in manifest["stages"]), 3)
    lines.append({"name": "scale_job", **base, "sentences": sentences, **measured,
                  "stage_seconds": stage_seconds,
                  **{k: summary.get(k) for k in ("pairs", "quotes", "clusters", "translated")},
                  "load_1m": round(os.getloadavg()[0], 2)})
    log(f"{documents} documents, {executor}: {measured['seconds']:.1f}s wall, "
        f"{stage_seconds:.1f}s in stages, peak {measured['peak_rss_mb']} MB")
    return lines


def fitted_exponent(sizes: list[int], seconds: list[float]) -> float | None:
    """Least-squares slope of log(seconds) on log(size)."""
    points = [(math.log(n), math.log(s)) for n, s in zip(sizes, seconds, strict=True) if s > 0]
    if len(points) < 2:
        return None
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return None
    return round(sum((x - mean_x) * (y - mean_y) for x, y in points) / spread, 3)


def growth_lines(jobs: list[Record]) -> list[Record]:
    lines = []
    for executor in dict.fromkeys(job["executor"] for job in jobs):
        done = sorted((j for j in jobs if j["executor"] == executor and "error" not in j),
                      key=lambda j: j["documents"])
        if len(done) < 2:
            continue
        sizes = [j["documents"] for j in done]
        lines.append({
            "name": "scale_growth", "executor": executor, "sizes": sizes,
            "exponent": fitted_exponent(sizes, [j["stage_seconds"] for j in done]),
            "exponent_wall": fitted_exponent(sizes, [j["seconds"] for j in done]),
            "stage_seconds": [j["stage_seconds"] for j in done],
            "wall_seconds": [j["seconds"] for j in done],
        })
    return lines


def corpus_for(documents: int, args: argparse.Namespace) -> tuple[Path, Record]:
    corpus = ROOT / "outputs" / f"scale-corpus-{documents}"
    corpora = None if args.seeds_only else args.corpora
    params = scale_corpus.build_params(documents, args.seed, corpora)
    started = time.perf_counter()
    summary = scale_corpus.cached_summary(corpus, params)
    cached = summary is not None
    if summary is None:
        log(f"building {corpus.relative_to(ROOT)}")
        summary = scale_corpus.build_corpus(corpus, documents, args.seed, corpora)
    else:
        log(f"reusing {corpus.relative_to(ROOT)} (same parameters)")
    return corpus, {"name": "scale_corpus", "documents": documents,
                    "sentences": summary["sentences"], "stories": summary["stories"],
                    "languages": summary["languages"], "shared_corpora": summary["shared_corpora"],
                    "seconds": round(time.perf_counter() - started, 3), "cached": cached}


BACKEND_BENCHMARKS = ["onnx_embed.py", "ct2_translate.py"]


def backend_lines(timeout: float) -> list[Record]:
    """Each fast backend against its plain baseline, both timed in the same run (the
    benchmarks beside this script); their last JSON line carries the ``ratio``."""
    lines: list[Record] = []
    for script in BACKEND_BENCHMARKS:
        log(f"backend benchmark {script}")
        try:
            done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script)],
                                  capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            lines.append({"name": "scale_backend", "script": script, "error": "timed out"})
            continue
        records = [json.loads(row) for row in done.stdout.splitlines() if row.startswith("{")]
        if done.returncode != 0 or not records:
            lines.append({"name": "scale_backend", "script": script,
                          "error": f"exit code {done.returncode}: {done.stderr[-2000:]}"})
            continue
        lines.append({**records[-1], "benchmark": script})
    return lines


def _int_list(value: str) -> list[int]:
    return [int(part) for part in value.split(",") if part.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=_int_list, default=[1000, 10_000, 100_000],
                        help="documents per run, comma-separated (default 1000,10000,100000)")
    parser.add_argument("--executors", default="local,ray",
                        help="comma-separated executors to run (default local,ray)")
    parser.add_argument("--ray-max", type=int, default=10_000, metavar="N",
                        help="run the ray executor only up to this many documents (default 10000)")
    parser.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    parser.add_argument("--corpora", type=Path, default=scale_corpus.SHARED_CORPORA,
                        help="the shared corpora folder (default ../shared/corpora)")
    parser.add_argument("--seeds-only", action="store_true",
                        help="build the corpora from the seed articles only")
    parser.add_argument("--timeout", type=float, default=2700, metavar="SECONDS",
                        help="give up on one run after this long (default 2700)")
    parser.add_argument("--no-backends", dest="backends", action="store_false",
                        help="skip the fast-backend ratios (ONNX embed, CTranslate2 translate)")
    parser.add_argument("--set", dest="settings", action="append", default=[],
                        metavar="SECTION.KEY=VALUE",
                        help="passed to every job as quotetrace run --set (repeatable), e.g. "
                             "embed.backend=torch for the real embedding model")
    parser.add_argument("--tag", default="", help="job folders are scale-N-EXECUTOR-TAG, and "
                        "job and stage lines carry the tag (letters, digits, - and _)")
    parser.add_argument("--results", type=Path, default=RESULTS,
                        help="also write the JSON lines here (default outputs/bench-scale.jsonl)")
    args = parser.parse_args(argv)
    if args.tag and not re.fullmatch(r"[A-Za-z0-9_-]+", args.tag):
        parser.error(f"--tag {args.tag!r}: use letters, digits, - and _ only")
    executors = [name.strip() for name in args.executors.split(",") if name.strip()]
    unknown = set(executors) - {"local", "ray"}
    if unknown:
        parser.error(f"--executors: unknown {', '.join(sorted(unknown))}; valid: local, ray")
    if not QUOTETRACE.is_file():
        parser.error(f"{QUOTETRACE} not found: run `make install` first")
    os.chdir(ROOT)

    started = time.perf_counter()
    args.results.parent.mkdir(parents=True, exist_ok=True)
    partial = args.results.with_name(args.results.name + ".partial")
    has_flag = executor_flag_supported()
    jobs: list[Record] = []
    with partial.open("w", encoding="utf-8") as results:

        def emit(line: Record) -> None:
            text = json.dumps(line, ensure_ascii=False, default=str)
            print(text, flush=True)
            results.write(text + "\n")
            results.flush()

        for documents in sorted(args.sizes):
            corpus, corpus_line = corpus_for(documents, args)
            emit(corpus_line)
            for executor in executors:
                if executor == "ray" and documents > args.ray_max:
                    log(f"{documents} documents, ray: skipped (--ray-max {args.ray_max})")
                    continue
                for line in bench_job(corpus, documents, executor, has_flag, args.timeout,
                                      args.settings, args.tag):
                    emit(line)
                    if line["name"] == "scale_job":
                        jobs.append(line)
        for line in growth_lines(jobs):
            emit(line)
        if args.backends:
            for line in backend_lines(args.timeout):
                emit(line)
    partial.replace(args.results)
    log(f"done in {time.perf_counter() - started:.1f}s; lines in {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
