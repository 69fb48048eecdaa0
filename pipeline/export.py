"""Export a finished job as a dataset: Hugging Face ``datasets``, Parquet, JSON Lines or bitext.

:func:`export` reads a job's output folder and writes three tables:

- ``pairs``: one aligned pair per row (``pair_id, doc_a, sent_ids_a, text_a, lang_a, doc_b,
  sent_ids_b, text_b, lang_b, score, margin, kind``; languages from ``sentences``),
- ``sentences``: the job's sentences table (contract columns),
- ``quotes``: the job's quotes with ``cluster_id`` from ``clusters``,

in one of four layouts under the target folder:

- ``hf``: ``hf/`` (a :class:`datasets.DatasetDict` saved with ``save_to_disk``; its keys are the
  three tables) plus ``data/{pairs,sentences,quotes}.parquet`` written from the same Datasets,
- ``parquet``: only ``data/*.parquet``,
- ``jsonl``: ``{pairs,sentences,quotes}.jsonl``,
- ``bitext``: ``pairs.<la>`` / ``pairs.<lb>``, line-aligned text of the cross-lingual pairs
  (vi↔en when the job has any, else its commonest language pair),

plus a dataset card ``README.md`` (the YAML header the hub reads, with the job config's
``license`` or ``other``; the job's config, counts and provenance). ``min_score`` drops pairs
scoring below it; ``pair_id`` numbers the job's pairs before filtering, so ids are stable across
thresholds.

Everything is written into a temporary folder beside the target and renamed into place, and the
output is deterministic: rows are sorted, no timestamps are written, and the Datasets'
fingerprints are hashes of their content, so the same job exports to byte-identical files.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from pipeline.data import QUOTES, SENTENCES
from pipeline.datasetcard import (
    DESCRIPTIONS,
    TABLE_NAMES,
    card_license,
    data_files,
    dataset_card,
)
from pipeline.errors import InputError, UsageError
from pipeline.inspect_outputs import SUMMARY_TABLES, lang_of, load_tables
from pipeline.jobfolder import enclosing_job

FORMATS = ("hf", "parquet", "jsonl", "bitext")
#: Marks a folder written by :func:`export`: the only kind ``--overwrite`` replaces.
EXPORT_MARKER = ".quotetrace-export"

PAIRS_SCHEMA = pa.schema([
    ("pair_id", pa.string()),
    ("doc_a", pa.string()),
    ("sent_ids_a", pa.list_(pa.string())),
    ("text_a", pa.string()),
    ("lang_a", pa.string()),
    ("doc_b", pa.string()),
    ("sent_ids_b", pa.list_(pa.string())),
    ("text_b", pa.string()),
    ("lang_b", pa.string()),
    ("score", pa.float64()),
    ("margin", pa.float64()),
    ("kind", pa.string()),
])
QUOTES_SCHEMA = pa.schema([*QUOTES, pa.field("cluster_id", pa.string())])
SCHEMAS = {"pairs": PAIRS_SCHEMA, "sentences": SENTENCES, "quotes": QUOTES_SCHEMA}

#: Every line boundary of ``str.splitlines``: bitext lines must hold none of them.
LINE_BREAKS = re.compile(r"\s*[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]+\s*")


def features_for(name: str):
    """The explicit :class:`datasets.Features` of table ``name``."""
    import datasets

    return datasets.Features.from_arrow_schema(SCHEMAS[name])


# ------------------------------------------------------------------------------------ tables


def build_tables(tables: dict[str, pd.DataFrame], min_score: float | None = None
                 ) -> dict[str, pa.Table]:
    """The ``pairs``, ``sentences`` and ``quotes`` tables of a job (sorted Arrow tables)."""
    sentences = tables["sentences"].sort_values(["doc_id", "idx"], kind="stable")
    lang = dict(zip(sentences["sent_id"], sentences["lang"], strict=True))

    alignments = tables["alignments"].copy()
    alignments["_ka"] = alignments["sent_ids_a"].map(lambda ids: "\t".join(ids))
    alignments["_kb"] = alignments["sent_ids_b"].map(lambda ids: "\t".join(ids))
    alignments = alignments.sort_values(["doc_a", "doc_b", "_ka", "_kb"], kind="stable")
    rows = []
    for i, row in enumerate(alignments.itertuples(index=False)):
        if min_score is not None and not float(row.score) >= float(min_score):
            continue
        ids_a, ids_b = list(row.sent_ids_a), list(row.sent_ids_b)
        rows.append({
            "pair_id": f"p{i:06d}", "doc_a": row.doc_a, "sent_ids_a": ids_a,
            "text_a": row.text_a, "lang_a": lang_of(ids_a, lang),
            "doc_b": row.doc_b, "sent_ids_b": ids_b, "text_b": row.text_b,
            "lang_b": lang_of(ids_b, lang), "score": float(row.score),
            "margin": float(row.margin), "kind": row.kind,
        })
    pairs = pa.Table.from_pylist(rows, schema=PAIRS_SCHEMA)

    cluster_of: dict[str, str] = {}
    clusters = tables["clusters"].sort_values("cluster_id", kind="stable")
    for cluster_id, quote_ids in zip(clusters["cluster_id"], clusters["quote_ids"], strict=True):
        for quote_id in quote_ids:
            cluster_of.setdefault(quote_id, cluster_id)
    quotes = tables["quotes"].sort_values("quote_id", kind="stable").copy()
    quotes["cluster_id"] = quotes["quote_id"].map(lambda q: cluster_of.get(q))

    def arrow(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
        frame = frame[[field.name for field in schema]].astype(object)
        frame = frame.where(frame.notna(), None)
        return pa.Table.from_pandas(frame, schema=schema, preserve_index=False) \
            .replace_schema_metadata(None)

    return {"pairs": pairs, "sentences": arrow(sentences, SENTENCES),
            "quotes": arrow(quotes, QUOTES_SCHEMA)}


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def jsonl_text(table: pa.Table) -> str:
    """One JSON object per row, keys in column order, UTF-8 text unescaped."""
    lines = []
    for row in table.to_pylist():
        lines.append(json.dumps({k: _json_value(v) for k, v in row.items()},
                                ensure_ascii=False))
    return "".join(line + "\n" for line in lines)


def one_line(text: str | None) -> str:
    """``text`` with every line break (and the spaces around it) turned into one space."""
    return LINE_BREAKS.sub(" ", text or "").strip()


def bitext_languages(pairs: pa.Table) -> tuple[str, str]:
    """The language pair of the bitext: vi↔en when present, else the commonest pair."""
    counts = Counter(tuple(sorted((a, b))) for a, b in
                     zip(pairs.column("lang_a").to_pylist(), pairs.column("lang_b").to_pylist(),
                         strict=True) if a and b and a != b)
    if not counts:
        seen = sorted({x for x in pairs.column("lang_a").to_pylist()
                       + pairs.column("lang_b").to_pylist() if x})
        raise InputError("no cross-lingual aligned pairs in this job (languages of its pairs: "
                         f"{', '.join(seen) or 'none'}); bitext needs pairs in two languages; "
                         "use --format hf, parquet or jsonl")
    if ("en", "vi") in counts:
        return ("vi", "en")
    best = max(sorted(counts), key=lambda key: counts[key])
    return best


def bitext_lines(pairs: pa.Table, langs: tuple[str, str]) -> tuple[list[str], list[str]]:
    """Line-aligned texts of the pairs in the two languages ``langs`` (either side order)."""
    first, second = langs
    out_first, out_second = [], []
    for row in pairs.to_pylist():
        by_lang = {row["lang_a"]: row["text_a"], row["lang_b"]: row["text_b"]}
        if row["lang_a"] == row["lang_b"] or set(by_lang) != {first, second}:
            continue
        out_first.append(one_line(by_lang[first]))
        out_second.append(one_line(by_lang[second]))
    return out_first, out_second


# ------------------------------------------------------------------------------------ datasets


@contextmanager
def _quiet_datasets() -> Iterator[None]:
    import datasets

    enabled = not datasets.are_progress_bars_disabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if enabled:
            datasets.enable_progress_bars()


def to_datasets(tables: dict[str, pa.Table], description: str = "", license: str = ""):
    """A :class:`datasets.DatasetDict` of the tables, with content-hash fingerprints."""
    import datasets
    from datasets.table import InMemoryTable

    parts = {}
    for name in TABLE_NAMES:
        table = tables[name]
        features = features_for(name)
        digest = hashlib.sha256(f"quotetrace-export/{name}\n".encode())
        digest.update(jsonl_text(table).encode("utf-8"))
        info = datasets.DatasetInfo(description=f"{description} {name}: {DESCRIPTIONS[name]}"
                                    .strip(), license=license, features=features)
        parts[name] = datasets.Dataset(InMemoryTable(table.cast(features.arrow_schema)),
                                       info=info, fingerprint=digest.hexdigest()[:16])
    return datasets.DatasetDict(parts)


# ------------------------------------------------------------------------------------ writing


def _check_target(output_dir: Path, to: Path, overwrite: bool) -> None:
    if to.exists() and not to.is_dir():
        raise InputError(f"{to}: exists and is not a folder; choose another --to folder")
    resolved, source = to.resolve(), output_dir.resolve()
    if resolved == source or resolved in source.parents:
        raise InputError(f"{to}: holds the job's output folder {output_dir}; export to another "
                         "--to folder")
    job = source if source in resolved.parents else enclosing_job(resolved)
    if job is not None:
        raise InputError(f"{to}: is inside the job folder {job}, which quotetrace "
                         "manages; export to a folder outside it")
    if to.is_dir() and any(to.iterdir()) and not overwrite:
        raise InputError(f"{to}: folder is not empty; choose another --to folder or pass "
                         "--overwrite to replace it")
    if to.is_dir() and any(to.iterdir()) and not (to / EXPORT_MARKER).is_file():
        raise InputError(f"{to}: folder is not empty and holds no earlier quotetrace export "
                         f"(no {EXPORT_MARKER}); --overwrite only replaces an export, so "
                         "choose another --to folder or empty this one")


def _write(folder: Path, relative: str, data: str | bytes) -> None:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_bytes(data.encode("utf-8"))
    else:
        path.write_bytes(data)


def _replace_folder(tmp: Path, to: Path) -> None:
    """Rename ``tmp`` onto ``to``; an existing ``to`` is moved aside first, then removed."""
    old = None
    if to.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{to.name}.", suffix=".old", dir=to.parent))
        old.rmdir()
        os.replace(to, old)
    try:
        os.replace(tmp, to)
    except OSError:
        if old is not None:
            os.replace(old, to)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def export(output_dir: Path | str, to: Path | str, fmt: str = "hf",
           min_score: float | None = None, overwrite: bool = False,
           bitext_langs: tuple[str, str] | None = None) -> dict[str, Any]:
    """Write the job in ``output_dir`` as a dataset into ``to``; return what was written.

    ``fmt`` is ``hf``, ``parquet``, ``jsonl`` or ``bitext``; ``min_score`` drops pairs scoring
    below it; a non-empty ``to`` is refused unless ``overwrite``. ``bitext_langs`` picks the two
    languages of a bitext (default: vi and en when the job has vi↔en pairs).
    """
    output_dir, to = Path(output_dir), Path(to)
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    if min_score is not None and not math.isfinite(float(min_score)):
        raise UsageError(f"--min-score must be a finite number, not {min_score}")
    source_tables, manifest = load_tables(output_dir, SUMMARY_TABLES)
    _check_target(output_dir, to, overwrite)

    all_pairs = build_tables(source_tables)["pairs"]
    tables = build_tables(source_tables, min_score)
    source = {"documents": len(source_tables["documents"]),
              "alignments": len(source_tables["alignments"]),
              "clusters": len(source_tables["clusters"])}
    langs = None
    files: dict[str, str | bytes] = {}
    if fmt == "bitext":
        langs = tuple(bitext_langs) if bitext_langs else bitext_languages(all_pairs)
        if len(langs) != 2 or langs[0] == langs[1]:
            raise InputError(f"bitext needs two different languages, not {langs}")
        first, second = bitext_lines(tables["pairs"], langs)
        source["bitext_lines"] = len(first)
        files[f"pairs.{langs[0]}"] = "".join(line + "\n" for line in first)
        files[f"pairs.{langs[1]}"] = "".join(line + "\n" for line in second)
    elif fmt == "jsonl":
        for name in TABLE_NAMES:
            files[f"{name}.jsonl"] = jsonl_text(tables[name])
    files["README.md"] = dataset_card(manifest, tables, source, fmt, min_score, langs)
    files[EXPORT_MARKER] = "quotetrace export\n"  # so that --overwrite may replace it later

    to.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{to.name}.", suffix=".tmp", dir=to.parent))
    try:
        os.chmod(tmp, 0o755)
        for relative, data in files.items():
            _write(tmp, relative, data)
        if fmt in {"hf", "parquet"}:
            job = manifest.get("job") or "job"
            with _quiet_datasets():
                dataset = to_datasets(tables, f"quotetrace {job}", card_license(manifest))
                if fmt == "hf":
                    dataset.save_to_disk(str(tmp / "hf"))
                (tmp / "data").mkdir()
                for name in TABLE_NAMES:
                    dataset[name].to_parquet(str(tmp / data_files(fmt)[name]))
        _replace_folder(tmp, to)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)

    written = {}
    for path in sorted(p for p in to.rglob("*") if p.is_file()):
        data = path.read_bytes()
        written[path.relative_to(to).as_posix()] = {
            "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    result: dict[str, Any] = {
        "output_dir": str(output_dir), "to": str(to), "format": fmt, "min_score": min_score,
        "rows": {name: tables[name].num_rows for name in TABLE_NAMES},
        "pairs_total": all_pairs.num_rows,
        "files": written,
    }
    if fmt == "bitext":
        result["bitext"] = {"languages": list(langs or ()), "lines": source["bitext_lines"]}
    return result
