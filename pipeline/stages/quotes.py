"""quotes: sentences → quotations with their span, cue, speaker mention and cited source.

Contract: ``documents`` (cleaned) + ``sentences`` → ``quotes`` (columns of
:data:`pipeline.data.QUOTES`). ``char_start``/``char_end`` index the raw file like the sentences'
spans; ``speaker`` is left empty for the attribute stage. Rule-based, English and Vietnamese.

How a sentence is read (all matching runs on the sentence's *frame*: its text with every quoted
passage, marks included, blanked out, so a cue word inside a quotation is never a cue):

1. **Quoted passages**: curly (“…”, «…», „…“) or straight ("…") double quotes, paired within a
   sentence; an unclosed one runs to the end of the sentence. Single quotes are not quotations.
2. **Cues**: reporting verbs (said, says, told, tells, added, adding, stressed, claimed, wrote,
   was quoted as telling, reportedly said, …; with auxiliaries and adverbs written before them,
   "has also said"), ``according to``, and Vietnamese nói, tuyên bố, cho biết, nhấn mạnh, bày tỏ,
   khẳng định, … plus "Theo X," (= according to X). A verb right after a determiner ("the said
   deal") or a passive auxiliary ("was told") is not a cue.
3. **Speaker mention** of a cue: the subject before it, within its clause (after the last comma,
   colon or quotation; "As Yury Ushakov, an assistant to …, said" skips the appositive); or,
   with no subject, the noun phrase right after it ("…,” said Stephen Hall, …"); for
   ``according to``/``Theo``, the phrase after it. A participle cue ("…, adding, “…”") keeps the
   previous cue's speaker.
4. **Content region** of a cue: after it when a complement follows (``that …``, ``: …``,
   ``, “…”`` after an addressee, or a clause), up to the next cue's subject; otherwise before it
   (``“…,” Putin said``, ``…, said the head of the Kremlin``, ``…, according to him``).
5. **Quotes**: each quoted passage goes to the nearest cue whose region holds it. A region that
   is one quoted passage gives a *direct* quote whose text is the passage without its marks; a
   region of quoted passages mixed with the writer's words ("said ties were a “priority.”")
   gives one direct quote with the whole region as text; a region with no quotation gives an
   *indirect* quote (``direct=False``, only with ``quotes.indirect``), which also covers verbatim
   speech printed without marks ("We actively work together …, said the illegitimate head of
   the Kremlin").
6. **Continuations**: a quoted passage that no cue claims continues the direct quote just before
   it and is merged into it (text joined with a space, span and sentence ids extended): in the
   same sentence ("“…,” said X, “…”"), in the next sentence of the paragraph when that sentence
   has no cue ("“…,” Pezeshkian said. “…”"), or opening the next paragraph when the quote ended
   its paragraph (the press convention for a quote running over paragraphs). Any other uncued
   passage is a scare quote or a title and is skipped, and so is a passage shorter than
   ``quotes.min_chars`` (or of one word) that no cue claims. A mixed region is ``direct`` when
   its quoted words are at least half of its words.
7. **Trailing quotes first**: a quotation that ends in a comma, ? or ! right before a cue's
   subject is that cue's content even when words follow the cue ("“…,” she wrote back to him"),
   unless they are a ``that``/colon complement or hold a quotation. Some verbs are cues only
   there (``TRAILING_VERBS``: exclaimed, shot back, quipped, conceded, …), and an abbreviated
   title keeps a name capitalised ("said Mr. Clyburn, the …").
8. **Colon lead-ins**: a sentence with no cue that is a capitalised lead-in of at most 8 words,
   a colon and a quotation ("Meghan McCain, Twitter: “…”", "Mook agreed: “…”") gives a direct
   quote whose mention is the lead-in up to its first comma, without trailing lower-case words.
9. **Split quotations**: a sentence that is one quotation and nothing else, with no cue, is read
   together with the next sentence of its paragraph when that gives a direct quote holding it
   (“Why was that money sitting in the bank?” ¶ Mr. Clyburn said, echoing …: the segmenter
   ends a sentence at ``?”``).
10. **Cited source**: a news outlet that the sentence credits: the subject of a cue when it is an
   outlet ("Russian state news agency Tass said"), the addressee of told/tells when it is an
   outlet or "journalists" ("told The Telegraph"), the object of according to / Theo ("Theo
   hãng thông tấn TASS"); else the document's agency tag or dateline ("rc/wmr (AFP, AP, dpa)",
   "Washington (AFP) –"). An outlet cue alone in its sentence is itself the quote's speaker
   mention ("Tass said the Kremlin chief had …").
11. **Framing verbs** (``QUOTE_AFTER_VERBS``: called, called for, referred to, described,
   dubbed, boasts, lamented, charged, …) are cues only when a quotation follows them in their
   clause ("The mayor called the plan “a gift to developers”", "referred to him as “…”"); a
   naming verb (called, dubbed, labeled, branded) needs an object first, so "a pattern called
   “late deciding”" names a term. Their content is never before them: it runs from the verb to
   the clause's last quotation and at most three words more, stopping at punctuation.
12. **Quote-only paragraphs**: a paragraph opening with a sentence that is only a quotation,
   with no cue and no quote to continue, is a direct quote of the latest quote's speaker
   mention (the press convention that such a paragraph goes on with the last speaker).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import ClassVar

import pandas as pd

from pipeline.base import Stage, StageContext, Tables
from pipeline.config import QuotesConfig
from pipeline.data import QUOTES
from pipeline.stages.clean import clean_text_of

# ---------------------------------------------------------------------------------------------
# Quotation marks
# ---------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------
# Cues
# ---------------------------------------------------------------------------------------------

#: Reporting verbs, lower case and matched case-sensitively ("States" is not "states").
SPEECH_VERBS = [
    "said", "says", "say", "saying", "told", "tells", "tell", "telling", "added", "adds",
    "adding", "stressed", "stresses", "stressing", "claimed", "claim", "claiming", "stated",
    "declared", "declares", "explained", "explains", "noted", "wrote", "writes", "writing",
    "asked", "asks", "insisted", "insists", "argued", "argues", "warned", "warns", "announced",
    "announces", "replied", "responded", "acknowledged", "admitted", "emphasized",
    "emphasised", "emphasizes", "emphasises", "tweeted", "recalled", "predicted", "suggested",
    "suggests", "remarked", "reported", "believes", "believe", "believed", "thinks", "think",
    "accused", "accuses", "denied", "denies", "demanded", "demands", "demand", "blamed",
    "urged", "urges", "lied", "noting",
]
#: Verbs that report an act (accusing, denying) more than words: their content follows them,
#: never precedes them ("…, Tehran denies these accusations" is not a quote of Tehran).
#: Verbs that are cues only right after a quotation ending in a comma, ? or !, with at most
#: a short subject between ("“…!” he exclaimed", "“…,” shot back Trump"): elsewhere they are
#: too often not about speech ("the team continued", "she joked about it").
TRAILING_VERBS = [
    "exclaimed", "shot back", "quipped", "joked", "continued", "recounted", "mused", "wondered",
    "concluded", "boasted", "lamented", "complained", "conceded", "countered", "cautioned",
    "observed", "vowed", "promised", "recalls", "recall", "explain", "tweeted", "pleaded",
    "shouted", "yelled", "chimed in", "went on", "posted", "agreed", "answered",
]
#: Verbs that frame a quotation without being reporting verbs ("called Ryan a “weak leader”",
#: "referred to her as “…”", "describes how …", "boasts that …"): cues only when a quotation
#: follows them in their clause (before the next . ; ! ?, within QUOTE_AFTER_REACH characters).
QUOTE_AFTER_VERBS = [
    "called", "calls", "calling", "called for", "calls for", "called on", "calls on",
    "referred to", "refers to", "referring to", "described", "describes", "describing",
    "dubbed", "labeled", "labelled", "labeling", "branded", "boasts", "boasted", "boasting",
    "boasted about", "lamented", "laments", "conceded", "charged", "mused", "musing",
    "wondering aloud", "assured", "criticized", "trumpets", "dismissing", "dismissed",
]
QUOTE_AFTER_REACH = 160
#: Naming verbs need an object before the quotation: "a phenomenon called “…”" names a term.
NAMING_VERBS = {"called", "dubbed", "labeled", "labelled", "branded"}
NO_TRAILING = {"accused", "accuses", "denied", "denies", "demanded", "demands", "demand",
               "blamed", "urged", "urges", "lied", "believe", "believes", "believed", "think",
               "thinks", "suggested", "suggests", "cáo buộc"}
TELL_VERBS = {"told", "tells", "tell", "telling"}
VI_VERBS = ["tuyên bố", "cho biết", "nhấn mạnh", "bày tỏ", "khẳng định", "phát biểu",
            "cho rằng", "tiết lộ", "nhận định", "cáo buộc", "nói"]
AUX = (r"(?:(?:has|have|had|would|will|also|later|then|reportedly|previously|recently|once|"
       r"again|publicly|repeatedly|further|first|đã|cũng|vừa|từng|sẽ|đang|còn)\s+){0,3}")
PHASE = r"(?:(?:began|begins|started|starts|continued|continues|went on)\s+to\s+)?"
_VERB_ALT = "|".join(sorted({*SPEECH_VERBS, *TRAILING_VERBS, *QUOTE_AFTER_VERBS}, key=len,
                            reverse=True))
#: What may stand between a quotation and a trailing-only verb: nothing, or a short subject.
AFTER_QUOTE = re.compile(BLANK + r"\s*(?:[^\s" + BLANK + r",.;:]+\s+){0,4}$")
_VI_ALT = "|".join(sorted(VI_VERBS, key=len, reverse=True))
CUE = re.compile(
    rf"(?<![\w-]){AUX}{PHASE}{AUX}(?:(?P<quoted>(?:was|were|is) quoted as (?:telling|saying))"
    rf"|(?P<verb>{_VERB_ALT})|(?P<vi>{_VI_ALT})"
    r"|(?P<according>[Aa]ccording to)|(?P<theo>(?<![^\s,;:(])Theo))(?![\w-])"
)
#: A word of every cue CUE can match (its first, or "quoted"). A cue starts where no word
#: character or hyphen precedes it, and its words are separated by spaces, so such a word is a
#: whole run of WORD_RUN in the frame: a frame with none of these words has no cue.
WORD_RUN = re.compile(r"[\w-]+")
CUE_HEADS = frozenset(
    [phrase.split(" ")[0] for phrase in [*SPEECH_VERBS, *TRAILING_VERBS, *QUOTE_AFTER_VERBS,
                                         *VI_VERBS]]
    + ["According", "according", "Theo", "quoted"])
assert all(WORD_RUN.fullmatch(head) for head in CUE_HEADS)
NOUN_BEFORE = re.compile(
    r"(?:^|\s)(?:the|a|an|his|her|its|their|this|these|those|such|our|your|my|is|was|were|are|"
    r"be|been|being|to)\s*$", re.IGNORECASE)
#: How far before a cue a NOUN_BEFORE match can start (a space, a word of 5, spaces collapsed).
NOUN_BEFORE_REACH = 64

PRONOUNS_EN = {"he", "she", "they", "we", "i", "it", "him", "her", "them", "us", "you"}
PRONOUNS_VI = {"ông", "bà", "anh", "chị", "họ", "tôi", "chúng tôi"}
DETERMINERS = {"the", "a", "an", "both", "many", "some", "his", "her", "its", "their", "this",
               "that", "these", "those", "several", "two", "all", "most", "other", "another"}
#: Words that end a noun phrase read after a cue ("said the head of the Kremlin during …").
NP_STOP = {
    "during", "at", "in", "on", "with", "to", "after", "before", "when", "while", "as", "who",
    "which", "that", "from", "for", "about", "last", "this", "earlier", "recently",
    "yesterday", "today", "and", "but", "by", "tại", "trong", "khi", "về", "rằng", "với",
}
LEADING_JUNK = re.compile(
    r"^(?:(?:as|but|and|so|then|while|when|however|meanwhile|though|although|because|since|if|"
    r"yet|also|that|và|nhưng|gần đây|đồng thời|trước đó|sau đó|khi|như)\s+)+", re.IGNORECASE)
#: Words after which a subject starts ("… has not minced words when it demanded").
SUBORDINATE = re.compile(
    r"^.*(?:^|\s)(?:when|because|if|while|although|though|since|after|before|where|whether|"
    r"(?:is|was) that|khi|rằng|nếu)\s+", re.IGNORECASE)
AS_CLAUSE = re.compile(r"^(?:as|như)\s", re.IGNORECASE)
TRAILING_JUNK = re.compile(r"(?:\s+(?:has|have|had|would|will|also|đã|cũng|vừa|từng))+$")
NOT_ADVERBS = {"daily", "weekly", "monthly", "quarterly", "family", "ally", "rally", "assembly",
               "supply", "italy", "july"}
CAPITALISED = re.compile(r"^[A-ZÀ-ỸĐ][\w’'.\u2024-]*$")  # \u2024: a hidden abbreviation dot
NAME_PARTICLE = {"al-", "bin", "de", "van", "von", "of", "la", "le", "da", "di", "the"}

# ---------------------------------------------------------------------------------------------
# Outlets
# ---------------------------------------------------------------------------------------------

KNOWN_OUTLETS = [
    "RIA Novosti", "Associated Press", "Press TV", "Fox News", "TRT World", "Al Jazeera",
    "The Telegraph", "The Guardian", "The New York Times", "New York Times",
    "The Washington Post", "Washington Post", "The Wall Street Journal", "Wall Street Journal",
    "Tass", "TASS", "Interfax", "Sputnik", "Reuters", "AFP", "AP", "dpa", "DPA", "Xinhua", "IRNA",
    "Tasnim", "ISNA", "CNN", "BBC", "NBC", "CBS", "ABC", "MSNBC", "NPR", "Bloomberg", "Politico",
    "Axios", "CNBC", "Anadolu", "Kyodo", "Yonhap", "VnExpress", "TTXVN", "VTV", "Ettelaat",
]
_OUTLET = re.compile(r"(?<![\w-])(" + "|".join(re.escape(o) for o in KNOWN_OUTLETS) + r")(?![\w-])")
MEDIA_WORDS = {"news", "times", "post", "world", "journal", "radio", "tv", "agency", "press",
               "daily", "telegraph", "guardian", "herald", "tribune", "magazine", "network",
               "gazette", "broadcasting", "television", "wire"}
AUDIENCES = {"journalists", "reporters", "the press", "the media", "báo chí", "phóng viên",
             "các phóng viên"}
AGENCY_PREFIX = re.compile(
    r"(?:news agency|agency|newspaper|broadcaster|hãng thông tấn|hãng tin|thông tấn xã|báo|tờ|"
    r"đài)\s+((?:[A-ZÀ-ỸĐ][\w’'.-]*\s?)+)")
AGENCY_TAG = re.compile(r"^\s*[a-z]{1,4}(?:/[a-z]{1,4})+\s*\(([^)]+)\)\s*$", re.MULTILINE)
DATELINE = re.compile(r"^[A-Z][\w .,'-]{0,40}\((AFP|AP|Reuters|dpa|Xinhua|TASS|Tass)\)\s*[-–—]",
                      re.MULTILINE)


def outlet_of(phrase: str | None) -> str | None:
    """The news outlet a noun phrase names, as written, or None."""
    if not phrase:
        return None
    phrase = phrase.strip()
    if phrase.lower() in AUDIENCES:
        return phrase
    known = _OUTLET.search(phrase)
    if known:
        return known.group(1)
    prefixed = AGENCY_PREFIX.search(phrase)
    if prefixed:
        return prefixed.group(1).strip()
    words = phrase.split()
    if (len(words) >= 2 and words[0] == "The" and all(CAPITALISED.match(w) for w in words[1:])
            and any(w.lower() in MEDIA_WORDS for w in words[1:])):
        return phrase
    if len(words) >= 2 and all(CAPITALISED.match(w) for w in words) and \
            words[-1].lower() in MEDIA_WORDS:
        return phrase
    return None


def document_source(raw: str, clean: str) -> str | None:
    """The agency tag ("rc/wmr (AFP, AP, dpa)") or dateline ("Washington (AFP) –") credit."""
    tag = AGENCY_TAG.search(raw)
    if tag:
        return tag.group(1).strip()
    dateline = DATELINE.search(clean[:2000])
    return dateline.group(1) if dateline else None


# ---------------------------------------------------------------------------------------------
# Reading one sentence
# ---------------------------------------------------------------------------------------------


@dataclass
class Cue:
    start: int  # offsets in the sentence
    end: int
    text: str
    kind: str  # verb | tell | according | theo
    mention: str | None = None
    mention_start: int | None = None  # where the subject starts (trailing cues end content here)
    inverted: bool = False
    addressee: str | None = None
    outlet: str | None = None  # the cue's own speaker is a news outlet
    cited: str | None = None  # an outlet the cue credits (addressee or according-to object)
    region: tuple[int, int] | None = None
    as_clause: bool = False  # "As X said, …": the content follows the comma
    framing: bool = False  # a QUOTE_AFTER_VERBS cue: its content is the quotation after it


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


def _tokens(text: str) -> list[re.Match[str]]:
    return list(re.finditer(r"[^\s]+", text))


def _trim(text: str) -> str:
    return text.strip().strip(",;:.!?—–-").strip()


def _name_tail(words: list[str]) -> list[str]:
    """The trailing run of capitalised words (with name particles) of ``words``."""
    tail: list[str] = []
    for word in reversed(words):
        if CAPITALISED.match(word) or (tail and word.lower() in NAME_PARTICLE):
            tail.insert(0, word)
        else:
            break
    while tail and tail[0].lower() in NAME_PARTICLE:
        tail.pop(0)
    return tail


def _is_name(chunk: str) -> bool:
    words = chunk.split()
    return bool(words) and len(words) <= 5 and all(
        CAPITALISED.match(w) or w.lower() in NAME_PARTICLE for w in words)


def _noun_phrase(chunk: str) -> str | None:
    """A speaker mention from the words before a cue (already cut to its clause)."""
    chunk = SUBORDINATE.sub("", chunk.strip())
    chunk = LEADING_JUNK.sub("", chunk)
    chunk = TRAILING_JUNK.sub("", chunk).strip().strip(",")
    words = chunk.split()
    while len(words) > 1 and words[-1].endswith("ly") and words[-1].islower() and \
            words[-1] not in NOT_ADVERBS:
        words.pop()  # "the head of state categorically denies"
    chunk = " ".join(words)
    if not chunk or BLANK in chunk:
        return None
    words = chunk.split()
    if words and words[-1].lower() in ("and", "but", "và"):
        return _sentence_subject(chunk)  # "Donald J. Trump has denounced the deal and said"
    if len(words) <= 10:
        return chunk
    tail = _name_tail(words)
    if tail:
        return " ".join(tail)
    for i in range(len(words) - 1, max(len(words) - 9, -1), -1):
        if words[i].lower() in DETERMINERS:
            return " ".join(words[i:])
    return None


def _phrase_after(frame: str, start: int) -> tuple[str | None, int]:
    """The noun phrase starting at ``start`` (after a cue) and where it ends."""
    match = re.match(r"\s*([^,;:.!?()" + BLANK + r"]*)", frame[start:])
    assert match is not None
    words, taken = [], []
    for token in _tokens(match.group(1)):
        word = token.group(0)
        if word.lower() in NP_STOP or (len(words) >= 8):
            break
        words.append(word)
        taken.append(token)
    if not words:
        return None, start
    first = words[0].lower()
    if not (CAPITALISED.match(words[0]) or first in DETERMINERS or first in PRONOUNS_EN
            or first in PRONOUNS_VI or first in AUDIENCES or first.endswith("s")):
        return None, start
    end = start + match.start(1) + taken[-1].end()
    return " ".join(words), end


def _subject(frame: str, cue_start: int, floor: int = 0) -> tuple[str | None, int | None, bool]:
    """``(mention, mention_start, as_clause)`` of the subject before a cue (after ``floor``)."""
    left = BLANK * floor + frame[floor:cue_start]
    cut = max(left.rfind(c) for c in ",;:()—–" + BLANK)
    chunk = left[cut + 1:]
    base = cut + 1
    if not chunk.strip() and cut >= 0 and left[cut] == ",":
        # "X, an assistant to …, said": skip one appositive between commas.
        parts = [m for m in re.finditer(r"[^,;:()—–" + BLANK + r"]+", left) if m.group(0).strip()]
        if len(parts) >= 2:
            last, before = parts[-1], parts[-2]
            if left[last.end():cut + 1].strip() == "," and left[before.end()] == ",":
                if _is_name(LEADING_JUNK.sub("", last.group(0).strip())):
                    chunk, base = last.group(0), last.start()
                else:
                    chunk, base = before.group(0), before.start()
    if not chunk.strip():
        return None, None, False
    as_clause = bool(AS_CLAUSE.match(chunk.strip()))
    mention = _noun_phrase(chunk)
    if mention is None:
        return None, None, as_clause
    return mention, base + chunk.rfind(mention) if mention in chunk else base, as_clause


CLAUSE_STOP = {"at", "on", "in", "during", "after", "before", "with", "to", "for", "from",
               "about", "of", "by", "as", "while", "when", "recently", "later", "earlier", "last",
               "this", "yesterday", "today", "tại", "trong", "vào", "với"}


def _complement_start(frame: str, cue: Cue, limit: int) -> int | None:
    """Where the content after a cue starts (before ``limit``, the next cue), or None."""
    rest = frame[cue.end:limit]
    head = re.split(r"[.;!?]", rest, maxsplit=1)[0]
    that = re.search(r"(?<!\w)(?:that|rằng|là)(?!\w)", head[:90].split(BLANK, 1)[0])
    if that and cue.kind != "according":
        return cue.end + that.end()
    colon = re.match(r"^[^,.;" + BLANK + r"]{0,60}?:\s*", rest)
    if colon:
        return cue.end + colon.end()
    comma_quote = re.match(r"^[^.;" + BLANK + r"]{0,60}?[,:]\s*(?=" + BLANK + ")", rest)
    if comma_quote:
        return cue.end + comma_quote.end()
    if cue.as_clause or cue.kind in ("according", "theo"):
        comma = re.match(r"^[^.;" + BLANK + r"]{0,80}?,\s*", rest)
        if comma and len(rest[comma.end():].split()) >= 3:
            return cue.end + comma.end()
        return None
    if cue.kind == "tell" or cue.inverted:
        return None
    words = rest.split()
    if len(words) >= 3 and (words[0].lower() not in CLAUSE_STOP) and \
            not re.match(r"^\s*[,.;:]", rest):
        return cue.end + (len(rest) - len(rest.lstrip()))
    if rest.lstrip().startswith(BLANK):
        return cue.end + (len(rest) - len(rest.lstrip()))
    return None


def find_cues(frame: str, text: str | None = None) -> list[Cue]:
    """The cues of a sentence frame (``text``, the sentence, tells trailing-only verbs)."""
    cues: list[Cue] = []
    if CUE_HEADS.isdisjoint(WORD_RUN.findall(frame)):
        return cues  # no word a cue can start with: CUE cannot match
    for match in CUE.finditer(frame):
        # The patterns below end at the cue: searched near it, not over the whole frame before
        # it for every cue (quadratic in a long sentence of many cues).
        if NOUN_BEFORE.search(frame, max(0, match.start() - NOUN_BEFORE_REACH), match.start()) \
                and not match.group("according"):
            continue
        verb = match.group("verb") or ""
        if verb and verb not in SPEECH_VERBS:
            last_blank = frame.rfind(BLANK, 0, match.start())  # where AFTER_QUOTE can start
            after = (AFTER_QUOTE.match(frame, last_blank, match.start()) if last_blank >= 0
                     else None)
            trailing = verb in TRAILING_VERBS and after is not None and _ends_trailing_quote(
                frame, text, after.start() + 1)
            clause = re.split(r"[.;!?]", frame[match.end():match.end() + QUOTE_AFTER_REACH],
                              maxsplit=1)[0]
            framing = verb in QUOTE_AFTER_VERBS and BLANK in clause[:QUOTE_AFTER_REACH] and not (
                verb in NAMING_VERBS and not clause.split(BLANK, 1)[0].strip())
            if not (trailing or framing):
                continue
        if match.group("theo") and frame[:match.start()].strip(" ,;:"):
            continue  # "Theo X," opens its clause
        kind = ("according" if match.group("according") else "theo" if match.group("theo")
                else "tell" if verb in TELL_VERBS or (match.group("quoted") or "").endswith(
                    "telling") else "verb")
        cues.append(Cue(match.start(), match.end(), match.group(0), kind,
                        framing=bool(verb) and verb not in SPEECH_VERBS and not trailing))
    for i, cue in enumerate(cues):
        _read_cue(frame, cue, cues[i - 1] if i else None)
    return cues


def _read_cue(frame: str, cue: Cue, previous: Cue | None) -> None:
    if cue.kind in ("according", "theo"):
        phrase = re.match(r"\s*([^,;:.!?()" + BLANK + r"]*)", frame[cue.end:])
        cue.mention = _trim(phrase.group(1)) if phrase else None
        if cue.mention and len(cue.mention.split()) > 8:
            cue.mention = None
        cue.outlet = outlet_of(cue.mention)
        cue.as_clause = not frame[:cue.start].strip(" ,")
        return
    floor = previous.end if previous is not None else 0
    mention, mention_start, as_clause = _subject(frame, cue.start, floor)
    cue.as_clause = as_clause
    if mention is None and cue.text.endswith("ing") and previous is not None:
        cue.mention = previous.mention  # "…, adding, “…”"
        cue.outlet = previous.outlet
    elif mention is None and cue.text.endswith("ing") and frame[:cue.start].rstrip().endswith(","):
        cue.mention = _sentence_subject(frame)  # "Trump is slamming …, saying “…”"
    elif mention is None:
        after, _ = _phrase_after(frame, cue.end)
        if after is not None:
            cue.mention, cue.inverted = after, True
            cue.mention_start = cue.start  # content before ", said X" ends at the cue
            if cue.kind == "tell":
                cue.addressee = None
    else:
        cue.mention, cue.mention_start = mention, mention_start
    if cue.kind == "tell" and not cue.inverted:
        addressee, _ = _phrase_after(frame, cue.end)
        cue.addressee = addressee
        if outlet_of(addressee):
            cue.cited = outlet_of(addressee)
    if cue.mention and outlet_of(cue.mention) and not _is_pronoun(cue.mention):
        cue.outlet = outlet_of(cue.mention)


def _sentence_subject(frame: str) -> str | None:
    """The name or short noun phrase opening a sentence ("Donald Trump", "The newspaper")."""
    words = frame.split()
    run: list[str] = []
    for word in words[:5]:
        if CAPITALISED.match(word.rstrip(",")) and not word.endswith(","):
            run.append(word)
        else:
            break
    if run and run[-1].lower() in DETERMINERS and len(words) > len(run):
        run.append(words[len(run)].rstrip(","))
    if not run or (len(run) == 1 and run[0].lower() in DETERMINERS):
        return None
    return " ".join(run)


def _is_pronoun(mention: str) -> bool:
    return mention.lower() in PRONOUNS_EN or mention.lower() in PRONOUNS_VI


def _ends_trailing_quote(frame: str, text: str | None, stop: int) -> bool:
    """Whether a quotation that ends in a comma, ? or ! closes right before ``stop``.

    ``“…,” she wrote back to him``: such a passage is the content of the cue that follows it.
    """
    before = frame[:stop].rstrip()
    if text is None or not before.endswith(BLANK):
        return False
    inner = text[:len(before)].rstrip("”»\"'").rstrip()
    return inner.endswith((",", "?", "!"))


def _framing_region(frame: str, cue: Cue, later: list[Cue]) -> tuple[int, int] | None:
    """A framing cue's content: from the cue to its clause's last quotation and at most three
    words more, stopping at punctuation ("called it “…” in history")."""
    limit = len(frame)
    for other in later:
        stop = other.mention_start if other.mention_start is not None else other.start
        limit = min(limit, stop if stop > cue.end else other.start)
        break
    clause = re.split(r"[.;!?]", frame[cue.end:limit], maxsplit=1)[0]
    last = clause.rfind(BLANK)
    if last < 0:
        return None
    tail = re.match(r"(?:[^\s,;:()—–" + BLANK + r"]+\s*){0,3}", clause[last + 1:].lstrip())
    assert tail is not None
    end = cue.end + last + 1
    if tail.group(0).strip():
        end = cue.end + last + 1 + (len(clause[last + 1:]) - len(clause[last + 1:].lstrip()))
        end += len(tail.group(0).rstrip())
    return cue.end, end


def assign_regions(frame: str, cues: list[Cue], text: str | None = None) -> None:
    """Each cue's content region in the sentence: after it, or else before it (trailing)."""
    end_of_text = len(frame.rstrip().rstrip(".!?").rstrip())
    for i, cue in enumerate(cues):
        if cue.framing:
            cue.region = _framing_region(frame, cue, cues[i + 1:])
            continue
        stop = cue.mention_start if cue.mention_start is not None else cue.start
        trailing = i == 0 and _ends_trailing_quote(frame, text, stop)
        limit = len(frame)
        if i + 1 < len(cues):
            following = cues[i + 1]
            limit = following.start
            if following.mention_start is not None and following.mention_start > cue.end:
                limit = min(limit, following.mention_start)
        start = _complement_start(frame, cue, limit)
        if start is not None:
            end = end_of_text
            for later in cues[i + 1:]:
                stop = later.mention_start if later.mention_start is not None else later.start
                if stop > start and not later.as_clause:
                    end = min(end, stop)
                    break
            plain = BLANK not in frame[start:end] and not re.search(
                r"(?<!\w)that(?!\w)|:", frame[cue.end:start])
            if len(frame[start:end].split()) >= 1 and not (trailing and plain):
                cue.region = (start, end)
                continue
        stop = cue.mention_start if cue.mention_start is not None else cue.start
        if cue.kind == "according":
            stop = cue.start
        before = frame[:stop].rstrip()
        if cue.text.split()[-1] in NO_TRAILING or cue.text.endswith("cáo buộc"):
            continue
        if before.endswith((",", BLANK)) or cue.inverted or cue.kind == "according":
            begin = 0
            for earlier in cues[:i]:
                if earlier.region and earlier.region[1] <= stop and earlier.kind == "according":
                    begin = max(begin, earlier.end)
            if len(frame[begin:stop].split()) >= 1:
                cue.region = (begin, stop)


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


