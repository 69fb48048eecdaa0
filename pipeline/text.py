"""Small text helpers shared by stages: matching normalisation, folding, word tokens."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

QUOTE_FOLD = str.maketrans(
    {"“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "‘": "'", "’": "'", "‚": "'",
     "–": "-", "—": "-", "‑": "-", "\u00a0": " "}
)
WORD = re.compile(r"\w+(?:[-'.]\w+)*", re.UNICODE)
#: C0 and C1 control characters that are not whitespace (NUL, BEL, ESC, DEL, …): debris of
#: binary or mis-decoded data that no reader sees, so clean drops them. Tab, the newlines and
#: the separators Python counts as whitespace (\v, \f, \x1c-\x1f, \x85) are not here: clean
#: reads those as spaces.
CONTROL_CHARS = "".join(chr(c) for c in (*range(0x00, 0x09), *range(0x0E, 0x1C),
                                         *range(0x7F, 0x85), *range(0x86, 0xA0)))


def normalize_for_matching(text: str) -> str:
    """NFKC, straight quotes and dashes, single spaces: for comparing renditions of a text."""
    text = unicodedata.normalize("NFKC", text).translate(QUOTE_FOLD)
    return " ".join(text.split())


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    if char in "Đđ":
        return "D" if char == "Đ" else "d"
    base = unicodedata.normalize("NFD", char)[0]
    return base if base.isascii() else char


_FOLDED: dict[int, str] = {}  # every non-ASCII character seen so far → its _fold_char


def fold_diacritics(text: str) -> str:
    """Replace each accented letter by its base letter, keeping the length (offsets stay valid)."""
    if text.isascii():
        return text
    for char in set(text).difference(map(chr, _FOLDED)):
        if not char.isascii():
            _FOLDED[ord(char)] = _fold_char(char)
    return text.translate(_FOLDED)


def word_tokens(text: str) -> list[str]:
    """Lower-cased word tokens, with quotes folded; hyphenated names stay one token."""
    return WORD.findall(normalize_for_matching(text).casefold())
