"""Vietnamese speaker mentions: titles and honorifics before names, organisations, outlets.

A Vietnamese mention ("ông Obama", "Ngoại trưởng Anh Dominic Raab", "Bộ Quốc phòng Azerbaijan",
"hãng tin RT") resolves, in this order, to:

1. *nothing* when it starts with a plural, quantifier or function word ("các chuyên gia",
   "nhiều đồn đoán", "trong bối cảnh có các") or holds no capitalised word;
2. the canonical name of an **alias** of the table ("Tổng thống Putin");
3. for a **title or honorific + name** ("ông Obama", "Tổng thống Indonesia Joko Widodo"), the
   name (the trailing capitalised words, places and acronyms before it dropped) widened to the
   longest name of the same article that holds it ("Obama" → "Barack Obama"); a title and a
   country without a name ("Tổng thống Indonesia") is the last person named before the quote;
4. an **organisation** (a head such as "Bộ", "Hải quân", "Điện Kremlin", "Nhà Trắng", "Liên
   Hợp Quốc", up to its last capitalised word: "Hoàng gia Anh sau đó" → "Hoàng gia Anh");
5. a **capitalised name** (a person, a country, an agency or an outlet, after "hãng tin", "báo",
   "số liệu của" …), widened to the article's longest name that holds it ("Zuleta" →
   "Ruben Dario Parra Zuleta"), else itself ("Reuters", "Mỹ").

Pronouns ("ông", "bà", "anh") are the last person named before the quote whose honorific does
not contradict them (a name introduced by "bà" is not "ông").

A mention ends before what follows its source ("Politico dẫn lời …" → Politico, "Ông Newsom
mới đây thông qua …" → Newsom); a country before an outlet's name is dropped ("hãng thông tấn
Syria SANA" → SANA); a title and a country resolve only to a person introduced with that title.
The article's names also hold names of any script after a title ("Thủ tướng Singapore Lý Hiển
Long"), without a first word that stands alone elsewhere as a place ("thủ đô Bangkok" →
"Thống đốc Bangkok Aswin Kwanmuang" is Aswin Kwanmuang) or that ends an organisation head
("Lầu Năm Góc John Kirby"). An organisation head written with only its first word capitalised
is a name ("Cơ quan kiểm soát dịch bệnh"), unless it refers back ("Công ty này"); a lower-case
one with "của" describes ("cơ quan cứu hộ khẩn cấp của Israel": nobody).
"""

from __future__ import annotations

import bisect
import re

from pipeline.quoting import blank_quotes, quote_spans
from pipeline.speakers import (
    NOT_PERSON_WORDS,
    VI_FEMALE,
    VI_MALE,
    VI_NOT_NAMES,
    VI_ORGANISATION_HEADS,
    VI_PLACES,
    VI_SOURCE_PREFIXES,
    VI_TITLES,
)

#: Letters only Vietnamese spelling uses (not Spanish, French or German names).
VI_LETTERS = set("ảãạăắằẳẵặâấầẩẫậđẻẽẹêếềểễệỉĩịỏọôốồổỗộơớờởỡợủũụưứừửữựỳỷỹỵ")
_PUNCT = re.compile(r"[.,;:!?()\[\]\"“”«»…/]|\s[–—-]\s")
_WORD = re.compile(r"^[\w’'-]+$")
#: Words after which capitalised words are a place, not a name ("Đại sứ Iran tại Moscow").
_PLACE_BEFORE = {"tại", "ở", "từ", "đến", "tới"}
#: Words right before a place ("thủ đô Bangkok", "bang California", "như California").
_PLACE_NOUNS = _PLACE_BEFORE | {"đô", "bang", "phố", "tỉnh", "quyền", "vùng", "miền", "như",
                                "khắp", "nước"}


def _capital(word: str) -> bool:
    return word[:1].isupper() and bool(_WORD.match(word))


def _vietnamese(word: str) -> bool:
    return any(c in VI_LETTERS for c in word.casefold())


def _place(word: str) -> bool:
    return word.casefold() in VI_PLACES or (len(word) >= 2 and word.isupper())


def _starts(words: list[str], phrases: set[str]) -> int:
    """The number of words of the longest phrase of ``phrases`` that ``words`` start with."""
    folded = [w.casefold() for w in words]
    for n in range(min(len(folded), 4), 0, -1):
        if " ".join(folded[:n]) in phrases:
            return n
    return 0