def read_sentence(text: str, config: QuotesConfig) -> tuple[list[Found], list[tuple], list[Cue]]:
    """Quotes of one sentence (sentence offsets), its unclaimed quoted passages, and its cues."""
    spans = quote_spans(text)
    frame = ABBREVIATION.sub(lambda m: m.group(0)[:-1] + DOT, blank_quotes(text, spans))
    cues = find_cues(frame, text)
    for cue in cues:
        cue.mention = cue.mention.replace(DOT, ".") if cue.mention else None
        cue.cited = cue.cited.replace(DOT, ".") if cue.cited else None
        cue.outlet = cue.outlet.replace(DOT, ".") if cue.outlet else None
    assign_regions(frame, cues, text)
    person_cues = [c for c in cues if c.outlet is None] or cues
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
        elif config.indirect and cue.mention and len(text[start:end].split()) >= 3:
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


# ---------------------------------------------------------------------------------------------
# The stage
# ---------------------------------------------------------------------------------------------


def _sentence_positions(text_clean: str, texts: list[str]) -> list[int]:
    """Clean-text start of each sentence: sentences are in-order substrings of the text."""
    positions, cursor = [], 0
    for sentence in texts:
        found = text_clean.find(sentence, cursor)
        if found < 0:
            found = text_clean.find(sentence)
        positions.append(max(found, 0))
        cursor = max(found, 0) + len(sentence)
    return positions


