"""Speaker mentions as names: normalised keys, name aliases, full person names."""

from __future__ import annotations

import re
from collections.abc import Iterator

from pipeline.speakers import NOT_PERSON_WORDS, TITLE_WORDS

CAPITAL = re.compile(r"^[A-ZÀ-ỸĐ][\w’'.-]*$")


def normalise(mention: str) -> str:
    """Case-folded mention without a leading article, possessive or surrounding punctuation."""
    text = " ".join(mention.replace("’", "'").split()).strip(" ,.;:")
    text = re.sub(r"'s$", "", text)
    text = re.sub(r"^(?:the|a|an)\s+", "", text, flags=re.IGNORECASE)
    return text.casefold()


def is_name_alias(alias: str) -> bool:
    """A name ("Vladimir Putin") rather than a title ("the Kremlin chief", "Tổng thống Nga")."""
    words = alias.split()
    return all(CAPITAL.match(w) for w in words) and not any(
        w.casefold() in TITLE_WORDS for w in words)


def person_name(mention: str) -> str | None:
    """The full name in a mention ("Professor Stephen Hall" → "Stephen Hall"), or None."""
    words = mention.replace("’s", "").replace("'s", "").split()
    while words and (words[0].casefold() in TITLE_WORDS or words[0].casefold() == "the"):
        words.pop(0)
    if not 2 <= len(words) <= 4 or not all(CAPITAL.match(w) for w in words):
        return None
    if any(w.casefold() in NOT_PERSON_WORDS for w in words):
        return None
    return " ".join(words)


def person_keys(canonical: str, aliases: dict[str, list[str]]
                ) -> Iterator[tuple[str, str | None]]:
    """``(key, surname or None)`` of each mention of a canonical person: the case-folded
    mention, and the surname of a name (which matches only capitalised)."""
    for mention in [canonical, *aliases.get(canonical, [])]:
        surname = mention.split()[-1].casefold() if is_name_alias(mention) else None
        yield mention.casefold(), surname