def trailing_name(words: list[str]) -> list[str]:
    """The name at the end of a mention: its trailing capitalised words, without the places,
    acronyms and titles before the name ("Ấn Độ Harsh Vardhan Shringla" → the last three)."""
    run: list[str] = []
    for word in reversed(words):
        if not _capital(word):
            if word.casefold() in _PLACE_BEFORE:
                return []
            break
        run.insert(0, word)
    while run:
        n = _starts(run, VI_TITLES)
        head = _starts(run, VI_ORGANISATION_HEADS)
        if n:
            run = run[n:]
        elif head and head < len(run):  # "Lầu Năm Góc John Kirby"
            run = run[head:]
        elif _place(run[0]) or run[0].casefold() in VI_NOT_NAMES or (
                _vietnamese(run[0]) and not all(_vietnamese(w) for w in run)):
            run = run[1:]
        else:
            break
    return run


class ArticleNames:
    """The person names of one article: runs of two to five capitalised non-Vietnamese words
    outside quotations, and where each name or one of its words occurs."""

    def __init__(self, text: str) -> None:
        blanked = "\n".join(blank_quotes(p, quote_spans(p)) for p in text.split("\n"))
        self.names: list[str] = []
        # (position, words, words before)
        mentions: list[tuple[int, list[str], list[str]]] = []
        titled: list[tuple[int, list[str], list[str]]] = []
        start = 0
        for piece in [*_PUNCT.split(blanked)]:
            at = blanked.find(piece, start)
            start = at + len(piece)
            tokens = [(m.start() + at, m.group(0)) for m in re.finditer(r"\S+", piece)]
            words_only = [w for _, w in tokens]
            titled += _titled_runs(tokens)
            run: list[tuple[int, str]] = []
            for i, (pos, word) in enumerate([*tokens, (-1, "")]):
                if word and _capital(word) and not _vietnamese(word) and not _place(word) \
                        and word.casefold() not in VI_NOT_NAMES:
                    run.append((pos, word))
                    continue
                if run:
                    k = i - len(run)
                    before = words_only[max(0, k - 4):k]
                    if _org_tail(before, run[0][1]):  # "Lầu Năm Góc John Kirby"
                        run = run[1:]
                        before = [*before, words_only[k]][-4:]
                    if run:
                        mentions.append((run[0][0], [w for _, w in run], before))
                run = []
        # A first word that stands alone elsewhere as a place is one ("thủ đô Bangkok" →
        # "Thống đốc Bangkok Aswin Kwanmuang" is Aswin Kwanmuang).
        alone = {words[0] for _, words, before in mentions
                 if len(words) == 1 and before and before[-1].casefold() in _PLACE_NOUNS}
        mentions, titled = ([(pos, words[1:], [*before, words[0]][-4:])
                             if len(words) >= 3 and words[0] in alone else (pos, words, before)
                             for pos, words, before in found] for found in (mentions, titled))
        for _, words, _ in [*mentions, *titled]:
            name = " ".join(words)
            if 2 <= len(words) <= 5 and not any(w.casefold() in NOT_PERSON_WORDS
                                                for w in words) and name not in self.names:
                self.names.append(name)
        self.female: set[str] = set()
        self.male: set[str] = set()
        found: list[tuple[int, str, str]] = []
        for pos, words, before in [*mentions, *titled]:
            name = self.widen(words)
            if name is None:
                continue
            context = " ".join(before).casefold()
            found.append((pos, name, context))
            if before and before[-1].casefold() in VI_FEMALE:
                self.female.add(name)
            elif before and before[-1].casefold() in VI_MALE:
                self.male.add(name)
        found.sort()
        self.positions = [p for p, _, _ in found]
        self.persons = [n for _, n, _ in found]
        #: The words before each person's mention (a title: "tổng thống indonesia").
        self.contexts = [c for _, _, c in found]

    def widen(self, words: list[str]) -> str | None:
        """The longest article name holding ``words`` as consecutive words, or None."""
        best = None
        n = len(words)
        for name in self.names:
            parts = name.split()
            if any(parts[i:i + n] == words for i in range(len(parts) - n + 1)) and (
                    best is None or len(parts) > len(best.split())):
                best = name
        return best

    def last_before(self, at: int, pronoun: str, title: str | None = None) -> str | None:
        """The last person named before ``at`` whose honorific fits ``pronoun`` (and, with
        ``title``, who was named after that title: "Tổng thống Indonesia" → the last person
        introduced as "Tổng thống …")."""
        pronoun = pronoun.casefold().split()[0] if pronoun.strip() else ""
        wrong = self.female if pronoun in VI_MALE else self.male if pronoun in VI_FEMALE \
            else set()
        for k in range(bisect.bisect_left(self.positions, at) - 1, -1, -1):
            if self.persons[k] not in wrong and (title is None or title in self.contexts[k]):
                return self.persons[k]
        return None