def _paragraph_numbers(text_clean: str, positions: list[int]) -> list[int]:
    """Paragraph number (newlines before it) of each position: a binary search in the
    newlines' offsets, where counting them from the start for every sentence was quadratic
    (200,000 one-line paragraphs took minutes)."""
    newlines = [match.start() for match in re.finditer("\n", text_clean)]
    return [bisect.bisect_left(newlines, position) for position in positions]


def _quote_only(sentence: str) -> bool:
    """Whether a sentence is one closed quotation and nothing else."""
    spans = quote_spans(sentence)
    return len(spans) == 1 and spans[0][2] and not blank_quotes(sentence, spans).strip(
        BLANK + " .,")


def extract_document(text_clean: str, sentences: list[str], config: QuotesConfig,
                     default_source: str | None = None) -> list[Found]:
    """Quotes of one cleaned document in clean-text offsets; ``sentences`` are its sentences."""
    positions = _sentence_positions(text_clean, sentences)
    quotes: list[Found] = []
    last_direct: Found | None = None  # the paragraph's latest direct quote, for continuations
    last_sentence = -1
    open_paragraph: Found | None = None  # a quote whose paragraph ended inside it
    paragraph_of = _paragraph_numbers(text_clean, positions)
    joined: set[int] = set()  # sentences read together with the one before them
    last_mention: str | None = None  # the speaker of the latest quote, for quote-only paragraphs
    for k, (sentence, base) in enumerate(zip(sentences, positions, strict=True)):
        if k and paragraph_of[k] != paragraph_of[k - 1]:
            # A quote that ended its paragraph may go on in the next one.
            open_paragraph = last_direct if last_direct and last_sentence == k - 1 else None
            last_direct = None
        if k in joined:
            continue
        found, unclaimed, cues = read_sentence(sentence, config)
        if not found and _quote_only(sentence) and k + 1 < len(sentences) and \
                paragraph_of[k + 1] == paragraph_of[k]:
            # “Why was that money sitting in the bank?” ¶ Mr. Clyburn said, echoing …: the
            # segmenter ended the sentence inside the quote; read the two as one.
            pair = text_clean[base:positions[k + 1] + len(sentences[k + 1])]
            pair_found, pair_unclaimed, pair_cues = read_sentence(pair, config)
            if any(q.direct and q.start <= len(sentence) - len(sentence.lstrip()) + 1
                   for q in pair_found):
                sentence, found, unclaimed, cues = pair, pair_found, pair_unclaimed, pair_cues
                joined.add(k + 1)
        for quote in found:
            quote.start += base
            quote.end += base
            quote.sentences = [k, k + 1] if k + 1 in joined else [k]
            quote.cited = quote.cited or default_source
            quotes.append(quote)
            last_mention = quote.mention or last_mention
            if quote.direct:
                last_direct, last_sentence = quote, quote.sentences[-1]
        has_cue = any(c.region for c in cues)
        for start, end, _ in unclaimed:
            inner = strip_marks(sentence[start:end])
            if len(inner) < config.min_chars or len(inner.split()) < 2:
                continue
            if last_direct is not None and base + start >= last_direct.end and (
                    last_sentence == k or (last_sentence == k - 1 and not has_cue)):
                target = last_direct  # “…,” Pezeshkian said. “…”
            elif open_paragraph is not None and start == 0 and not has_cue:
                target = open_paragraph  # a paragraph that only goes on quoting
            elif (start == 0 and not has_cue and last_mention and _quote_only(sentence)
                  and (k == 0 or paragraph_of[k] != paragraph_of[k - 1])):
                # A paragraph that is only a quotation continues the last speaker.
                quote = Found(base + start, base + end, inner, True, None, last_mention,
                              quotes[-1].cited if quotes else default_source, [k])
                quotes.append(quote)
                last_direct, last_sentence, open_paragraph = quote, k, None
                continue
            else:
                continue  # a scare quote, a title: no speaker
            target.end = base + end
            target.text = f"{target.text} {inner}"
            if k not in target.sentences:
                target.sentences.append(k)
            last_direct, last_sentence, open_paragraph = target, k, None
    quotes.sort(key=lambda q: (q.start, q.end))
    return quotes


