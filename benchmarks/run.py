"""Benchmarks for quotetrace: one JSON line per benchmark on stdout, progress on stderr.

Every line has ``name``, ``baseline_s``, ``ours_s`` and ``ratio`` (``baseline_s / ours_s``: above
1 means ours is faster), plus benchmark-specific fields. Both sides run in the same process (or,
for ``seeds_job``, back to back) on the same data and model. See benchmarks/README.md.

    python benchmarks/run.py                 # everything (make bench)
    python benchmarks/run.py --quick         # align at 1k and 5k sentences only
    python benchmarks/run.py --only align    # a group (embed, align, seeds_job) or one name
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpora" / "iwslt15_envi_tst2013"
SEEDS_CONFIG = ROOT / "configs" / "seeds.yaml"

for _name, _value in (("HF_HUB_OFFLINE", "1"), ("HF_DATASETS_OFFLINE", "1"),
                      ("TOKENIZERS_PARALLELISM", "false")):
    os.environ.setdefault(_name, _value)
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

Record = dict[str, Any]


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def record(name: str, baseline_s: float, ours_s: float, **extra: Any) -> Record:
    return {"name": name, "baseline_s": round(baseline_s, 4), "ours_s": round(ours_s, 4),
            "ratio": round(baseline_s / ours_s, 3) if ours_s > 0 else None, **extra,
            "load_1m": round(os.getloadavg()[0], 2)}  # > CPU count: timings are contended


# --------------------------------------------------------------------------------------- embed


def seed_sentences() -> list[str]:
    """The seeds job's sentences (ingest → clean → segment in process; no model involved)."""
    from pipeline.config import load_config
    from pipeline.runner import run_stages

    job = load_config(SEEDS_CONFIG)
    tables = run_stages(job, ["ingest", "clean", "segment"])
    return tables["sentences"]["text"].tolist()


def embed_texts(count: int) -> tuple[list[str], str]:
    """``count`` distinct texts: seed sentences, then IWSLT en/vi lines (or numbered seeds)."""
    seeds = seed_sentences()
    texts: list[str] = []
    seen: set[str] = set()

    def add(text: str) -> None:
        key = unicodedata.normalize("NFC", text).strip()
        if key and key not in seen and len(texts) < count:
            seen.add(key)
            texts.append(key)

    for text in seeds:
        add(text)
    en, vi = CORPUS / "tst2013.raw.en", CORPUS / "tst2013.raw.vi"
    if en.is_file() and vi.is_file():
        lines_en = en.read_text(encoding="utf-8").splitlines()
        lines_vi = vi.read_text(encoding="utf-8").splitlines()
        for line_en, line_vi in zip(lines_en, lines_vi, strict=False):
            add(line_vi)
            add(line_en)
        data = f"{len(seeds)} seed sentences + iwslt15 tst2013 vi/en lines"
    else:
        data = f"{len(seeds)} seed sentences repeated with numeric suffixes (no iwslt15 corpus)"
    copy = 1
    while len(texts) < count:
        for text in seeds:
            add(f"{text} ({copy})")
        copy += 1
    return texts, data


