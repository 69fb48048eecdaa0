"""Reading a job's inputs: files, globs and folders → one record per document with its raw text.

The doc id is the file stem (``stem-N`` for line N of a ``.jsonl`` file, unless the record has an
``id``). Per-document metadata comes from the records themselves or from a side file (CSV or
JSONL with a ``doc_id`` column). Every input problem raises one :class:`InputError` naming the
file and the fix, before anything is written. Used by :mod:`pipeline.stages.ingest`.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.errors import InputError
from pipeline.text import CONTROL_CHARS

METADATA_FIELDS = ("outlet", "date", "url", "title")
ID_FIELDS = ("id", "doc_id")
#: Written dates besides ISO 8601 and RFC 2822 ("October 11, 2024", "11 Oct 2024").
DATE_FORMATS = ("%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y")
#: The years pandas can hold: align turns dates into Timestamps, and one outside is NaT.
DATE_YEARS = (1678, 2261)
BINARY_SNIFF_BYTES = 8192
#: A character that is neither whitespace nor invisible (BOM, zero-width marks, the control
#: characters clean drops): a text without one is empty.
_VISIBLE = re.compile("[^\\s\ufeff\u200b\u200c\u200d\u2060" + re.escape(CONTROL_CHARS) + "]")


def _is_blank(text: str) -> bool:
    """Searched, not copied: a 50 MB text is not translated and stripped to say it has words."""
    return _VISIBLE.search(text) is None


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n:,} bytes"


def expand_inputs(inputs: Iterable[str], extensions: Iterable[str]) -> list[Path]:
    """Resolve files, globs and folders into a sorted, de-duplicated list of files."""
    inputs = list(inputs)
    extensions = tuple(ext.lower() for ext in extensions)
    found: set[Path] = set()
    for spec in inputs:
        path = Path(spec).expanduser()
        if path.is_dir():
            # A symbolic link inside a folder is not followed (a folder's links are not
            # either): it could point anywhere on the machine. Name a linked file directly.
            matches = [p for p in path.rglob("*") if p.is_file() and not p.is_symlink()
                       and p.suffix.lower() in extensions and not p.name.startswith(".")]
            if not matches:
                raise InputError(
                    f"{path}: folder has no input texts ({', '.join(extensions)}); "
                    "point --input at a folder of articles"
                )
            found.update(matches)
        elif path.is_file():
            found.add(path)
        elif any(ch in spec for ch in "*?["):
            matches = [Path(p) for p in glob.glob(spec, recursive=True) if Path(p).is_file()]
            if not matches:
                raise InputError(f"{spec}: pattern matches no files")
            # Like a folder, a pattern picks only input texts (not e.g. a metadata.csv beside them).
            matches = [p for p in matches if p.suffix.lower() in extensions]
            if not matches:
                raise InputError(
                    f"{spec}: pattern matches no input texts ({', '.join(extensions)}); "
                    "narrow the pattern or add the extension to ingest.extensions"
                )
            found.update(matches)
        else:
            raise InputError(f"{spec}: no such file or folder (check the config's inputs)")
    hidden = {p for p in found if any(part.startswith(".") for part in p.parts[-1:])}
    files = sorted(found - hidden)
    if not files:
        raise InputError(
            f"{', '.join(inputs)}: no input texts found (hidden files are skipped)"
        )
    return files


def read_text_file(path: Path, max_bytes: int) -> tuple[str, str]:
    """Return (text, sha256) of a UTF-8 text file, or raise InputError saying what is wrong."""
    size = path.stat().st_size
    if size > max_bytes:
        raise InputError(
            f"{path}: file is {_size(size)}, over the limit of {_size(max_bytes)}; "
            "split it into articles or raise ingest.max_bytes in the config"
        )
    data = path.read_bytes()
    if not data or data.isspace():  # what data.strip() empties, without a copy of the file
        raise InputError(f"{path}: file is empty; remove it from the inputs")
    if b"\x00" in data[:BINARY_SNIFF_BYTES]:
        raise InputError(f"{path}: looks like a binary file (NUL bytes); inputs must be UTF-8 text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(
            f"{path}: not valid UTF-8 (byte {error.start}: {data[error.start:error.start + 4]!r}); "
            "convert it, e.g. `iconv -f windows-1258 -t utf-8`"
        ) from None
    if _is_blank(text):
        raise InputError(f"{path}: file has only whitespace; remove it from the inputs")
    return text, hashlib.sha256(data).hexdigest()


def _kind(value: object) -> str:
    """How an error message names the JSON type of ``value``."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    return type(value).__name__


