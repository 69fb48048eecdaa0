"""The dataset card (``README.md``) of an exported job: the YAML header the Hugging Face hub
reads (languages, license, task categories, size, configs), then contents, loading code,
counts, provenance and the job's config."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pyarrow as pa
import yaml

from pipeline import __version__
from pipeline.inspect_outputs import SUMMARY_TABLES

#: The exported tables (the configs of the card).
TABLE_NAMES = ("pairs", "sentences", "quotes")

DESCRIPTIONS = {
    "pairs": "aligned sentence pairs across documents (one row per pair; 1-1, 1-2 or 2-1)",
    "sentences": "every sentence of every document, with language and English form",
    "quotes": "quotes and reported statements with their speaker and quote cluster",
}


def size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                         (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M"),
                         (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B")):
        if n < limit:
            return label
    return "n>1T" if n >= 10**12 else "1B<n<10B"


def data_files(fmt: str, langs: tuple[str, str] | None = None) -> dict[str, str]:
    """The file of each table, relative to the export folder (``{}`` for tables not written)."""
    if fmt in {"hf", "parquet"}:
        return {name: f"data/{name}.parquet" for name in TABLE_NAMES}
    if fmt == "jsonl":
        return {name: f"{name}.jsonl" for name in TABLE_NAMES}
    assert langs is not None
    return {f"pairs.{lang}": f"pairs.{lang}" for lang in langs}


def card_license(manifest: dict[str, Any]) -> str:
    """The dataset's license: the job config's ``license`` (an SPDX id or "other"), recorded in
    the manifest; "other" when the job set none (or ran before the key existed)."""
    return (manifest.get("config") or {}).get("license") or "other"


def dataset_card(manifest: dict[str, Any], tables: dict[str, pa.Table], source: dict[str, Any],
                 fmt: str, min_score: float | None, langs: tuple[str, str] | None) -> str:
    """The dataset card: the hub's YAML header, then contents, counts, provenance and config."""
    config = manifest.get("config") or {}
    job = manifest.get("job") or config.get("job") or "job"
    pairs, sentences = tables["pairs"], tables["sentences"]
    languages = list(langs) if fmt == "bitext" and langs else sorted(
        {x for x in sentences.column("lang").to_pylist() if x})
    files = data_files(fmt, langs)
    header: dict[str, Any] = {
        "language": languages,
        "license": card_license(manifest),
        "pretty_name": f"quotetrace {job}",
        "task_categories": ["translation", "sentence-similarity"],
        "size_categories": [size_category(pairs.num_rows)],
        "tags": ["quotetrace", "parallel-corpus", "comparable-corpus", "news", "quotes"],
    }
    if fmt != "bitext":
        header["configs"] = [
            {"config_name": name, **({"default": True} if name == "pairs" else {}),
             "data_files": [{"split": "train", "path": files[name]}]}
            for name in TABLE_NAMES]
    lines = ["---", yaml.safe_dump(header, sort_keys=False, allow_unicode=True).rstrip(), "---",
             "", f"# quotetrace {job}", "",
             f"Sentences aligned across the {source['documents']} news documents of the "
             f"quotetrace job `{job}`, in {', '.join(languages) or 'no language'}: statements "
             "and quotes that several outlets (and languages) report, with their alignment "
             "scores, plus the sentences and attributed quotes they come from.", ""]

    lines += ["## Contents", ""]
    if fmt == "bitext":
        first, second = langs or ("", "")
        lines += [f"- `pairs.{first}` / `pairs.{second}`: {pairs.num_rows} aligned pairs, one "
                  f"per line, line *i* of one file translating line *i* of the other (the "
                  f"{first}-{second} pairs of the job; two sentences of a 2-1 or 1-2 pair are "
                  "joined with a space)."]
    else:
        lines += ["| config | rows | columns | description |", "|---|---|---|---|"]
        for name in TABLE_NAMES:
            columns = ", ".join(f"`{c}`" for c in tables[name].column_names)
            lines.append(f"| `{name}` (`{files[name]}`) | {tables[name].num_rows} | {columns} | "
                         f"{DESCRIPTIONS[name]} |")
        lines += ["", "`sent_id` is `<doc_id>:<sentence index, 4 digits>`; in `pairs`, "
                  "`doc_a < doc_b`, `kind` is `1-1`, `1-2` or `2-1` (sentences on side a - side "
                  "b), `score` is the combined similarity and `margin` its ratio margin. "
                  "`pair_id` numbers the job's pairs before any `--min-score` filter."]
    lines += ["", "## Loading", "", "```python"]
    if fmt == "hf":
        lines += ["from datasets import load_dataset, load_from_disk", "",
                  'pairs = load_from_disk("hf")["pairs"]',
                  'pairs = load_dataset("parquet", data_files="data/pairs.parquet")["train"]']
    elif fmt == "parquet":
        lines += ["from datasets import load_dataset", "",
                  'pairs = load_dataset("parquet", data_files="data/pairs.parquet")["train"]']
    elif fmt == "jsonl":
        lines += ["from datasets import load_dataset", "",
                  'pairs = load_dataset("json", data_files="pairs.jsonl")["train"]']
    else:
        first, second = langs or ("", "")
        lines += [f'src = open("pairs.{first}", encoding="utf-8").read().splitlines()',
                  f'tgt = open("pairs.{second}", encoding="utf-8").read().splitlines()']
    lines += ["```", ""]

    lang_pairs = Counter(f"{a}-{b}" for a, b in zip(pairs.column("lang_a").to_pylist(),
                                                    pairs.column("lang_b").to_pylist(),
                                                    strict=True))
    kinds = Counter(pairs.column("kind").to_pylist())
    by_lang = Counter(sentences.column("lang").to_pylist())
    threshold = f"score >= {min_score}" if min_score is not None else "none"
    lines += ["## Counts", "",
              f"- documents: {source['documents']}",
              f"- sentences: {sentences.num_rows} ("
              + ", ".join(f"{k}: {v}" for k, v in sorted(by_lang.items(), key=str)) + ")",
              f"- aligned pairs: {pairs.num_rows} of {source['alignments']} (filter: "
              f"{threshold})",
              "- pairs by languages: "
              + (", ".join(f"{k}: {v}" for k, v in sorted(lang_pairs.items())) or "none"),
              "- pairs by kind: "
              + (", ".join(f"{k}: {v}" for k, v in sorted(kinds.items())) or "none"),
              f"- quotes: {tables['quotes'].num_rows} in {source['clusters']} clusters", ""]
    if fmt == "bitext":
        lines.insert(-1, f"- bitext lines: {source['bitext_lines']}")

    models = manifest.get("models") or {}
    packages = manifest.get("packages") or {}
    lines += ["## How it was built", "",
              f"The job ran with quotetrace {packages.get('quotetrace', '?')}; this dataset was "
              f"exported by quotetrace {__version__} with `quotetrace export OUTPUT_DIR --format "
              f"{fmt}" + (f" --min-score {min_score}" if min_score is not None else "") + "`.",
              ""]
    for key in sorted(models):
        value = models[key]
        shown = ", ".join(value) if isinstance(value, list) else value
        lines.append(f"- model `{key}`: {shown or 'none'}")
    if manifest.get("config_hash"):
        lines.append(f"- config hash: `{manifest['config_hash']}`")
    for name, digest in sorted((manifest.get("files") or {}).items()):
        if name.removesuffix(".parquet") in SUMMARY_TABLES:
            lines.append(f"- source `{name}` sha256 `{digest}`")
    lines += ["", "## Job config", "", "```yaml",
              yaml.safe_dump(config, sort_keys=True, allow_unicode=True).rstrip() if config
              else "# (no manifest.json config)", "```", ""]
    return "\n".join(lines)
