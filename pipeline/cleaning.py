"""Cleaning raw article text into normalised text whose every character maps back to the raw file.

Boilerplate lines (menus, stray "×", bare URLs, agency tags) and inline debris ("Share" buttons,
image credits, ``date YYYY-MM-DD`` prefixes) are dropped by configurable regular expressions;
whitespace is collapsed, odd spaces become plain spaces, and text is NFC (or NFKC) normalised.
Quotation marks are kept as written; :func:`pipeline.text.normalize_for_matching` folds them when
texts are compared. Used by :mod:`pipeline.stages.clean`.

The offset map is a run-length list: clean position ``c`` maps to raw position
``offsets_raw[r] + (c - offsets_clean[r])`` where ``r`` is the last run starting at or before
``c``. Runs break only where the mapping jumps (dropped text, collapsed spaces, normalisation).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from pipeline.configschema import CleanConfig
from pipeline.text import CONTROL_CHARS

SPACE_LIKE = {"\u00a0", "\u2007", "\u202f", "\u2009", "\u200a", "\u3000", "\t", "\u2002", "\u2003"}
#: Dropped without a trace: zero-width marks, and control characters (a NUL past the 8 KB that
#: ingest sniffs for binary data would otherwise reach the sentences).
INVISIBLE = {"\u200b", "\ufeff", "\u00ad", "\u200e", "\u200f", *CONTROL_CHARS}
#: Where add_span stops appending text in one piece: whitespace, odd spaces, invisible marks.
SPECIAL = re.compile("[\\s" + re.escape("".join(sorted(SPACE_LIKE | INVISIBLE))) + "]")
#: What keeps a span from being appended as it is: whitespace other than single plain spaces.
NOT_PLAIN = re.compile("[^\\S ]|  |[" + re.escape("".join(sorted(SPACE_LIKE | INVISIBLE)))
                       + "]")
SPACE_BEFORE_NON_ASCII = re.compile(r" [^\x00-\x7f]")
DATE_PREFIX = re.compile(r"^\s*date\s+(\d{4}-\d{2}-\d{2})\s+")
DATE_LINE = re.compile(r"^\s*([A-Z][a-z]+ \d{1,2}, \d{4}|\d{4}-\d{2}-\d{2})\s*$")
TITLE_MAX_CHARS = 160


@dataclass
class CleanText:
    text: str
    offsets_clean: list[int] = field(default_factory=list)
    offsets_raw: list[int] = field(default_factory=list)
    date: str | None = None
    title: str | None = None

    def raw_offset(self, clean_pos: int) -> int:
        """Raw-file offset of the clean character at ``clean_pos``."""
        run = bisect.bisect_right(self.offsets_clean, clean_pos) - 1
        return self.offsets_raw[run] + clean_pos - self.offsets_clean[run]

    def raw_span(self, start: int, end: int, raw: str | None = None) -> tuple[int, int]:
        """Raw-file span covering the clean span ``[start, end)``.

        Pass the ``raw`` text so that the span also covers the combining marks of its last
        character when the raw file is decomposed (NFD "phê" is "phe" plus U+0302).
        """
        raw_end = self.raw_offset(end - 1) + 1
        if raw is not None:
            while raw_end < len(raw) and unicodedata.combining(raw[raw_end]):
                raw_end += 1
        return self.raw_offset(start), raw_end


class _Builder:
    """Accumulates output text and the run-length map back to raw offsets.

    The text is kept as non-empty pieces, joined every PIECES_PER_BATCH into one string of
    ``done``: a list of a 50 MB line's characters (or words) took 400 MB or more."""

    PIECES_PER_BATCH = 1024

    def __init__(self, normalization: str) -> None:
        self.done: list[str] = []
        self.pieces: list[str] = []
        self.length = 0
        self.clean_runs: list[int] = []
        self.raw_runs: list[int] = []
        self.normalization = normalization

    @property
    def last(self) -> str:
        """The last output character ("" before any)."""
        if self.pieces:
            return self.pieces[-1][-1]
        return self.done[-1][-1] if self.done else ""

    def _append(self, piece: str) -> None:
        self.pieces.append(piece)
        self.length += len(piece)
        if len(self.pieces) >= self.PIECES_PER_BATCH:
            self.done.append("".join(self.pieces))
            self.pieces = []

    def _emit(self, char: str, raw_pos: int) -> None:
        position = self.length
        expected = self.raw_runs[-1] + position - self.clean_runs[-1] if self.raw_runs else None
        if expected != raw_pos:
            self.clean_runs.append(position)
            self.raw_runs.append(raw_pos)
        self._append(char)

    def _pop(self) -> None:
        source = self.pieces or self.done
        piece = source.pop()
        if len(piece) > 1:
            source.append(piece[:-1])
        self.length -= 1
        if self.clean_runs and self.clean_runs[-1] == self.length:
            self.clean_runs.pop()
            self.raw_runs.pop()

    def at_line_start(self) -> bool:
        return self.last in ("", "\n")

    def add_span(self, raw: str, start: int, end: int) -> None:
        """Append ``raw[start:end]`` normalised, collapsing whitespace.

        Text between spaces that is already normalised is appended in one piece; only the rest
        is read a character (with its combining marks) at a time.
        """
        if start < end and self._add_plain(raw, start, end):
            return
        i = start
        while i < end:
            special = SPECIAL.search(raw, i, end)
            stop = special.start() if special else end
            if stop > i:
                piece = raw[i:stop]
                if unicodedata.is_normalized(self.normalization, piece):
                    position = self.length
                    if not self.raw_runs or \
                            self.raw_runs[-1] + position - self.clean_runs[-1] != i:
                        self.clean_runs.append(position)
                        self.raw_runs.append(i)
                    self._append(piece)
                else:
                    self._add_clusters(raw, i, stop)
            if special is None:
                break
            j = stop + 1
            while j < end and unicodedata.combining(raw[j]):
                j += 1
            if raw[stop] not in INVISIBLE and not self.at_line_start() and self.last != " ":
                self._emit(" ", stop)
            i = j

    def _add_plain(self, raw: str, start: int, end: int) -> bool:
        """Append ``raw[start:end]`` as it is when that is what add_span would append: no
        whitespace but single plain spaces (none followed by a combining mark), no invisible
        mark, already normalised. Only a leading space may go (at a line start or after a
        space). False when the span is not that plain."""
        if NOT_PLAIN.search(raw, start, end):
            return False
        piece = raw[start:end]
        if not unicodedata.is_normalized(self.normalization, piece) or any(
                unicodedata.combining(piece[m.end() - 1])
                for m in SPACE_BEFORE_NON_ASCII.finditer(piece)):
            return False
        if piece[0] == " " and (self.at_line_start() or self.last == " "):
            start += 1
            piece = piece[1:]
        if piece:
            position = self.length
            if not self.raw_runs or self.raw_runs[-1] + position - self.clean_runs[-1] != start:
                self.clean_runs.append(position)
                self.raw_runs.append(start)
            self._append(piece)
        return True

    def _add_clusters(self, raw: str, start: int, end: int) -> None:
        """Append ``raw[start:end]`` (no spaces) normalised one character with its combining
        marks at a time, each output character mapped to the raw offset it comes from."""
        i = start
        while i < end:
            j = i + 1
            while j < end and unicodedata.combining(raw[j]):
                j += 1
            cluster = raw[i:j]
            normalised = unicodedata.normalize(self.normalization, cluster)
            if normalised == cluster:
                for offset, out in enumerate(cluster):
                    self._emit(out, i + offset)
            else:
                for out in normalised:
                    self._emit(out, i)
            i = j

    def end_line(self, newline_pos: int) -> None:
        while self.last == " ":
            self._pop()
        if self.last not in ("", "\n"):
            self._emit("\n", newline_pos)

    def result(self) -> CleanText:
        while self.last in (" ", "\n"):
            self._pop()
        self.done.append("".join(self.pieces))
        text, self.done, self.pieces = "".join(self.done), [], []
        return CleanText(text, self.clean_runs, self.raw_runs)


