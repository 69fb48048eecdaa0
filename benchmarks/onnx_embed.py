"""Benchmark: the ONNX embed backends (``onnx``, fp32, the default; ``onnx-int8``) against
sentence-transformers on torch.

Prints one JSON line per backend (``name`` embed_onnx_fp32 / embed_onnx_int8, ``baseline_s``,
``ours_s``, ``ratio``, ``min_cosine``, ``mean_cosine``, ...); progress goes to stderr. Baseline:
``SentenceTransformer.encode(texts, batch_size=32, prompt_name="query")``, normalised;
ours: ``OnnxEncoder(..., precision=...).encode`` with the same arguments. Both run on the same
~500 texts (seed sentences + IWSLT'15 tst2013 vi/en lines, see run.py's ``embed_texts``). Model
loading, the one-off ONNX export and quantisation (``export_s``) and a warm-up are not timed;
rounds run in ABBA order and the best time of each side is kept.

    .venv/bin/python benchmarks/onnx_embed.py [--texts 500] [--rounds 2] [--model PATH]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from run import ROOT, embed_texts, log, peak_rss_mb, record  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2, help="ABBA pairs of timed runs")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--model", default=str(ROOT / "models" / "multilingual-e5-small"))
    parser.add_argument("--precisions", default="fp32,int8")
    args = parser.parse_args(argv)
    for precision in args.precisions.split(","):
        print(json.dumps(measure(args, precision), ensure_ascii=False), flush=True)
    return 0


def measure(args: argparse.Namespace, precision: str) -> dict:
    name = f"embed_onnx_{precision}"

    import numpy as np

    from pipeline.models.embedding import load_sentence_transformer
    from pipeline.models.onnx_embedding import OnnxEncoder

    texts, data = embed_texts(args.texts)
    kwargs = {"prompt_name": "query", "batch_size": args.batch_size,
              "normalize_embeddings": True, "convert_to_numpy": True, "show_progress_bar": False}
    log(f"{name}: {len(texts)} texts ({data})")
    torch_model = load_sentence_transformer(args.model)
    cache = Path(tempfile.mkdtemp(prefix="qt-bench-onnx-"))
    try:
        start = time.perf_counter()
        encoder = OnnxEncoder(Path(args.model), cache, precision=precision)
        export_s = time.perf_counter() - start
        log(f"{name}: export {export_s:.1f} s")
        onnx_mb = encoder.onnx_path.stat().st_size / 2**20
        fp32_mb = (encoder.onnx_path.parent / "model.onnx").stat().st_size / 2**20
        torch_model.encode(texts[:32], **kwargs)  # warm-up, untimed
        encoder.encode(texts[:32], **kwargs)

        def timed(side: str) -> tuple[float, np.ndarray]:
            start = time.perf_counter()
            if side == "torch":
                vectors = torch_model.encode(texts, **kwargs)
            else:
                vectors = encoder.encode(texts, **kwargs)
            return time.perf_counter() - start, np.asarray(vectors, dtype=np.float32)

        times: dict[str, list[float]] = {"torch": [], "onnx": []}
        vectors: dict[str, np.ndarray] = {}
        for _ in range(args.rounds):
            for side in ("torch", "onnx", "onnx", "torch"):
                seconds, vectors[side] = timed(side)
                times[side].append(round(seconds, 4))
                log(f"{name}: {side} {seconds:.2f} s")
        cos = (vectors["torch"] * vectors["onnx"]).sum(axis=1)
        result = record(
            name, min(times["torch"]), min(times["onnx"]),
            min_cosine=round(float(cos.min()), 5), mean_cosine=round(float(cos.mean()), 5),
            p01_cosine=round(float(np.quantile(cos, 0.01)), 5),
            export_s=round(export_s, 2), texts=len(texts), data=data,
            baseline_s_all=times["torch"], ours_s_all=times["onnx"],
            onnx_mb=round(onnx_mb, 1), onnx_fp32_mb=round(fp32_mb, 1),
            threads=encoder.session.get_session_options().intra_op_num_threads,
            peak_rss_mb=peak_rss_mb(),
            baseline="SentenceTransformer.encode (torch fp32)",
            ours=f"OnnxEncoder {precision}" + (" (dynamic, per-channel MatMul weights)"
                                               if precision == "int8" else " (the default)"),
        )
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
