"""Sentence segmentation of cleaned text: spans in clean offsets, paragraph by paragraph.

Two modes (``SegmentConfig.mode``):

- ``sentences``: blingfire's sentence splitter, run paragraph by paragraph on a diacritic-folded
  shadow of the text (blingfire does not start a sentence at a Vietnamese capital such as "Ô" or
  "Đ"; folding keeps the length, so its offsets apply to the original). A long paragraph is read
  in windows of :data:`WINDOW_CHARS`. With ``keep_quotes_whole``, a sentence that ends inside an
  open quotation is joined to the next, so a multi-sentence quote stays one traceable unit with
  its attribution.
- ``lines``: one sentence per non-empty line, as bitext files are written.

Used by :mod:`pipeline.stages.segment`.
"""

from __future__ import annotations

import ctypes
import itertools
import threading
from collections.abc import Callable

import numpy as np
import pandas as pd

from pipeline.cleaning import clean_text_of
from pipeline.configschema import SegmentConfig
from pipeline.data import sentence_id
from pipeline.text import fold_diacritics

OPENING = "“«„"
CLOSING = "”»"


def quote_depth_change(text: str, open_straight: bool) -> tuple[int, bool]:
    """Net curly-quote depth change of ``text`` and whether a straight quote is left open."""
    depth = sum(map(text.count, OPENING)) - sum(map(text.count, CLOSING))
    return depth, open_straight != (text.count('"') % 2 == 1)


_BUFFERS = threading.local()  # blingfire's output buffers, grown as needed, per thread


def _buffers(size: int):
    if getattr(_BUFFERS, "size", 0) < size:
        _BUFFERS.size = max(size, 2 * getattr(_BUFFERS, "size", 0), 4096)
        _BUFFERS.out = ctypes.create_string_buffer(_BUFFERS.size)
        _BUFFERS.starts = (ctypes.c_int32 * _BUFFERS.size)()
        _BUFFERS.ends = (ctypes.c_int32 * _BUFFERS.size)()
    return _BUFFERS.out, _BUFFERS.starts, _BUFFERS.ends


def sentence_offsets(text: str) -> list[tuple[int, int]]:
    """``blingfire.text_to_sentences_and_offsets(text)[1]``: blingfire's wrapper maps the
    sentences' UTF-8 byte offsets to character offsets in a Python loop over every byte; here
    they map directly (ASCII) or through numpy, and the wrapper itself runs wherever the offsets
    are not plain (ascending, on character boundaries, the last one at the end)."""
    import blingfire

    data = text.encode("utf-8")
    size = len(data) * 2
    out, starts, ends = _buffers(size)
    length = blingfire.blingfire.TextToSentencesWithOffsets(
        ctypes.c_char_p(data), ctypes.c_int(len(data)), ctypes.byref(out), ctypes.byref(starts),
        ctypes.byref(ends), ctypes.c_int(size))
    if length == -1 or length > size:
        return []
    count = out.value.count(b"\n") + 1  # the output is NUL-terminated, like a fresh buffer's
    if len(data) == len(text):  # ASCII: a byte is a character
        offsets = [0] * (2 * count)
        offsets[0::2] = starts[:count]
        offsets[1::2] = [end + 1 for end in ends[:count]]
        if (offsets[0] >= 0 and offsets[-2] < offsets[-1] == len(data)
                and all(a <= b for a, b in itertools.pairwise(offsets))):
            return list(zip(offsets[0::2], offsets[1::2], strict=True))
        return blingfire.text_to_sentences_and_offsets(text)[1]
    targets = np.empty(2 * count, dtype=np.int64)
    targets[0::2] = np.frombuffer(starts, dtype=np.int32, count=count)
    targets[1::2] = np.frombuffer(ends, dtype=np.int32, count=count) + 1
    lead = (np.frombuffer(data, dtype=np.uint8) & 0xC0) != 0x80  # first byte of a character
    inner, last = targets[:-1], targets[-1]
    plain = (len(data) > 0 and (inner >= 0).all() and (inner < len(data)).all()
             and bool(lead[inner].all()) and (np.diff(targets) >= 0).all()
             and last == len(data))
    if not plain:
        return blingfire.text_to_sentences_and_offsets(text)[1]
    char_of = np.cumsum(lead) - 1  # character index of each byte
    offsets = [*char_of[inner].tolist(), len(text)]
    return list(zip(offsets[0::2], offsets[1::2], strict=True))


#: Most characters handed to blingfire at once. Its buffers take two bytes and two int32 per
#: input byte, so a 50 MB one-line file cost 1 GB there (kept for the process's life): a longer
#: paragraph is read window by window, each starting at the last sentence the previous one cut.
WINDOW_CHARS = 100_000
#: Longest segment: text with no sentence end for this long (a 50 MB line of words, a table
#: dump) is cut at a space, so that no later stage reads a megabyte as one sentence.
MAX_SENTENCE_CHARS = 5_000