def _parse_date(text: str) -> str | None:
    for fmt in ("%Y-%m-%d", "%B %d, %Y"):
        try:
            return datetime.strptime(text.strip(), fmt).date().isoformat()
        except ValueError:
            continue
    return None


class Cleaner:
    """Applies one :class:`CleanConfig` to raw texts."""

    def __init__(self, config: CleanConfig) -> None:
        self.config = config
        patterns = [*config.drop_line_patterns, *config.extra_drop_line_patterns]
        self.drop_lines = [re.compile(p) for p in patterns]
        self.drop_inline = [re.compile(p) for p in config.drop_inline_patterns]

    def clean(self, raw: str) -> CleanText:
        builder = _Builder(self.config.normalization)
        date: str | None = None
        title: str | None = None
        first_paragraph: tuple[int, int] | None = None
        for match in re.finditer(r"[^\n]*(\n|$)", raw):
            line_start, line_end = match.start(), match.end(1) - len(match.group(1))
            if line_start == len(raw) and not match.group(0):
                break
            line = raw[line_start:line_end].rstrip("\r")
            if not line.strip() or any(p.search(line) for p in self.drop_lines):
                continue
            if self.config.extract_dates and DATE_LINE.match(line):
                date = date or _parse_date(line)
                continue
            start = line_start
            prefix = DATE_PREFIX.match(line) if self.config.extract_dates else None
            if prefix:
                date = date or _parse_date(prefix.group(1))
                start = line_start + prefix.end()
            dropped = sorted(
                (line_start + m.start(), line_start + m.end())
                for pattern in self.drop_inline
                for m in pattern.finditer(line)
                if m.end() > m.start()
            )
            before = builder.length
            cursor = start
            for drop_start, drop_end in dropped:
                if drop_start > cursor:
                    builder.add_span(raw, cursor, drop_start)
                cursor = max(cursor, drop_end)
            builder.add_span(raw, cursor, line_start + len(line))
            if first_paragraph is None and builder.length > before:
                first_paragraph = (before, builder.length)
            builder.end_line(line_start + len(line))
        result = builder.result()
        if first_paragraph is not None:
            candidate = result.text[first_paragraph[0]:first_paragraph[1]].strip()
            if len(candidate) <= TITLE_MAX_CHARS and not candidate.endswith((".", "”", '"')):
                title = candidate
        result.date, result.title = date, title
        return result