def is_date(text: str) -> bool:
    """Whether ``text`` is a calendar date or datetime align can place: ISO 8601, RFC 2822 or
    "October 11, 2024", with a year pandas can hold. Stricter than pandas, which reads "today"
    or "3" as a date and turns what it cannot read into a traceback or a silent NaT."""
    text = text.strip()
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            for fmt in DATE_FORMATS:
                try:
                    parsed = datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
    return parsed is not None and DATE_YEARS[0] <= parsed.year <= DATE_YEARS[1]


def check_record(record: dict[str, Any], where: str) -> None:
    """Raise InputError unless the record's ids and metadata fields are strings (ids may be
    integers) and its date, if any, is a date: anything else reaches the parquet writer or
    align's date window as a traceback."""
    for name in (*ID_FIELDS, *METADATA_FIELDS):
        value = record.get(name)
        if value is None or isinstance(value, str):
            continue
        if name in ID_FIELDS and isinstance(value, int) and not isinstance(value, bool):
            continue
        raise InputError(f"{where}: {name!r} must be a string, got {_kind(value)}")
    date = record.get("date")
    if isinstance(date, str) and date.strip() and not is_date(date):
        raise InputError(
            f"{where}: 'date' {date!r} is not a date; write ISO 8601 (2024-10-11 or "
            "2024-10-11T09:30:00+07:00), or leave it empty for an undated document"
        )


def _metadata_rows(side: Path) -> list[tuple[int, Any]]:
    """(line number, row) of each record of a CSV or JSONL side file."""
    try:
        if side.suffix.lower() == ".jsonl":
            # Split on newlines only: str.splitlines also breaks at U+2028, U+0085 and other
            # separators that JSON strings may hold unescaped.
            lines = side.read_text(encoding="utf-8-sig").split("\n")
            rows: list[tuple[int, Any]] = []
            for number, line in enumerate(lines, start=1):
                if line.strip():
                    try:
                        rows.append((number, json.loads(line)))
                    except (json.JSONDecodeError, RecursionError) as error:
                        raise InputError(f"{side}:{number}: cannot read metadata: "
                                         f"{_json_problem(error)}") from None
            return rows
        with side.open(encoding="utf-8-sig", newline="") as handle:  # Excel writes a BOM
            reader = csv.DictReader(handle)
            rows = [(reader.line_num, row) for row in reader]
            if not reader.fieldnames:
                raise InputError(f"{side}: the metadata file is empty; it needs a header line "
                                 "with at least 'doc_id'")
            return rows
    except (UnicodeDecodeError, csv.Error) as error:
        raise InputError(f"{side}: cannot read metadata: {error}") from None


def load_metadata(path: str | None) -> dict[str, dict[str, Any]]:
    """Read a CSV or JSONL side file keyed by ``doc_id``; every row is checked like a JSONL
    record, and a doc_id given twice is an error (which row should win is a guess)."""
    if not path:
        return {}
    side = Path(path)
    if not side.is_file():
        raise InputError(f"{side}: metadata file not found (ingest.metadata in the config)")
    metadata: dict[str, dict[str, Any]] = {}
    duplicates: dict[str, list[int]] = {}
    first_line: dict[str, int] = {}
    for position, (number, row) in enumerate(_metadata_rows(side)):
        if not isinstance(row, dict) or "doc_id" not in row:
            raise InputError(f"{side}: metadata needs a 'doc_id' column" if position == 0
                             else f"{side}:{number}: the metadata row needs a 'doc_id'")
        doc_id = row["doc_id"]
        if doc_id is None or (isinstance(doc_id, str) and not doc_id.strip()):
            raise InputError(f"{side}:{number}: the metadata row has an empty 'doc_id'")
        check_record(row, f"{side}:{number} (doc_id {doc_id!r})")
        key = str(doc_id)
        if key in metadata:
            duplicates.setdefault(key, [first_line[key]]).append(number)
        metadata[key], first_line[key] = row, number
    if duplicates:
        listed = "; ".join(f"{doc_id!r} on lines {', '.join(map(str, lines))}"
                           for doc_id, lines in list(duplicates.items())[:5])
        more = f" and {len(duplicates) - 5} more" if len(duplicates) > 5 else ""
        raise InputError(
            f"{side}: duplicate doc_id in the metadata: {listed}{more}; keep one row per document"
        )
    return metadata