def quotes_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    """The quotes table with QUOTES' columns; text columns keep None (not NaN) for missing."""
    def missing(value: object) -> bool:
        return value is None or (isinstance(value, float) and value != value)

    columns = {name: pd.Series([None if missing(row[name]) else row[name] for row in rows],
                               dtype=object) for name in QUOTES.names}
    frame = pd.DataFrame(columns)
    frame["char_start"] = frame["char_start"].astype("int64")
    frame["char_end"] = frame["char_end"].astype("int64")
    frame["direct"] = frame["direct"].astype(bool)
    return frame


class Quotes(Stage):
    name: ClassVar[str] = "quotes"
    reads = ("documents", "sentences")
    writes = ("quotes",)
    per_document = True

    def run(self, tables: Tables, context: StageContext) -> Tables:
        config: QuotesConfig = self.job.quotes
        documents, sentences = tables["documents"], tables["sentences"]
        context.progress.total(len(documents))
        rows: list[dict[str, object]] = []
        rows_of: dict[str, list[int]] = {}
        for n, doc_id in enumerate(sentences["doc_id"].tolist()):
            rows_of.setdefault(doc_id, []).append(n)
        all_texts, all_ids = sentences["text"].tolist(), sentences["sent_id"].tolist()
        all_idx = sentences["idx"].tolist()
        all_langs = sentences["lang"].tolist() if "lang" in sentences else None
        for row in documents.itertuples(index=False):
            mine = rows_of.get(row.doc_id)
            context.progress.advance()
            if not config.enabled or not mine:
                continue
            mine = sorted(mine, key=all_idx.__getitem__)  # reading order
            clean = clean_text_of(row)
            raw = getattr(row, "raw_text", None)
            texts = [all_texts[n] for n in mine]
            ids = [all_ids[n] for n in mine]
            langs = ([all_langs[n] for n in mine] if all_langs is not None
                     else [getattr(row, "lang", None)] * len(mine))
            source = document_source(raw or "", clean.text)
            for n, quote in enumerate(extract_document(clean.text, texts, config, source)):
                start, end = clean.raw_span(quote.start, quote.end, raw)
                rows.append({
                    "quote_id": f"{row.doc_id}:q{n:03d}",
                    "doc_id": row.doc_id,
                    "sent_ids": [ids[k] for k in quote.sentences],
                    "char_start": start,
                    "char_end": end,
                    "text": quote.text,
                    "lang": langs[quote.sentences[0]],
                    "direct": quote.direct,
                    "cue": quote.cue,
                    "speaker_mention": quote.mention,
                    "speaker": None,
                    "cited_source": quote.cited,
                })
        quotes = quotes_frame(rows)
        context.stats["quotes"] = len(quotes)
        context.stats["direct"] = int(quotes["direct"].sum()) if len(quotes) else 0
        return {"quotes": quotes}