def _cut(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """``[start, end)`` as pieces of at most ``limit`` characters, cut after a space when the
    second half of a piece has one."""
    pieces = []
    while end - start > limit:
        cut = text.rfind(" ", start + limit // 2, start + limit)
        cut = cut + 1 if cut >= 0 else start + limit
        pieces.append((start, cut))
        start = cut
    return [*pieces, (start, end)] if end > start else pieces


def _blingfire_spans(paragraph: str) -> list[tuple[int, int]]:
    """blingfire's sentence spans of a paragraph, read in windows of WINDOW_CHARS: the last
    sentence of a window (which its end may have cut) is read again at the next one's start.
    Segments longer than MAX_SENTENCE_CHARS are cut."""
    spans: list[tuple[int, int]] = []
    start = 0
    while start < len(paragraph):
        stop = min(start + WINDOW_CHARS, len(paragraph))
        window = paragraph[start:stop]
        if not window.strip():  # blingfire fails on blank text
            start = stop
            continue
        offsets = sentence_offsets(fold_diacritics(window)) or [(0, len(window))]
        if stop < len(paragraph):
            if len(offsets) > 1 and offsets[-1][0] > 0:
                offsets, next_start = offsets[:-1], start + offsets[-1][0]
            else:  # no sentence end in a whole window: keep all but its last piece
                pieces = _cut(paragraph, start, stop, MAX_SENTENCE_CHARS)
                offsets = [(a - start, b - start) for a, b in pieces[:-1]] or [(0, len(window))]
                next_start = pieces[-1][0] if len(pieces) > 1 else stop
        else:
            next_start = stop
        for begin, end in offsets:
            spans.extend(_cut(paragraph, start + begin, start + end, MAX_SENTENCE_CHARS))
        start = next_start
    return spans


def split_paragraph(paragraph: str, config: SegmentConfig) -> list[tuple[int, int]]:
    """Sentence spans of one paragraph (offsets relative to it)."""
    if not paragraph.strip():
        return []  # blingfire fails on an empty string (and a document may clean to nothing)
    spans = [(start, end) for start, end in _blingfire_spans(paragraph)
             if paragraph[start:end].strip()]
    if not config.keep_quotes_whole:
        return spans
    merged: list[tuple[int, int]] = []
    depth, open_straight = 0, False
    for start, end in spans:
        joined = merged and (depth > 0 or open_straight)
        if joined and end - merged[-1][0] <= config.max_quote_chars:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
            depth, open_straight = 0, False
        change, open_straight = quote_depth_change(paragraph[start:end], open_straight)
        depth = max(depth + change, 0)
    return merged


def segment_text(text: str, config: SegmentConfig) -> list[tuple[int, int]]:
    """Sentence spans of a cleaned text (clean offsets), paragraph by paragraph."""
    spans: list[tuple[int, int]] = []
    offset = 0
    for paragraph in text.split("\n"):
        if config.mode == "lines":
            pieces = (_cut(paragraph, 0, len(paragraph), MAX_SENTENCE_CHARS)
                      if paragraph.strip() else [])
        else:
            pieces = split_paragraph(paragraph, config)
        for start, end in pieces:
            while start < end and paragraph[start].isspace():
                start += 1
            while end > start and paragraph[end - 1].isspace():
                end -= 1
            if end - start >= config.min_chars:
                spans.append((offset + start, offset + end))
        offset += len(paragraph) + 1
    return spans


#: The columns of the ``sentences`` table segmentation builds (:data:`pipeline.data.SEGMENTS`).
SEGMENT_COLUMNS = ("doc_id", "sent_id", "idx", "char_start", "char_end", "clean_start",
                   "clean_end", "text")


def segment_documents(documents: pd.DataFrame, config: SegmentConfig,
                      advance: Callable[[], None] = lambda: None) -> pd.DataFrame:
    """The sentences of cleaned ``documents`` (with ``raw_text`` and the offset map): spans in
    the raw text (``char_start``/``char_end``) and in ``text_clean`` (``clean_start``/
    ``clean_end``). ``advance()`` is called once per document."""
    # Columns, not a dict per sentence: 250,000 sentences of one document made 400 MB of
    # dicts before the table was built.
    columns: dict[str, list] = {name: [] for name in SEGMENT_COLUMNS}
    for row in documents.itertuples(index=False):
        clean = clean_text_of(row)
        for idx, (start, end) in enumerate(segment_text(clean.text, config)):
            raw_start, raw_end = clean.raw_span(start, end, row.raw_text)
            columns["doc_id"].append(row.doc_id)
            columns["sent_id"].append(sentence_id(row.doc_id, idx))
            columns["idx"].append(idx)
            columns["char_start"].append(raw_start)
            columns["char_end"].append(raw_end)
            columns["clean_start"].append(start)
            columns["clean_end"].append(end)
            columns["text"].append(clean.text[start:end])
        advance()
    # The dtypes of a frame built from records: strings inferred, object when empty.
    return pd.DataFrame(columns) if columns["idx"] else pd.DataFrame(columns=[*columns])
