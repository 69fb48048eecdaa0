"""Quotation marks: finding quoted passages and blanking them out of a sentence's frame."""

from __future__ import annotations

import re

OPENERS = {"“": "”", "«": "»", "„": "“"}
STRAIGHT = '"'
BLANK = "\u2592"  # what a quoted passage becomes in a frame: not a word character, not punctuation
#: Every character quote_spans reacts to: openers, closers, straight quotes and ''.
QUOTE_MARKS = re.compile("''|[“”«»„\"]")


def quote_spans(text: str) -> list[tuple[int, int, bool]]:
    """``(start, end, closed)`` of each top-level double-quoted passage, marks included.

    Straight quotes toggle; two apostrophes (``''``, as the New York Times prints quotes) count
    as one straight quote. Only the quotation marks are visited (``QUOTE_MARKS``, apostrophes
    paired left to right), not every character.
    """
    spans: list[tuple[int, int, bool]] = []
    start, closer = -1, ""
    for mark in QUOTE_MARKS.finditer(text):
        i, char, width = mark.start(), mark.group(0)[0], len(mark.group(0))
        straight = char == STRAIGHT or width == 2
        if start < 0:
            if char in OPENERS:
                start, closer = i, OPENERS[char]
            elif straight:
                start, closer = i, STRAIGHT
        elif (straight and closer == STRAIGHT) or (
                closer != STRAIGHT and (char == closer or (char in "”»" and closer in "”»"))):
            spans.append((start, i + (width if straight else 1), True))
            start = -1
    if start >= 0:
        spans.append((start, len(text), False))
    return spans


#: Periods that do not end a phrase ("Mr. Sloan", "Donald J. Trump"): hidden in frames.
ABBREVIATION = re.compile(r"(?<![\w.])(?:Mr|Mrs|Ms|Dr|Jr|Sr|St|Sen|Rep|Gov|Gen|Lt|Col|Prof|"
                          r"Mt|U\.S|[A-Z])\.")
DOT = "\u2024"


def blank_quotes(text: str, spans: list[tuple[int, int, bool]]) -> str:
    """``text`` with each quoted passage replaced by BLANK characters (offsets kept).

    Built from slices, not a list of characters: attribute blanks whole paragraphs, and a list
    of a 50 MB one-line paragraph's characters took 400 MB."""
    pieces, cursor = [], 0
    for start, end, _ in sorted(spans):
        start = max(start, cursor)
        if end > start:
            pieces += [text[cursor:start], BLANK * (end - start)]
            cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


def strip_marks(passage: str) -> str:
    """A quoted passage without its marks and without a trailing comma."""
    inner = passage
    if inner.startswith("''"):
        inner = inner[2:]
    elif inner[:1] in OPENERS or inner[:1] == STRAIGHT:
        inner = inner[1:]
    if inner.endswith("''"):
        inner = inner[:-2]
    elif inner[-1:] in "”»“" or inner[-1:] == STRAIGHT:
        inner = inner[:-1]
    return inner.strip().rstrip(",;:").strip()

