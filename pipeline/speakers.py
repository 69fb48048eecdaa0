"""Known speakers: canonical names, their aliases (titles, spellings) and their languages.

The attribute stage resolves a quote's speaker mention to a canonical person with this table,
extended by ``attribute.aliases`` and ``attribute.speaker_languages`` in a job config. Aliases
are matched case-insensitively and without a leading article ("the Kremlin chief" and "Kremlin
chief" are one alias). A *name* alias (capitalised words, e.g. "Putin") also matches inside a
longer mention ("Russian President Vladimir Putin"); a *title* alias ("the Iranian president")
only matches a mention that is exactly that title, so "an assistant to the head of the Kremlin"
is not Putin.
"""

from __future__ import annotations

DEFAULT_ALIASES: dict[str, list[str]] = {
    "Vladimir Putin": [
        "Putin", "Vladimir Putin", "Vladimir Vladimirovich Putin", "Vladimir V. Putin", "Putine",
        "President Putin", "Russian President Vladimir Putin", "Mr. Putin", "Mr Putin",
        "the Kremlin chief", "the head of the Kremlin", "the illegitimate head of the Kremlin",
        "the Kremlin leader", "Russian dictator", "the Russian dictator",
        "the Russian dictator Putin", "the Russian president", "Russia's president",
        "Tổng thống Putin", "Tổng thống Nga", "Tổng thống Nga Vladimir Putin", "Путин",
    ],
    "Masoud Pezeshkian": [
        "Pezeshkian", "Masoud Pezeshkian",
        "President Pezeshkian", "Iranian President Masoud Pezeshkian",
        "the Iranian president", "Iran's president", "the president of Iran",
        "the new president of Iran", "the newly elected president of Iran",
        "Tổng thống Pezeshkian", "Tổng thống Iran", "Tổng thống Iran Masoud Pezeshkian",
    ],
    "Yury Ushakov": ["Ushakov", "Yury Ushakov", "Yuri Ushakov", "Iouri Ouchakov"],
    "Antony Blinken": [
        "Blinken", "Antony Blinken", "Anthony Blinken", "Secretary of State Antony Blinken",
        "Ngoại trưởng Hoa Kỳ Antony Blinken", "Ngoại trưởng Blinken",
    ],
    "Donald Trump": ["Trump", "Donald Trump", "Donald J. Trump", "Mr. Trump"],
    "Hillary Clinton": ["Hillary Clinton", "Hillary Rodham Clinton", "Mrs. Clinton",
                        "Secretary Clinton"],
    "Barack Obama": ["Obama", "Barack Obama", "President Obama", "Mr. Obama"],
    "Joe Biden": ["Biden", "Joe Biden", "Joseph Biden"],
}

DEFAULT_SPEAKER_LANGUAGES: dict[str, str] = {
    "Vladimir Putin": "ru",
    "Masoud Pezeshkian": "fa",
    "Yury Ushakov": "ru",
    "Antony Blinken": "en",
    "Donald Trump": "en",
    "Hillary Clinton": "en",
    "Barack Obama": "en",
    "Joe Biden": "en",
}

#: Mentions that refer back to the last person named ("he said", "Ông nói").
PRONOUNS = {"he", "she", "him", "her", "ông", "bà", "ông ấy", "bà ấy", "anh", "chị",
            "the latter", "the politician", "the head of state"}

#: Words that introduce a name without being part of it ("President Vladimir Putin").
TITLE_WORDS = {
    "president", "prime", "minister", "foreign", "secretary", "senator", "sen.", "rep.", "gov.",
    "governor", "mr.", "mr", "mrs.", "mrs", "ms.", "ms", "dr.", "dr", "professor", "prof.",
    "spokesman", "spokeswoman", "spokesperson", "chancellor", "king", "queen", "general", "gen.",
    "ambassador", "mayor", "judge", "justice", "sir", "lord", "former", "vice", "chief",
    "russian", "iranian", "american", "us", "u.s.", "ukrainian", "israeli", "turkish",
    "chinese", "french", "german", "british", "democratic", "republican", "candidate", "nominee",
    "tổng", "thống", "thủ", "tướng", "ngoại", "trưởng", "đại", "sứ", "chủ", "tịch", "bộ",
    "ông", "bà", "nga", "iran", "hoa", "kỳ", "mỹ",
}