def _json_problem(error: Exception) -> str:
    if isinstance(error, RecursionError):
        return "nested too deeply"
    return getattr(error, "msg", str(error))


def _jsonl_records(path: Path, text: str) -> list[dict[str, Any]]:
    records = []
    # Newlines only: str.splitlines also splits at U+2028 or U+0085 inside a JSON string.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as error:
            raise InputError(f"{path}:{number}: invalid JSON ({_json_problem(error)})") from None
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise InputError(f"{path}:{number}: each JSONL record needs a string 'text' field")
        if _is_blank(record["text"]):
            raise InputError(f"{path}:{number}: the record's 'text' is empty")
        check_record(record, f"{path}:{number}")
        doc_id = str(record.get("id") or record.get("doc_id") or f"{path.stem}-{number}")
        records.append({**record, "doc_id": doc_id, "raw_text": record["text"]})
    if not records:
        raise InputError(f"{path}: no records; each line must be a JSON object with 'text'")
    return records


def read_documents(files: list[Path], metadata: dict[str, dict[str, Any]], max_bytes: int,
                   advance: Callable[[], None] = lambda: None) -> pd.DataFrame:
    """One row per document of ``files`` (doc_id, path, sha256, raw_text, outlet, date, url,
    title), sorted by doc_id; ``metadata`` (from :func:`load_metadata`) fills the fields the
    records leave empty. ``advance`` is called once per file read."""
    rows: list[dict[str, Any]] = []
    stems = Counter(path.stem for path in files)
    for path in files:
        text, sha = read_text_file(path, max_bytes)
        if path.suffix.lower() == ".jsonl":
            records = _jsonl_records(path, text)
        else:
            # x.vi and x.en (bitext) share a stem: their full names tell them apart.
            doc_id = path.stem if stems[path.stem] == 1 else path.name
            records = [{"doc_id": doc_id, "raw_text": text}]
        for record in records:
            side = metadata.get(record["doc_id"], {})
            rows.append(
                {
                    "doc_id": record["doc_id"],
                    "path": str(path),
                    "sha256": sha
                    if len(records) == 1
                    else hashlib.sha256(record["raw_text"].encode()).hexdigest(),
                    "raw_text": record["raw_text"],
                    **{f: (record.get(f) or side.get(f) or None) for f in METADATA_FIELDS},
                }
            )
        advance()
    frame = pd.DataFrame(rows, columns=["doc_id", "path", "sha256", "raw_text",
                                        *METADATA_FIELDS])
    duplicates = frame["doc_id"][frame["doc_id"].duplicated()].tolist()
    if duplicates:
        clash = frame[frame["doc_id"].isin(duplicates)]["path"].tolist()
        raise InputError(
            f"duplicate document id {duplicates[0]!r} from {clash}; rename one of the files"
        )
    return frame.sort_values("doc_id", kind="stable").reset_index(drop=True)


def fingerprint_documents(frame: pd.DataFrame) -> str:
    """Content fingerprint of ingested documents (ids, hashes and metadata)."""
    digest = hashlib.sha256()
    for row in frame[["doc_id", "sha256", *METADATA_FIELDS]].itertuples(index=False):
        digest.update(json.dumps(list(row), default=str).encode())
    return digest.hexdigest()[:16]