def _titled_runs(tokens: list[tuple[int, str]]) -> list[tuple[int, list[str], list[str]]]:
    """Names of two to four words after a title, in any script ("Thủ tướng Singapore Lý Hiển
    Long" → "Lý Hiển Long"), as ``(position, words, title words)``."""
    words = [w for _, w in tokens]
    found = []
    for i in range(len(words)):
        n = _starts(words[i:], VI_TITLES)
        if not n or (i and _starts(words[i - 1:], VI_TITLES) > 1):
            continue
        run = []
        for word in words[i + n:]:
            if not _capital(word):
                break
            run.append(word)
        name = trailing_name(run)
        if 2 <= len(name) <= 4 and len(run) <= 6:
            at = i + n + len(run) - len(name)
            found.append((tokens[at][0], name, words[i:at]))
    return found


def _org_tail(before: list[str], word: str) -> bool:
    """Whether ``word`` ends an organisation head begun by the words ``before`` it."""
    return any(" ".join([*before[-n:], word]).casefold() in VI_ORGANISATION_HEADS
               for n in range(1, min(len(before), 3) + 1))


#: Words that end a mention's source ("Politico dẫn lời một số quan chức", "Ông Newsom mới
#: đây thông qua mạng xã hội Twitter", "X trên Facebook").
_MENTION_END = {"dẫn", "thông qua", "mới đây", "hôm", "ngày", "hồi", "trên"}
#: Words that make an organisation head a reference back, not a name ("Công ty này").
_DEMONSTRATIVES = {"này", "đó", "trên", "kia", "ấy", "nói"}


def _clean(mention: str) -> list[str]:
    """The words of the mention's last clause, its source prefixes ("theo", "hãng tin") and
    what follows the source ("… dẫn lời …") off."""
    text = " ".join(mention.replace("’", "'").split())
    parts = [p for p in re.split(r"[.!?;:,](?=\S)|[.!?;:,]\s", text) if p.strip()]
    words = parts[-1].split() if parts else []
    for k in range(1, len(words)):
        if _starts(words[k:], _MENTION_END):
            words = words[:k]
            break
    while words:
        n = _starts(words, VI_SOURCE_PREFIXES)
        if not n:
            break
        words = words[n:]
    return [w.strip("\"“”'()") for w in words if w.strip("\"“”'()")]


def resolve_vietnamese(mention: str, names: ArticleNames, at: int,
                       exact: dict[str, str]) -> str | None:
    """The speaker of a Vietnamese quote's non-pronoun mention (rules 1–5 above), or None;
    ``at``: the quote's position in the clean text, ``exact``: normalised alias → canonical."""
    words = _clean(mention)
    if not words or (words[0].casefold() in VI_NOT_NAMES and not _starts(words, VI_TITLES)):
        return None
    key = " ".join(words).casefold()
    if key in exact:
        return exact[key]
    titled = _starts(words, VI_TITLES)
    if titled:
        name = trailing_name(words[titled:])
        if not name:  # "Tổng thống Indonesia", not "Đại sứ Iran tại Moscow"
            rest = words[titled:]
            title = " ".join(words[:titled]).casefold()
            return names.last_before(at, "", title) if rest and all(map(_place, rest)) \
                else None
        key = " ".join(name).casefold()
        return exact.get(key) or names.widen(name) or " ".join(name)
    head = _starts(words, VI_ORGANISATION_HEADS)
    if head:
        last = max((i for i, w in enumerate(words) if _capital(w) and i >= head), default=-1)
        fixed = all(_capital(w) for w in words[:head])
        if last < 0 and not fixed:
            # "Cơ quan kiểm soát dịch bệnh": a name written with its first word capitalised
            named = _capital(words[0]) and 3 <= len(words) <= 6 and not any(
                w.casefold() in _DEMONSTRATIVES for w in words)
            return " ".join(words) if named else None
        org = words[:max(last + 1, head)]
        if not _capital(org[0]) and "của" in org:
            return None  # "cơ quan cứu hộ khẩn cấp của Israel" describes, does not name
        return " ".join([org[0][0].upper() + org[0][1:], *org[1:]])
    if not all(_capital(w) for w in words) or len(words) > 5:
        return None
    while len(words) > 1 and words[0].casefold() in VI_PLACES and not all(
            w.casefold() in VI_PLACES for w in words[1:]):
        words = words[1:]  # "hãng thông tấn Syria SANA" → SANA, not "Hàn Quốc" → "Quốc"
    return names.widen(words) or " ".join(words)
