"""Reading one sentence: its quotes, its unclaimed quoted passages and its cues."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipeline.quoting.cues import Cue, assign_regions, find_cues
from pipeline.quoting.lexicon import DETERMINERS
from pipeline.quoting.marks import ABBREVIATION, BLANK, DOT, blank_quotes, quote_spans, strip_marks


@dataclass(frozen=True)
class QuoteParams:
    """The extraction settings (the job's ``quotes`` section holds the same names)."""

    #: Also extract unmarked and indirect reported speech.
    indirect: bool = True
    #: Ignore uncued quoted passages shorter than this (scare quotes).
    min_chars: int = 12


@dataclass
class Found:
    """A quote in clean-text offsets, before ids are given."""

    start: int
    end: int
    text: str
    direct: bool
    cue: str | None
    mention: str | None
    cited: str | None
    sentences: list[int] = field(default_factory=list)  # positions in the paragraph list



def _region_text(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink a region to its content: no leading/trailing spaces or joining punctuation."""
    while start < end and (text[start].isspace() or text[start] in ",:;—–"):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;:.—–"):
        end -= 1
    if text[start:end].lower().startswith("that "):
        start += 5
    tail = re.search(r"[\s,]+(?:and|but|or|và|nhưng)$", text[start:end])
    if tail:
        end = start + tail.start()
    return start, end


def read_sentence(text: str, params: QuoteParams) -> tuple[list[Found], list[tuple], list[Cue]]:
    """Quotes of one sentence (sentence offsets), its unclaimed quoted passages, and its cues."""
    spans = quote_spans(text)
    frame = ABBREVIATION.sub(lambda m: m.group(0)[:-1] + DOT, blank_quotes(text, spans))
    cues = find_cues(frame, text)
    for cue in cues:
        cue.mention = cue.mention.replace(DOT, ".") if cue.mention else None
        cue.cited = cue.cited.replace(DOT, ".") if cue.cited else None
        cue.outlet = cue.outlet.replace(DOT, ".") if cue.outlet else None
    assign_regions(frame, cues, text)
    # A Vietnamese outlet's cue keeps its own quote: "Sputnik cho biết, IDF tuyên bố …" (nested).
    person_cues = [c for c in cues if c.outlet is None or c.vi] or cues
    sentence_cited = next((c.cited or c.outlet for c in cues if c.cited or c.outlet), None)
    claimed: dict[int, Cue] = {}
    for n, (start, end, _) in enumerate(spans):
        best, distance = None, None
        for cue in person_cues:
            if cue.region and cue.region[0] <= start and end <= cue.region[1] + 1:
                d = start - cue.end if start >= cue.end else cue.start - end
                if distance is None or d < distance:
                    best, distance = cue, d
        if best is not None:
            claimed[n] = best
    found: list[Found] = []
    for cue in person_cues:
        if cue.region is None:
            continue
        mine = [spans[n] for n, c in claimed.items() if c is cue]
        others = [s for n, s in enumerate(spans) if n in claimed and claimed[n] is not cue
                  and cue.region[0] <= s[0] < cue.region[1]]
        if others and not mine:
            continue
        start, end = _region_text(text, *cue.region)
        if end <= start:
            continue
        cited = cue.cited or cue.outlet or sentence_cited
        if mine and len(mine) == 1 and start >= mine[0][0] - 1 and end <= mine[0][1] + 1:
            q_start, q_end, _ = mine[0]
            inner = strip_marks(text[q_start:q_end])
            if not inner:
                continue
            found.append(Found(q_start, q_end, inner, True, cue.text, cue.mention, cited))
        elif mine:
            q_end = max(end, max(s[1] for s in mine))
            quoted = sum(len(strip_marks(text[a:b]).split()) for a, b, _ in mine)
            direct = quoted >= 0.5 * len(text[start:q_end].split())
            found.append(Found(start, q_end, text[start:q_end].rstrip(" ,"), direct, cue.text,
                               cue.mention, cited))
        elif params.indirect and (cue.mention or cue.passive) and len(
                text[start:end].split()) >= 3:
            found.append(Found(start, end, text[start:end], False, cue.text, cue.mention,
                               cited))
    if not found and not any(c.region for c in cues) and spans:
        colon = _colon_quote(text, frame, spans[0])
        if colon is not None:
            found.append(colon)
            claimed[0] = Cue(0, 0, ":", "colon")
    unclaimed = [s for n, s in enumerate(spans) if n not in claimed]
    return found, unclaimed, cues


#: "Meghan McCain, Twitter: “…”", "Mook agreed: “…”": a short lead-in, a colon, a quotation.
COLON_LEAD = re.compile(r"^\s*([A-ZÀ-ỸĐ][^:;" + BLANK + r"]{0,100}?)\s*:\s*$")


def _colon_quote(text: str, frame: str, span: tuple[int, int, bool]) -> Found | None:
    """A quotation introduced by a capitalised lead-in of at most 8 words and a colon.

    The mention is the lead-in up to its first comma, without a trailing verb ("Mook agreed")
    and without a possessive reply noun ("Abedin's succinct reply").
    """
    start, end, _ = span
    lead = COLON_LEAD.match(frame[:start])
    inner = strip_marks(text[start:end])
    if lead is None or len(lead.group(1).split()) > 8 or len(inner.split()) < 2:
        return None
    mention = lead.group(1).split(",")[0].strip().replace(DOT, ".")
    words = mention.split()
    if len(words) > 1 and words[-1].islower():
        words = words[:-1]  # "Mook agreed", "Abedin's succinct reply" keeps the name
    while len(words) > 1 and words[-1].islower():
        words.pop()
    mention = re.sub(r"['’]s$", "", " ".join(words))
    if not mention or mention.lower() in DETERMINERS:
        return None
    return Found(start, end, inner, True, ":", mention, None)