#: Words that make a capitalised phrase an organisation or a place, not a person.
NOT_PERSON_WORDS = {
    "institute", "university", "ministry", "agency", "party", "committee", "council", "news",
    "house", "department", "foundation", "center", "centre", "office", "times", "post", "world",
    "union", "nations", "states", "republic", "kremlin", "campaign", "government", "court",
    "congress", "senate", "assembly", "bank", "fund", "group", "company", "corporation",
    "association", "organization", "organisation", "federation", "press", "media", "journal",
    "quỹ", "bộ", "viện", "đại học", "hãng", "báo", "chính phủ",
}


#: Head nouns of generic, collective sources ("analysts", "the unconfirmed reports", "many",
#: "Western officials"): the source is known to be no single person, so a quote with such a
#: mention and no resolved speaker is its own source, never a named person's (see
#: :func:`generic_source`; :mod:`pipeline.quoteclusters` keeps it out of named clusters).
GENERIC_SOURCES = {
    "analyst", "analysts", "expert", "experts", "observer", "observers", "source", "sources",
    "report", "reports", "official", "officials", "commentator", "commentators", "critic",
    "critics", "pundit", "pundits", "diplomat", "diplomats", "insider", "insiders", "many",
    "some", "others", "rumours", "rumors", "media", "giới phân tích", "các nhà phân tích",
    "chuyên gia", "các chuyên gia", "giới quan sát", "nhà quan sát", "các nguồn tin",
    "nguồn tin", "báo cáo",
}

#: How many leading words of a mention may precede its generic head ("the unconfirmed reports",
#: "some Western officials").
GENERIC_HEAD_WINDOW = 3


def generic_source(mention: object) -> str | None:
    """The generic head of ``mention`` ("analysts" for "Analysts with the US-based Institute",
    "reports" for "the unconfirmed reports"), or None when the mention names no generic
    source. Matched case-insensitively on whole words (or a two- or three-word Vietnamese
    phrase) among the first :data:`GENERIC_HEAD_WINDOW` words, the longest and then the
    rightmost one ("sources" for "some sources close to the Kremlin")."""
    if not isinstance(mention, str):
        return None
    words = [w.strip(".,;:!?\"'()") for w in mention.casefold().split()][:GENERIC_HEAD_WINDOW]
    for size in (3, 2, 1):  # the longest phrase, then the rightmost (the head noun)
        for start in reversed(range(len(words) - size + 1)):
            phrase = " ".join(words[start:start + size])
            if phrase in GENERIC_SOURCES:
                return phrase
    return None


def merged_aliases(extra: dict[str, list[str]] | None = None) -> dict[str, list[str]]:
    """DEFAULT_ALIASES extended by a job's ``attribute.aliases`` (new names or more mentions)."""
    merged = {name: list(mentions) for name, mentions in DEFAULT_ALIASES.items()}
    for name, mentions in (extra or {}).items():
        merged.setdefault(name, [name])
        merged[name].extend(m for m in mentions if m not in merged[name])
    return merged


def merged_languages(extra: dict[str, str] | None = None) -> dict[str, str]:
    """DEFAULT_SPEAKER_LANGUAGES updated with a job's ``attribute.speaker_languages``."""
    return {**DEFAULT_SPEAKER_LANGUAGES, **(extra or {})}


# -- Vietnamese mentions (pipeline.attribution.vietnamese) -------------------------------------

