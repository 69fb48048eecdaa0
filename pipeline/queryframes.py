"""Reporting frames of a trace query: who the query says spoke, and what they said.

Users paste what they read, usually a reported paraphrase with its frame: "Putin said Russia and
Iran have very close positions", "Pezeshkian says that …", "According to the Iranian president,
…", "…, Ushakov added.", "Theo ông Putin, …", "Tổng thống Pezeshkian cho biết …". The frame
words are not part of the statement, so a quote's text embeds closer to the query without
them. :func:`parse_query` splits a query into ``(speaker mention or None, content)``:

- the cue verbs are those of the quote extractor (:mod:`pipeline.quoting.lexicon`: English
  reporting verbs, ``SPEECH_VERBS`` and ``TRAILING_VERBS``, and Vietnamese ``VI_VERBS``) and its
  auxiliaries (``has said``, ``đã nói``), plus "according to" / "theo";
- frames recognised: ``SPEAKER VERB [that|rằng|là|:|,] CONTENT`` (a "tell" verb may take a short
  object: "Putin told Pezeshkian that …"), ``According to|Theo SPEAKER, CONTENT``,
  ``CONTENT, according to|theo SPEAKER`` and ``CONTENT, SPEAKER VERB`` / ``CONTENT, VERB
  SPEAKER``; the speaker is at most ``MAX_SPEAKER_WORDS`` words without a clause break;
- a speaker that is a pronoun ("he said", "ông nói") gives no mention; a first-person one ("I
  think …", "we said …") is no frame at all: the query is then itself the speaker's words;
- :func:`towards_direct` rewrites English reported speech one simple step towards the direct
  speech a quote holds: the backshifted ``was``/``were``/``would`` go back to ``is``/``are``/
  ``will`` and, when a speaker is named, ``he``/``she``/``his``/``him`` become ``I``/``my``/
  ``me``. Everything else stays (``have`` stays ``have``); the trace embeds the query as
  written too, so a rewrite never loses what the query said.

Pure functions, no model: the trace (:mod:`pipeline.trace_query`) embeds both forms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.quoting.lexicon import (
    AUX,
    PRONOUNS_EN,
    PRONOUNS_VI,
    SPEECH_VERBS,
    TRAILING_VERBS,
    VI_VERBS,
)
from pipeline.speakers import PRONOUNS

#: The longest speaker mention a frame may hold ("Iranian President Masoud Pezeshkian" is 4).
MAX_SPEAKER_WORDS = 8
FIRST_PERSON = {"i", "we", "tôi", "chúng tôi", "chúng ta"}
NOT_SPEAKER = {*PRONOUNS, *PRONOUNS_EN, *PRONOUNS_VI} - FIRST_PERSON

_VERBS = sorted({*SPEECH_VERBS, *TRAILING_VERBS, *VI_VERBS}, key=len, reverse=True)
_VERB = "(?:" + "|".join(re.escape(v) for v in _VERBS) + ")"
#: A speaker: 1..MAX_SPEAKER_WORDS words, none ending a clause (no , ; : . ! ? or quote mark).
_SPEAKER = rf"(?P<speaker>[^\s,;:!?\"“”]+(?:\s+[^\s,;:!?\"“”]+){{0,{MAX_SPEAKER_WORDS - 1}}}?)"
_LINK = r"(?:\s*[:,]\s*|\s+(?:that|rằng|là)\s+|\s+)"
_ACCORDING = r"(?:[Aa]ccording to|[Tt]heo)"

PREFIX_VERB = re.compile(
    rf"^{_SPEAKER}\s+{AUX}(?:(?P<tell>told|tells|tell)\s+[^\s,:;.]+(?:\s+[^\s,:;.]+){{0,3}}?"
    rf"(?=\s+that\s)|(?P<verb>{_VERB})){_LINK}(?P<content>\S.*)$", re.DOTALL)
PREFIX_ACCORDING = re.compile(
    rf"^{_ACCORDING}\s+{_SPEAKER}\s*,\s*(?P<content>\S.*)$", re.DOTALL)
SUFFIX_ACCORDING = re.compile(
    rf"^(?P<content>.*\S)\s*,\s*{_ACCORDING}\s+{_SPEAKER}\s*[.!]?$", re.DOTALL)
SUFFIX_VERB = re.compile(
    rf"^(?P<content>.*\S)\s*(?:,[”\"’]?|[”\"’],?)\s*(?:{_SPEAKER}\s+{AUX}{_VERB}|{_VERB}\s+(?P<after>[^,;:]+?))"
    r"\s*[.!]?$", re.DOTALL)

QUOTES = "\"'“”‘’«»„"
BACKSHIFT = {"was": "is", "were": "are", "would": "will"}
FIRST_PERSON_OF = {"he": "I", "she": "I", "his": "my", "him": "me", "himself": "myself",
                   "herself": "myself"}
_BACKSHIFT = re.compile(r"\b(was|were|would)\b")
_THIRD = re.compile(r"\b(he|she|his|him|himself|herself)\b", re.IGNORECASE)


@dataclass(frozen=True)
class QueryFrame:
    """A query split at its reporting frame (``frame`` None: no frame, content = query)."""

    query: str
    speaker_mention: str | None
    content: str
    frame: str | None


def _is_speaker(mention: str) -> bool:
    words = mention.split()
    if not words or len(words) > MAX_SPEAKER_WORDS:
        return False
    # A copula makes it a clause, not a speaker ("the talks were said to …").
    return not any(w.casefold() in {"is", "are", "was", "were", "be", "been"} for w in words)


def _mention(raw: str) -> str | None:
    """The speaker mention of a frame, or None for a pronoun ("he said", "ông nói")."""
    mention = raw.strip().strip(QUOTES).rstrip(".!").strip()
    return None if mention.casefold() in NOT_SPEAKER else mention


def _strip_quotes(text: str) -> str:
    """``text`` without the quotation marks around it (and a comma left inside them)."""
    inner = text.strip().strip(QUOTES).rstrip(" ,").strip()
    return inner if inner and not any(q in inner for q in "“”\"") else text.strip()


def towards_direct(content: str, named_speaker: bool) -> str:
    """``content`` one simple step towards direct speech (see the module doc); English only."""
    text = _BACKSHIFT.sub(lambda m: BACKSHIFT[m.group(1)], content)
    if named_speaker:
        def first_person(match: re.Match[str]) -> str:
            word = FIRST_PERSON_OF[match.group(1).casefold()]
            return word if word == "I" or match.group(1)[0].islower() else word.capitalize()
        text = _THIRD.sub(first_person, text)
    return text


def _frame(query: str) -> tuple[str | None, str, str] | None:
    """``(raw speaker, content, frame)`` of the first frame that fits ``query``, or None."""
    for frame, pattern in (("according", PREFIX_ACCORDING), ("verb", PREFIX_VERB),
                           ("according", SUFFIX_ACCORDING), ("verb", SUFFIX_VERB)):
        match = pattern.match(query)
        if match is None:
            continue
        speaker = match.groupdict().get("speaker") or match.groupdict().get("after")
        if speaker is None or not _is_speaker(speaker):
            continue
        if speaker.strip().casefold() in FIRST_PERSON:
            return None  # "I think …", "we said …": the query is itself someone's words
        return speaker, match.group("content"), frame
    return None


def parse_query(text: str) -> QueryFrame:
    """Split a trace query into its speaker mention (or None) and content (see module doc)."""
    query = " ".join(text.split())
    found = _frame(query)
    if found is None:
        return QueryFrame(query, None, _strip_quotes(query) or query, None)
    raw_speaker, content, frame = found
    inner = _frame(content) if frame == "according" else None
    if inner is not None and inner[0] and _mention(inner[0]):
        # "Theo TASS, Tổng thống Pezeshkian tuyên bố …": the source cites the speaker.
        raw_speaker, content, frame = inner
    mention = _mention(raw_speaker) if raw_speaker else None
    content = _strip_quotes(content.rstrip(" ,;"))
    if not content:
        return QueryFrame(query, None, query, None)
    return QueryFrame(query, mention, towards_direct(content, mention is not None), frame)
