"""The cue lexicon: reporting verbs (English and Vietnamese), the cue pattern, and the word lists
that delimit a speaker mention."""

from __future__ import annotations

import re

from pipeline.quoting.marks import BLANK

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
            "cho rằng", "tiết lộ", "nhận định", "cáo buộc", "nói", "thông báo", "cho hay",
            "xác nhận", "cảnh báo", "thừa nhận", "đưa tin", "kêu gọi", "khuyến cáo", "ước tính",
            "dự đoán", "chỉ ra", "đính chính", "nhắc nhở"]
#: Vietnamese verbs that are cues only right after a quotation and its speaker
#: ("“…”, ông Sheynin nhớ lại"): elsewhere they are not about speech ("viết sách", "chia sẻ
#: hình ảnh", "hỏi đường").
VI_TRAILING_VERBS = ["viết", "chia sẻ", "kể lại", "nhớ lại", "hỏi", "trả lời"]
#: Vietnamese framing verbs: cues only when a quotation follows in their clause ("gọi vụ việc
#: là “thảm họa”", "mô tả cảnh tượng giống như “vùng chiến sự”").
VI_FRAMING_VERBS = ["gọi", "mô tả"]
#: Passive reports, a claim without a source ("được cho là rơi xuống độ sâu 700 mét").
VI_PASSIVE = ["được cho là", "được dự đoán", "được dự báo", "được ước tính"]
#: Words right before a Vietnamese cue word that make it a noun ("lời cảnh báo", "các cam kết",
#: "trong thông báo"), and what may stand between a quotation and a trailing-only verb (a
#: comma and its speaker, with an appositive).
VI_NOUN_BEFORE = re.compile(r"(?:^|\s)(?:các|những|một|lời|bản|sự|về|của|trong|theo|tên|"
                            r"thông điệp|bức|cuộc|câu)\s*$", re.IGNORECASE)
VI_AFTER_QUOTE = re.compile(BLANK + r"\s*,[^" + BLANK + r".;!?]{1,150}$")
AUX = (r"(?:(?:has|have|had|would|will|also|later|then|reportedly|previously|recently|once|"
       r"again|publicly|repeatedly|further|first|đã|cũng|vừa|từng|sẽ|đang|còn)\s+){0,3}")
PHASE = r"(?:(?:began|begins|started|starts|continued|continues|went on)\s+to\s+)?"
_VERB_ALT = "|".join(sorted({*SPEECH_VERBS, *TRAILING_VERBS, *QUOTE_AFTER_VERBS}, key=len,
                            reverse=True))
#: What may stand between a quotation and a trailing-only verb: nothing, or a short subject.
AFTER_QUOTE = re.compile(BLANK + r"\s*(?:[^\s" + BLANK + r",.;:]+\s+){0,4}$")
_VI_ALT = "|".join(sorted(VI_VERBS, key=len, reverse=True))
_VI_TRAIL_ALT = "|".join(sorted([*VI_TRAILING_VERBS, *VI_FRAMING_VERBS], key=len, reverse=True))
_VI_PASSIVE_ALT = "|".join(VI_PASSIVE)
CUE = re.compile(
    rf"(?<![\w-]){AUX}{PHASE}{AUX}(?:(?P<quoted>(?:was|were|is) quoted as (?:telling|saying))"
    rf"|(?P<vipassive>{_VI_PASSIVE_ALT})|(?P<verb>{_VERB_ALT})|(?P<vi>{_VI_ALT})"
    rf"|(?P<vitrail>{_VI_TRAIL_ALT})"
    r"|(?P<according>[Aa]ccording to)|(?P<theo>(?<![^\s,;:(])Theo(?!\s+(?:đó|đấy)(?!\w)))"
    r"|(?P<theoend>(?<=,\s)theo(?=\s+[^,;.!?]{1,60}?\s*[.;!?]?\s*$)))(?![\w-])"
)
#: A word of every cue CUE can match (its first, or "quoted"). A cue starts where no word
#: character or hyphen precedes it, and its words are separated by spaces, so such a word is a
#: whole run of WORD_RUN in the frame: a frame with none of these words has no cue.
WORD_RUN = re.compile(r"[\w-]+")
CUE_HEADS = frozenset(
    [phrase.split(" ")[0] for phrase in [*SPEECH_VERBS, *TRAILING_VERBS, *QUOTE_AFTER_VERBS,
                                         *VI_VERBS, *VI_TRAILING_VERBS, *VI_FRAMING_VERBS,
                                         *VI_PASSIVE]]
    + ["According", "according", "Theo", "theo", "quoted"])
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
#: Lower-case words that end a Vietnamese subject without being part of it: times and
#: adverbs ("Tư lệnh … Yudo Margono ngày 22/4", "Mỹ thường xuyên", "Tehran trước đó").
VI_SUBJECT_TAIL = {
    "ngày", "hôm", "hồi", "tối", "sáng", "chiều", "đêm", "trưa", "qua", "nay", "mới", "đây",
    "gần", "trước", "sau", "đó", "nhiều", "lần", "thường", "xuyên", "cũng", "đã", "vừa", "từng",
    "lại", "luôn", "vẫn", "còn", "sẽ", "đang", "đều", "tuần", "tháng", "năm", "cuối", "đầu",
    "sớm", "thêm", "liên", "tục", "công", "khai", "chính", "thức",
}
NAME_PARTICLE = {"al-", "bin", "de", "van", "von", "of", "la", "le", "da", "di", "the"}
