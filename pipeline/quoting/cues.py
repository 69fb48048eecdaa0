"""Cues of a sentence frame: where they are, their speaker mention, and their content region."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.quoting.lexicon import (
    AFTER_QUOTE,
    AS_CLAUSE,
    CAPITALISED,
    CUE,
    CUE_HEADS,
    DETERMINERS,
    LEADING_JUNK,
    NAME_PARTICLE,
    NAMING_VERBS,
    NO_TRAILING,
    NOT_ADVERBS,
    NOUN_BEFORE,
    NOUN_BEFORE_REACH,
    NP_STOP,
    PRONOUNS_EN,
    PRONOUNS_VI,
    QUOTE_AFTER_REACH,
    QUOTE_AFTER_VERBS,
    SPEECH_VERBS,
    SUBORDINATE,
    TELL_VERBS,
    TRAILING_JUNK,
    TRAILING_VERBS,
    VI_AFTER_QUOTE,
    VI_FRAMING_VERBS,
    VI_NOUN_BEFORE,
    VI_SUBJECT_TAIL,
    WORD_RUN,
)
from pipeline.quoting.marks import BLANK
from pipeline.quoting.outlets import AUDIENCES, outlet_of


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
    vi: bool = False  # a Vietnamese cue (VI_VERBS, VI_TRAILING_VERBS, "Theo", ", theo X")
    passive: bool = False  # "được cho là …": a claim with no source



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


def _vi_subject_end(chunk: str) -> str:
    """A Vietnamese subject without its trailing times and adverbs ("… ngày 22/4")."""
    words = chunk.rstrip().split(" ")
    while words and (words[-1] == "" or (words[-1].casefold() in VI_SUBJECT_TAIL
                                         and words[-1].islower())
                     or any(c.isdigit() for c in words[-1])):
        words.pop()
    return " ".join(words)


def _subject(frame: str, cue_start: int, floor: int = 0,
             vi: bool = False) -> tuple[str | None, int | None, bool]:
    """``(mention, mention_start, as_clause)`` of the subject before a cue (after ``floor``);
    ``vi``: a Vietnamese cue, whose subject may hold an acronym in brackets ("lực lượng phòng
    vệ Israel (IDF)") and end with a time ("ngày 22/5")."""
    left = BLANK * floor + frame[floor:cue_start]
    if vi:
        left = re.sub(r"\([^()]{0,60}\)", lambda m: " " * len(m.group(0)), left)
        left = _vi_subject_end(left)
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
    relatives = list(re.finditer(r"(?:^|\s)mà\s", chunk)) if vi else []
    if relatives:  # "các mục tiêu mà quân đội Israel cáo buộc": the subject follows "mà"
        chunk, base = chunk[relatives[-1].end():], base + relatives[-1].end()
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
    comma = re.match(r"^\s*,\s*", rest)
    if cue.vi and comma and len(rest[comma.end():].split()) >= 3:
        return cue.end + comma.end()  # "Bộ Quốc phòng Syria cho hay, họ đã …"
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
        vi_word = match.group("vi") or match.group("vitrail")
        if vi_word and VI_NOUN_BEFORE.search(frame, max(0, match.start() - 24), match.start()):
            continue  # "lời cảnh báo", "trong thông báo"
        vi_framing = match.group("vitrail") in VI_FRAMING_VERBS
        if match.group("vitrail") and not vi_framing and not VI_AFTER_QUOTE.search(
                frame, max(0, match.start() - 160), match.start()):
            continue  # "viết", "chia sẻ" …: only after a quotation and its speaker
        if vi_framing and BLANK not in re.split(
                r"[.;!?]", frame[match.end():match.end() + QUOTE_AFTER_REACH], maxsplit=1)[0]:
            continue
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
        kind = ("according" if match.group("according") or match.group("theoend")
                else "theo" if match.group("theo")
                else "tell" if verb in TELL_VERBS or (match.group("quoted") or "").endswith(
                    "telling") else "verb")
        vi = not (verb or match.group("quoted") or match.group("according"))
        cues.append(Cue(match.start(), match.end(), match.group(0), kind,
                        framing=(bool(verb) and verb not in SPEECH_VERBS and not trailing)
                        or vi_framing, vi=vi, passive=bool(match.group("vipassive"))))
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
    if cue.passive:
        if previous is not None and previous.kind == "theo" and previous.mention:
            # "Theo Quỹ Hòa bình Carnegie, Nga được cho là sẽ …": the claim is Carnegie's.
            cue.mention, cue.outlet = previous.mention, previous.outlet
        return
    floor = previous.end if previous is not None else 0
    if cue.vi and previous is not None and previous.mention and re.fullmatch(
            r"[\s,]*(?:.*\svà\s*)?", frame[previous.end:cue.start]):
        # "Iran cáo buộc … và tuyên bố …", "“…”, ông Aswin viết, cho biết thêm rằng …"
        cue.mention, cue.outlet = previous.mention, previous.outlet
        return
    mention, mention_start, as_clause = _subject(frame, cue.start, floor, cue.vi)
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
        # Vietnamese puts the comma after the mark: "“…”, X cho biết hôm qua".
        vi_trailing = cue.vi and cue.mention_start is not None and frame[:stop].rstrip(
            " ,").endswith(BLANK)
        trailing = i == 0 and (_ends_trailing_quote(frame, text, stop) or vi_trailing)
        limit = len(frame)
        if i + 1 < len(cues):
            following = cues[i + 1]
            limit = following.start
            if following.mention_start is not None and following.mention_start > cue.end \
                    and not (cue.vi and following.vi
                             and not frame[cue.end:following.mention_start].strip(" ,")):
                limit = min(limit, following.mention_start)
        start = _complement_start(frame, cue, limit)
        if start is not None:
            end = end_of_text
            for later in cues[i + 1:]:
                stop = later.mention_start if later.mention_start is not None else later.start
                if cue.vi and later.vi and (stop == start or cue.kind == "theo"):
                    continue  # nested: "Sputnik cho biết, IDF tuyên bố …", "Theo AP, X nói …"
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