#: Titles and honorifics before a name ("ông Obama", "Ngoại trưởng Anh Dominic Raab"), as
#: case-folded phrases of one to four words.
VI_TITLES = {
    "ông", "bà", "anh", "chị", "cô", "ngài", "tổng thống", "phó tổng thống", "thủ tướng",
    "phó thủ tướng", "ngoại trưởng", "bộ trưởng", "thứ trưởng", "đại sứ", "chủ tịch",
    "phó chủ tịch", "người phát ngôn", "phát ngôn viên", "tổng thư ký", "tổng bí thư",
    "thượng nghị sĩ", "hạ nghị sĩ", "nghị sĩ", "thống đốc", "thị trưởng", "giám đốc",
    "tổng giám đốc", "chánh văn phòng", "cố vấn", "quan chức", "chuyên gia", "giáo sư",
    "tiến sĩ", "bác sĩ", "luật sư", "nhà phân tích", "nhà nghiên cứu", "thẩm phán", "tướng",
    "đại tướng", "trung tướng", "thiếu tướng", "đô đốc", "phó đô đốc", "chuẩn đô đốc",
    "tư lệnh", "chỉ huy", "thủ lĩnh", "lãnh đạo", "nhà lãnh đạo", "hoàng tử", "công chúa",
    "nữ hoàng", "vua", "quốc vương", "giáo hoàng", "thầy giáo", "cô giáo", "nữ hoàng anh",
    "người đứng đầu", "trưởng", "phó", "đại diện", "đặc phái viên", "tổng tư lệnh",
    "tham mưu trưởng", "cao ủy", "nhà ngoại giao", "sĩ quan",
}

#: Heads of an organisation or agency ("Bộ Quốc phòng Azerbaijan", "Điện Kremlin").
VI_ORGANISATION_HEADS = {
    "bộ quốc phòng", "bộ ngoại giao", "bộ y tế", "bộ tư pháp", "bộ nội vụ", "bộ tài chính",
    "bộ thương mại", "bộ", "hải quân", "không quân", "lục quân", "quân đội", "cảnh sát",
    "điện kremlin", "nhà trắng", "lầu năm góc", "liên hợp quốc", "liên minh", "hoàng gia",
    "chính phủ", "chính quyền", "tổ chức", "ủy ban", "uỷ ban", "quốc hội", "văn phòng",
    "cơ quan", "viện", "đại sứ quán", "hãng", "công ty", "tập đoàn", "ngân hàng", "trung tâm",
    "đảng", "hội đồng", "tòa án", "toà án", "lực lượng", "quỹ", "đại học", "cục", "sở",
    "thời báo", "vệ binh",
}

#: Words before a source that are not part of it ("Theo hãng tin RT", "số liệu của AFP").
VI_SOURCE_PREFIXES = {
    "theo", "hãng tin", "hãng thông tấn", "thông tấn xã", "báo", "tờ", "tờ báo", "tạp chí",
    "tạp chí tin tức", "kênh", "kênh truyền hình", "đài", "trang tin", "trang", "số liệu của",
    "thống kê của", "thông cáo của", "tuyên bố của", "báo cáo của", "dữ liệu của", "nguồn tin",
    "theo số liệu của", "đài truyền hình", "đài phát thanh", "trang web", "nhật báo",
}

#: Words that start no speaker mention, or start no name in a run of capitalised words
#: (plurals, quantifiers, function words, sentence openers).
VI_NOT_NAMES = {
    "các", "những", "nhiều", "một", "mọi", "vài", "giới", "dù", "nhưng", "khó", "trong", "đó",
    "này", "theo", "khi", "sau", "trước", "tuy", "con", "tin", "người", "có", "và", "với",
    "ông", "bà", "anh", "chị", "cô", "ngài", "thầy", "họ", "nó", "đây", "kế", "điều", "số",
    "nguồn", "truyền", "cả", "hai", "ba", "phía", "bên", "tại", "vì", "do", "nếu", "hiện",
}

#: Countries and places that come before a name ("Ngoại trưởng Anh Dominic Raab").
VI_PLACES = {
    "anh", "pháp", "nga", "mỹ", "đức", "ý", "úc", "nhật", "bản", "hàn", "quốc", "trung", "ấn",
    "độ", "hoa", "kỳ", "thổ", "nhĩ", "indonesia", "australia", "brazil", "canada", "iran",
    "israel", "ukraine", "syria", "mexico", "colombia", "myanmar", "azerbaijan", "armenia",
    "philippines", "singapore", "malaysia", "afghanistan", "pakistan", "iraq", "venezuela",
    "belarus", "ba", "lan", "thái", "triều", "tiên", "ai", "cập", "saudi", "arabia", "qatar",
    "eu", "châu", "âu", "mỹ-latinh", "washington", "moscow", "bắc", "kinh", "london", "paris",
}

#: Honorifics of a woman and of a man, and the pronouns that refer to one.
VI_FEMALE = {"bà", "chị", "cô", "nữ"}
VI_MALE = {"ông", "anh", "ngài", "thầy"}
