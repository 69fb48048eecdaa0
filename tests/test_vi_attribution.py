"""Vietnamese speaker mentions (pipeline.attribution.vietnamese), on hand-written sentences."""

from __future__ import annotations

import pandas as pd

from pipeline.attribution import AttributionParams, SpeakerIndex, attribute_quotes
from pipeline.attribution.vietnamese import ArticleNames, resolve_vietnamese, trailing_name
from pipeline.quoting import quotes_frame

ARTICLE = (
    "Cựu Tổng thống Mỹ Barack Obama đã tới Paris hôm qua.\n"
    "Bộ trưởng Quốc phòng Đức Annegret Kramp-Karrenbauer gặp bà Maria Lopez Ortega.\n"
    "Nhà báo, ông Sean O'Brien cũng có mặt.\n"
)


def _resolve(mention: str, at: int = 10_000) -> str | None:
    index = SpeakerIndex(AttributionParams())
    return resolve_vietnamese(mention, ArticleNames(ARTICLE), at, index.exact)


def test_title_or_honorific_widens_to_the_articles_full_name() -> None:
    assert _resolve("Ông Obama") == "Barack Obama"
    assert _resolve("ông O'Brien") == "Sean O'Brien"
    assert _resolve("Bộ trưởng Kramp-Karrenbauer") == "Annegret Kramp-Karrenbauer"
    assert _resolve("bà Ortega") == "Maria Lopez Ortega"
    # A name the article never gives in full stays as written.
    assert _resolve("Ngoại trưởng Anh Dominic Raab") == "Dominic Raab"
    assert _resolve("Thủ tướng Smith") == "Smith"
    # A bare surname widens too; aliases of the table still win.
    assert _resolve("O'Brien") == "Sean O'Brien"
    assert _resolve("Tổng thống Putin") == "Vladimir Putin"


def test_trailing_name_drops_places_and_acronyms() -> None:
    def name(mention: str) -> str:
        return " ".join(trailing_name(mention.split()))

    assert name("Ngoại trưởng Ấn Độ Ravi Kumar Sen") == "Ravi Kumar Sen"
    assert name("Quan chức UNDP John Doe") == "John Doe"
    assert name("Tổng thống Indonesia") == ""
    assert name("Đại sứ Chile tại Lima") == ""


def test_organisations_and_sources_are_speakers() -> None:
    assert _resolve("Bộ Quốc phòng Azerbaijan") == "Bộ Quốc phòng Azerbaijan"
    assert _resolve("hải quân Chile") == "Hải quân Chile"
    assert _resolve("Điện Kremlin") == "Điện Kremlin"
    assert _resolve("Nhà Trắng") == "Nhà Trắng"
    assert _resolve("Liên Hợp Quốc") == "Liên Hợp Quốc"
    assert _resolve("Hoàng gia Anh sau đó") == "Hoàng gia Anh"
    assert _resolve("hãng tin Sputnik") == "Sputnik"
    assert _resolve("Theo báo El Pais") == "El Pais"
    assert _resolve("số liệu của WHO") == "WHO"
    assert _resolve("Mỹ") == "Mỹ"


def test_non_names_are_rejected() -> None:
    for mention in ["trong bối cảnh có các", "các chuyên gia", "Nhiều đồn đoán", "kế hoạch ban đầu",
                    "Công ty này", "một nhân chứng", "Harry và Meghan", "thống kê",
                    "Đại sứ Chile tại Lima"]:
        assert _resolve(mention) is None, mention


def test_pronouns_and_bare_titles_take_the_last_fitting_person() -> None:
    names = ArticleNames(ARTICLE)
    end = len(ARTICLE)
    assert names.last_before(end, "bà") == "Maria Lopez Ortega"
    assert names.last_before(end, "ông") == "Sean O'Brien"
    assert names.last_before(ARTICLE.index("Nhà báo"), "ông") == "Annegret Kramp-Karrenbauer"
    assert names.last_before(0, "ông") is None
    index = SpeakerIndex(AttributionParams())
    assert resolve_vietnamese("Tổng thống Mỹ", names, ARTICLE.index("Bộ"), index.exact) == \
        "Barack Obama"