def _given(value: object) -> str | None:
    """A metadata value, or None when missing (pandas gives NaN for missing strings)."""
    return value if isinstance(value, str) and value.strip() else None


def clean_documents(documents: pd.DataFrame, cleaner: Cleaner,
                    on_empty: Callable[[str], None] = lambda path: None,
                    advance: Callable[[], None] = lambda: None) -> pd.DataFrame:
    """``documents`` (with ``raw_text``, ``path``, ``date``, ``title``) plus ``text_clean``,
    ``offsets_clean``, ``offsets_raw``, and ``date``/``title`` where the text gives them and the
    metadata does not. ``on_empty(path)`` is called for a document that cleans to nothing,
    ``advance()`` once per document."""
    documents = documents.copy()
    texts, clean_runs, raw_runs, dates, titles = [], [], [], [], []
    for row in documents.itertuples(index=False):
        result = cleaner.clean(row.raw_text)
        if not result.text:
            on_empty(row.path)
        texts.append(result.text)
        clean_runs.append(result.offsets_clean)
        raw_runs.append(result.offsets_raw)
        dates.append(_given(row.date) or result.date)
        titles.append(_given(row.title) or result.title)
        advance()
    documents["text_clean"] = texts
    documents["offsets_clean"] = clean_runs
    documents["offsets_raw"] = raw_runs
    documents["date"] = dates
    documents["title"] = titles
    return documents


def clean_text_of(row: pd.Series | object) -> CleanText:
    """Rebuild the :class:`CleanText` view (with its offset map) of a cleaned document row."""
    return CleanText(
        row.text_clean, list(row.offsets_clean), list(row.offsets_raw), row.date, row.title
    )
