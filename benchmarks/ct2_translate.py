"""Benchmark: CTranslate2 int8 (Ct2Translator) against transformers (Translator) translation.

Prints one JSON line (``name``, ``baseline_s``, ``ours_s``, ``ratio`` = baseline / ours, ...),
progress on stderr. The model is a random MarianMT the size of Helsinki-NLP/opus-mt-* (d_model
512, 6+6 layers, 8 heads, ffn 2048), built in a temporary folder with the tiny Marian's
sentencepiece tokenizer, so it runs offline. Conversion happens before timing; both sides
translate the same sentences with the same batch size and max_length, greedy.

    python benchmarks/ct2_translate.py [--sentences 200] [--max-length 64] [--compute-type int8]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS_VI = ROOT.parent / "shared" / "corpora" / "iwslt15_envi_tst2013" / "tst2013.raw.vi"
MODEL_DESCRIPTION = "random opus-mt-sized MarianMT (d_model 512, 6+6 layers, 8 heads, ffn 2048)"
OPUS_MT_SIZE = {
    "d_model": 512, "encoder_layers": 6, "decoder_layers": 6, "encoder_attention_heads": 8,
    "decoder_attention_heads": 8, "encoder_ffn_dim": 2048, "decoder_ffn_dim": 2048,
}

for _name, _value in (("HF_HUB_OFFLINE", "1"), ("HF_DATASETS_OFFLINE", "1"),
                      ("TOKENIZERS_PARALLELISM", "false")):
    os.environ.setdefault(_name, _value)
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def build_opus_mt_sized_marian(out_dir: Path) -> Path:
    """The tiny Marian's tokenizer and configs, with the model re-initialised at opus-mt size."""
    import torch
    from transformers import MarianConfig, MarianMTModel

    from tests.tiny_models import build_tiny_marian

    build_tiny_marian(out_dir)
    config = MarianConfig.from_pretrained(out_dir)
    for key, value in OPUS_MT_SIZE.items():
        setattr(config, key, value)
    config.init_std = 0.02  # the tiny model's wide init is for tests; keep a realistic scale
    torch.manual_seed(0)
    tiny = MarianMTModel.from_pretrained(out_dir)
    model = MarianMTModel(config).eval()
    model.generation_config = tiny.generation_config
    model.save_pretrained(out_dir)
    return out_dir


def sentences(count: int) -> tuple[list[str], str]:
    """``count`` Vietnamese lines of IWSLT tst2013 when present, else the seed sentences."""
    if CORPUS_VI.exists():
        lines = [line.strip() for line in CORPUS_VI.read_text(encoding="utf-8").splitlines()]
        lines = [line for line in lines if line]
        if len(lines) >= count:
            return lines[:count], "iwslt15 tst2013.raw.vi"
    from benchmarks.run import seed_sentences

    seeds = seed_sentences()
    return [seeds[i % len(seeds)] for i in range(count)], "seed sentences"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=200)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--compute-type", default="int8")
    args = parser.parse_args()

    from pipeline.models.ct2_translation import load_ct2_translator
    from pipeline.models.translation import load_translator

    texts, source = sentences(args.sentences)
    options = {"batch_size": args.batch_size, "max_length": args.max_length}
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = build_opus_mt_sized_marian(Path(tmp) / "marian")
        log(f"built {MODEL_DESCRIPTION} in {model_dir}")
        baseline = load_translator(str(model_dir), **options)
        ours = load_ct2_translator(str(model_dir), compute_type=args.compute_type,
                                   cache_dir=Path(tmp) / "ct2", **options)
        # Warm up both (first-call allocations, thread pools) on a few texts.
        baseline.translate(texts[:4])
        ours.translate(texts[:4])
        start = time.perf_counter()
        reference = baseline.translate(texts)
        baseline_s = time.perf_counter() - start
        log(f"transformers: {baseline_s:.2f} s")
        start = time.perf_counter()
        output = ours.translate(texts)
        ours_s = time.perf_counter() - start
        log(f"ctranslate2 {args.compute_type}: {ours_s:.2f} s")
    import ctranslate2
    import torch

    agreement = sum(a == b for a, b in zip(reference, output, strict=True)) / len(texts)
    print(json.dumps({
        "name": f"translate_ct2_{args.compute_type}",
        "baseline_s": round(baseline_s, 4),
        "ours_s": round(ours_s, 4),
        "ratio": round(baseline_s / ours_s, 3) if ours_s > 0 else None,
        "sentences": len(texts),
        "source": source,
        "max_length": args.max_length,
        "batch_size": args.batch_size,
        "model": MODEL_DESCRIPTION,
        "exact_agreement": round(agreement, 3),
        "ctranslate2": ctranslate2.__version__,
        "torch_threads": torch.get_num_threads(),
        "load_1m": round(os.getloadavg()[0], 2),
    }), flush=True)


if __name__ == "__main__":
    main()