def bench_embed(args: argparse.Namespace) -> Iterator[Record]:
    from sentence_transformers import SentenceTransformer

    from pipeline.config import EmbedConfig
    from pipeline.models.embedder import Embedder, EmbeddingCache
    from pipeline.models.paths import resolve_model

    config = EmbedConfig()  # the seeds job's embed section: e5-small, prompt "query", batch 32
    texts, data = embed_texts(args.embed_sentences)
    chars = sum(len(t) for t in texts)
    log(f"embed: {len(texts)} texts ({chars} chars) from {data}; model {config.model}")
    # Warm-up texts of many lengths (not benchmark texts), so both models have seen every shape.
    warmup = [f"warm-up {i}: " + "không phải câu của benchmark, " * (i % 16) for i in range(32)]

    with tempfile.TemporaryDirectory(prefix="qt-bench-embed-") as tmp:
        plain = SentenceTransformer(resolve_model(config.model), device="cpu")  # loaded once

        def encode(batch: list[str]) -> Any:
            return plain.encode(batch, batch_size=config.batch_size, normalize_embeddings=True,
                                prompt_name=config.prompt_name, show_progress_bar=False)

        ours = Embedder(config.model, config.prompt_name, config.batch_size, Path(tmp) / "warmup")
        for side in (lambda batch: ours.embed(batch), encode):  # loads ours' model (untimed)
            for start in range(0, len(warmup), 16):
                side(warmup[start:start + 16])
        # Time spent inside the model, so that our own overhead (hashing, sorting, cache
        # writes) can be reported apart from the encode time, which a busy machine blurs.
        in_model = [0.0]
        model_encode = ours.model.encode

        def timed_encode(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return model_encode(*args, **kwargs)
            finally:
                in_model[0] += time.perf_counter() - started

        ours.model.encode = timed_encode

        # Rounds in ABBA order, best time of each side: the machine may be busy and a process's
        # first large encode can be slower, so a fixed order would favour one side. Each of our
        # rounds starts from an empty cache folder (same model instance, no reload).
        baseline_times, cold_times, overheads = [], [], []
        for round_ in range(args.embed_rounds):
            order = ("baseline", "ours") if round_ % 2 == 0 else ("ours", "baseline")
            for side in order:
                log(f"embed: round {round_ + 1}/{args.embed_rounds}: {side}")
                if side == "baseline":
                    started = time.perf_counter()
                    baseline_vectors = encode(texts)
                    baseline_times.append(time.perf_counter() - started)
                    continue
                cache_root = Path(tmp) / f"round-{round_}"
                ours.cache = EmbeddingCache(cache_root / ours.cache.folder.name)
                computed_before, in_model[0] = ours.computed, 0.0
                started = time.perf_counter()
                cold_vectors = ours.embed(texts)
                cold_times.append(time.perf_counter() - started)
                overheads.append(cold_times[-1] - in_model[0])
                computed = ours.computed - computed_before
        baseline_s, cold_s = min(baseline_times), min(cold_times)

        log("embed: ours, warm cache (new Embedder over the last round's cache folder)")
        started = time.perf_counter()
        warm = Embedder(config.model, config.prompt_name, config.batch_size, cache_root)
        loaded_s = time.perf_counter() - started
        warm_vectors = warm.embed(texts)
        warm_s = time.perf_counter() - started
        cache_mb = sum(p.stat().st_size for p in cache_root.rglob("*")) / 2**20

    import numpy as np

    agreement = float(np.min(np.sum(baseline_vectors * cold_vectors, axis=1)))
    common = {"sentences": len(texts), "chars": chars, "data": data, "model": config.model,
              "batch_size": config.batch_size, "rounds": args.embed_rounds,
              "baseline_s_all": [round(t, 3) for t in baseline_times],
              "throughput_baseline": round(len(texts) / baseline_s, 2)}
    yield record("embed", baseline_s, cold_s, **common,
                 ours_s_all=[round(t, 3) for t in cold_times],
                 throughput_ours=round(len(texts) / cold_s, 2), embedded_ours=computed,
                 ours_outside_model_s=round(min(overheads), 4),
                 min_cosine_ours_vs_baseline=round(agreement, 6), peak_rss_mb=peak_rss_mb())
    yield record("embed_warm", baseline_s, warm_s, **common,
                 throughput_ours=round(len(texts) / warm_s, 2), embedded_ours=warm.computed,
                 cache_load_s=round(loaded_s, 4), cache_mb=round(cache_mb, 2),
                 identical_to_cold=bool(np.array_equal(warm_vectors, cold_vectors)),
                 baseline_note="the embed line's baseline (same run, same texts)",
                 peak_rss_mb=peak_rss_mb())


# --------------------------------------------------------------------------------------- align

DIM = 384
VOCAB = 20_000
NAIVE_THRESHOLD = 0.85


def _unit(x: Any) -> Any:
    import numpy as np

    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def synthetic_pair(n: int, seed: int) -> dict[str, Any]:
    """Two documents of ``n/2`` sentences each; half of B are noisy, shuffled copies of A rows.

    Embeddings mimic e5 on one-topic news: a shared direction (with a per-sentence weight, so
    some sentences are "generic" hubs), a sub-topic direction and an individual one. Unrelated
    sentences then have cosine ≈ 0.72 (median), same-subtopic ones up to ≈ 0.85-0.9, planted
    copies ≈ 0.89 (median; 5th percentile ≈ 0.78). Texts are Zipfian word ids; a planted copy
    keeps 20-60% of its source's tokens (names, numbers, shared words) in shuffled order.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    size_a, size_b = n // 2, n - n // 2
    planted = size_b // 2
    topics = _unit(rng.standard_normal((max(8, n // 200), DIM)))
    mean = _unit(rng.standard_normal(DIM))

    def raw(count: int) -> Any:
        generic = rng.lognormal(0.0, 0.15, count)[:, None]
        topic = topics[rng.integers(0, len(topics), count)]
        return generic * mean + 0.35 * topic + 0.45 * _unit(rng.standard_normal((count, DIM)))

    xa = raw(size_a)
    source = rng.choice(size_a, planted, replace=False)
    noise = rng.uniform(0.3, 0.9, planted)[:, None]
    copies = xa[source] + noise * _unit(rng.standard_normal((planted, DIM)))
    xb = np.concatenate([copies, raw(size_b - planted)])

    probs = 1.0 / np.arange(1, VOCAB + 1) ** 1.1
    probs /= probs.sum()

    def sentences(count: int) -> list[Any]:
        lengths = rng.integers(8, 31, count)
        words = rng.choice(VOCAB, int(lengths.sum()), p=probs)
        return np.split(words, np.cumsum(lengths)[:-1])

    tokens_a = sentences(size_a)
    tokens_b = []
    for row in source:
        words = tokens_a[row].copy()
        drop = rng.random(len(words)) >= rng.uniform(0.2, 0.6)
        words[drop] = rng.choice(VOCAB, int(drop.sum()), p=probs)
        rng.shuffle(words)
        tokens_b.append(words)
    tokens_b += sentences(size_b - planted)

    order = rng.permutation(size_b)  # B's row r is generated row order[r]
    position = np.empty(size_b, dtype=np.int64)
    position[order] = np.arange(size_b)
    xb = xb[order]
    tokens_b = [tokens_b[i] for i in order]
    return {
        "ea": _unit(xa).astype(np.float32),
        "eb": _unit(xb).astype(np.float32),
        "texts_a": [" ".join(f"w{w}" for w in words) for words in tokens_a],
        "texts_b": [" ".join(f"w{w}" for w in words) for words in tokens_b],
        "pairs": set(zip(source.tolist(), position[:planted].tolist(), strict=True)),
    }


def run_ours(data: dict[str, Any]) -> tuple[list[Any], float]:
    """TF-IDF rows (as the align stage builds them) + align_pair; returns links, tfidf seconds."""
    import numpy as np

    from pipeline.alignlib import AlignParams, SideData, align_pair
    from pipeline.lexical import fit_lexicon, tfidf_rows

    started = time.perf_counter()
    texts_a, texts_b = data["texts_a"], data["texts_b"]
    lexical = tfidf_rows(texts_a + texts_b, fit_lexicon(texts_a + texts_b))
    tfidf_s = time.perf_counter() - started
    side_a = SideData(data["ea"], lexical[:len(texts_a)],
                      np.array([len(t) for t in texts_a], dtype=np.float32))
    side_b = SideData(data["eb"], lexical[len(texts_a):],
                      np.array([len(t) for t in texts_b], dtype=np.float32))
    return align_pair(side_a, side_b, AlignParams()), tfidf_s


def run_naive(data: dict[str, Any]) -> set[tuple[int, int]]:
    """All-pairs cosine, mutual argmax, fixed threshold: the naive bitext miner."""
    import numpy as np

    scores = data["ea"] @ data["eb"].T
    best_b = scores.argmax(axis=1)
    best_a = scores.argmax(axis=0)
    rows = np.arange(scores.shape[0])
    keep = (best_a[best_b] == rows) & (scores[rows, best_b] >= NAIVE_THRESHOLD)
    return set(zip(rows[keep].tolist(), best_b[keep].tolist(), strict=True))


def traced_peak_mb(function: Callable[[], Any]) -> float:
    """Peak Python + NumPy allocation of ``function()`` (tracemalloc, in a separate run)."""
    tracemalloc.start()
    try:
        function()
        return round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    finally:
        tracemalloc.stop()


def best_of(repeats: int, function: Callable[[], Any]) -> tuple[float, Any]:
    """Shortest wall time of ``repeats`` calls, and the last call's result."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - started)
    return best, result


def bench_align(n: int) -> Record:
    log(f"align_{n // 1000}k: generating {n} sentences")
    data = synthetic_pair(n, seed=n)
    pairs = data["pairs"]
    run_naive({"ea": data["ea"][:8], "eb": data["eb"][:8]})  # warm-up (imports, BLAS)
    run_ours({**data, **{k: data[k][:8] for k in ("ea", "eb", "texts_a", "texts_b")}})

    repeats = 3 if n <= 5000 else 1  # best of 3 where one run is short and noisy

    log(f"align_{n // 1000}k: baseline (best of {repeats})")
    baseline_s, naive = best_of(repeats, lambda: run_naive(data))
    log(f"align_{n // 1000}k: ours (best of {repeats})")
    ours_s, (links, tfidf_s) = best_of(repeats, lambda: run_ours(data))

    found = {(i, j) for link in links for i in link.a for j in link.b} & pairs
    correct = sum(any((i, j) in pairs for i in link.a for j in link.b) for link in links)
    log(f"align_{n // 1000}k: peak memory (tracemalloc, untimed second run of each)")
    return record(
        f"align_{n // 1000}k", baseline_s, ours_s,
        sentences=n, planted_pairs=len(pairs), repeats=repeats,
        recall_ours=round(len(found) / len(pairs), 4),
        recall_baseline=round(len(naive & pairs) / len(pairs), 4),
        precision_ours=round(correct / len(links), 4) if links else None,
        precision_baseline=round(len(naive & pairs) / len(naive), 4) if naive else None,
        links_ours=len(links), links_baseline=len(naive),
        tfidf_s=round(tfidf_s, 4), align_pair_s=round(ours_s - tfidf_s, 4),
        baseline_threshold=NAIVE_THRESHOLD,
        peak_mb_ours=traced_peak_mb(lambda: run_ours(data)),
        peak_mb_baseline=traced_peak_mb(lambda: run_naive(data)),
    )


# ----------------------------------------------------------------------------------- seeds_job


def run_cli(output: Path) -> tuple[float, dict[str, Any]]:
    command = [str(Path(sys.executable).with_name("quotetrace")), "run", str(SEEDS_CONFIG),
               "--output", str(output)]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise RuntimeError(f"{' '.join(command)} failed with exit code {done.returncode}")
    manifest = json.loads((output / "manifest.json").read_text(encoding="utf-8"))
    return seconds, manifest


def bench_seeds_job(args: argparse.Namespace) -> Iterator[Record]:
    tmp = Path(tempfile.mkdtemp(prefix="qt-bench-seeds-"))
    try:
        output = tmp / "seeds"
        log("seeds_job: cold run (fresh output folder)")
        cold_s, cold = run_cli(output)
        log("seeds_job: warm run (same output folder)")
        warm_s, warm = run_cli(output)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    summary = warm["summary"]
    yield record(
        "seeds_job", cold_s, warm_s,
        baseline="cold run (fresh output dir)", ours="warm rerun (stage cache)",
        command="quotetrace run configs/seeds.yaml --output TMP (subprocess, incl. imports)",
        sentences=summary["sentences"], pairs=summary["pairs"],
        translated=summary["translated"], same_pairs=cold["summary"]["pairs"] == summary["pairs"],
        stage_seconds_cold=cold["summary"]["seconds"],
        stage_seconds_warm=summary["seconds"], cached_stages_warm=summary["cached"],
    )


# ---------------------------------------------------------------------------------------- main


def align_sizes(args: argparse.Namespace) -> list[int]:
    return [1000, 5000] if args.quick else [1000, 5000, 20_000]


def benchmarks(args: argparse.Namespace) -> list[tuple[list[str], Callable[[], Iterator[Record]]]]:
    """(names it prints, runner) in execution order."""
    entries: list[tuple[list[str], Callable[[], Iterator[Record]]]] = [
        (["embed", "embed_warm"], lambda: bench_embed(args)),
    ]
    for n in align_sizes(args):
        entries.append(([f"align_{n // 1000}k"], lambda n=n: iter([bench_align(n)])))
    entries.append((["seeds_job"], lambda: bench_seeds_job(args)))
    return entries


def selected(name: str, only: list[str]) -> bool:
    return not only or any(name == o or name.startswith(f"{o}_") for o in only)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="run only this benchmark or group (embed, embed_warm, align, "
                        "align_1k, align_5k, align_20k, seeds_job); repeatable, or comma-separated")
    parser.add_argument("--quick", action="store_true", help="align at 1k and 5k only")
    parser.add_argument("--embed-sentences", type=int, default=1000, metavar="N",
                        help="texts for the embed benchmarks (default 1000)")
    parser.add_argument("--embed-rounds", type=int, default=2, metavar="R",
                        help="baseline/ours rounds for embed, ABBA order; best of R (default 2)")
    args = parser.parse_args(argv)
    only = [name for value in args.only for name in value.split(",") if name]
    os.chdir(ROOT)

    entries = benchmarks(args)
    known = {name for names, _ in entries for name in names}
    unknown = [o for o in only if not any(selected(name, [o]) for name in known)]
    if unknown:
        parser.error(f"--only {', '.join(unknown)}: unknown; valid: align (group), "
                     f"{', '.join(sorted(known))}")

    started = time.perf_counter()
    for names, run in entries:
        if not any(selected(name, only) for name in names):
            continue
        for line in run():
            if selected(line["name"], only):
                print(json.dumps(line, ensure_ascii=False), flush=True)
    log(f"done in {time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