def test_attribute_quotes_uses_the_vietnamese_rules_for_vietnamese_quotes() -> None:
    text = ("Bà Maria Lopez Ortega tới Hà Nội. Bà Ortega cho biết sẽ trở lại. "
            "Theo hãng tin Sputnik, chuyến đi kéo dài ba ngày. Bà nói thêm như vậy.")
    sentences = ["Bà Maria Lopez Ortega tới Hà Nội.", "Bà Ortega cho biết sẽ trở lại.",
                 "Theo hãng tin Sputnik, chuyến đi kéo dài ba ngày.", "Bà nói thêm như vậy."]
    documents = pd.DataFrame({
        "doc_id": ["d"], "text_clean": [text], "offsets_clean": [[0]], "offsets_raw": [[0]],
        "date": [None], "title": [None]})
    sentence_table = pd.DataFrame({
        "doc_id": ["d"] * 4, "sent_id": [f"d:{n}" for n in range(4)], "idx": list(range(4)),
        "text": sentences})

    def quote(n: int, mention: str, lang: str = "vi") -> dict:
        return {"quote_id": f"d:q{n:03d}", "doc_id": "d", "sent_ids": [f"d:{n}"],
                "char_start": 0, "char_end": 1, "text": "x", "lang": lang, "direct": False,
                "cue": "cho biết", "speaker_mention": mention, "speaker": None,
                "cited_source": None}

    quotes = quotes_frame([quote(1, "Bà Ortega"), quote(2, "hãng tin Sputnik"),
                           quote(3, "Bà"), quote(0, "trong bối cảnh có các")])
    out = attribute_quotes(documents, sentence_table, quotes, AttributionParams())
    assert out["speaker"].tolist() == ["Maria Lopez Ortega", "Sputnik", "Maria Lopez Ortega",
                                       None]


def test_places_org_words_and_any_script_names_after_titles() -> None:
    article = ArticleNames(
        "Thống đốc Lima Rosa Quispe Huamán nói chuyện tại thủ đô Lima.\n"
        "Người phát ngôn Lầu Năm Góc Mark Dorsey có mặt.\n"
        "Thủ tướng Singapore Lý Hiển Long phát biểu.\n"
        "Tổng thống Mexico Pedro Castillo và Ngoại trưởng Colombia Ana Ruiz gặp nhau.\n")
    index = SpeakerIndex(AttributionParams())

    def resolve(mention: str, at: int = 10_000) -> str | None:
        return resolve_vietnamese(mention, article, at, index.exact)

    # "Lima" stands alone as a place elsewhere, so it is no part of the governor's name.
    assert resolve("bà Rosa") == "Rosa Quispe Huamán"
    assert resolve("ông Dorsey") == "Mark Dorsey"  # not "Góc Mark Dorsey"
    assert resolve("Ông Lý") == "Lý Hiển Long"  # a name in Vietnamese spelling, after a title
    # A title and a country is the last person introduced with that title, else nobody.
    assert resolve("Tổng thống Mexico") == "Pedro Castillo"
    assert resolve("Bộ trưởng Mexico") is None


def test_sources_outlets_and_organisations() -> None:
    assert _resolve("Hãng tin EFE dẫn các nguồn tin địa phương") == "EFE"
    assert _resolve("hãng thông tấn Mexico Notimex") == "Notimex"
    assert _resolve("Đài truyền hình Press TV") == "Press TV"
    assert _resolve("Ông Obama mới đây thông qua mạng xã hội Twitter") == "Barack Obama"
    # A name whose first word alone is capitalised; a description or a reference is none.
    assert _resolve("Cơ quan kiểm soát dịch bệnh") == "Cơ quan kiểm soát dịch bệnh"
    assert _resolve("cơ quan cứu hộ khẩn cấp của Peru") is None
    assert _resolve("Công ty này") is None
