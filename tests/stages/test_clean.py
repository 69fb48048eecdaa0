"""clean: boilerplate out, every statement kept, dates and titles found, offsets back to raw."""

from __future__ import annotations

import unicodedata

import pandas as pd
import pytest

from pipeline.base import StageContext
from pipeline.cleaning import SPACE_LIKE, Cleaner, CleanText, clean_text_of
from pipeline.config import CleanConfig, parse_config
from pipeline.stages.clean import Clean
from tests.conftest import SEED_IDS

#: Statements (sentences or clauses, as written) that must survive cleaning, per seed.
KEY_SENTENCES = {
    "000_e58e8371168de39d": [
        "Russia's Putin and Iran's Pezeshkian hail close ties",
        'President Vladimir Putin said ties with Tehran were a "priority."',
        "The meeting is the first that the pair have had person-to-person",
        "The meeting comes with Tehran accused of supplying weapons for Russia's war in Ukraine",
        '"Relations with Iran are a priority for us, and they are developing very well. We are '
        'seeing a growth in the volume of trade this year," Putin said',
        'the USA and Europe do not want the situation to calm down."',
        "In recent months, the two countries have put aside centuries of regional rivalry",
        "The Iranian president is also due to visit Russia later in the month.",
    ],
    "001_21547f29396abde5": [
        "Amid Israel-Iran conflict, Putin meets Pezeshkian for the first time today. "
        "Why is it significant?",
        "a significant event considering the current conflict in West Asia.",
        "Yury Ushakov, Putin’s aide on foreign policy, told journalists on Monday",
        "both countries have not openly confirmed the pact.",
        "However, the Kremlin could still avert damaging its ties to Saudi Arabia, the United Arab "
        "Emirates, and Israel.",
    ],
    "002_833abf2e5c5bff94": [
        "In the second week of October, Russian President Vladimir Putin and his Iranian "
        "counterpart Masoud Pezeshkian met for the first time",
        "“We actively work together in the international arena, and our assessments of current "
        "events in the world are often very close.”",
        "“Our positions in the world are much closer to each other than to others.”",
        "One key question is whether Russia would equip Iran with Su-35 Flanker fighter jets",
        "Hunter tells TRT World.",
    ],
    "003_9bed0cba9f35e0be": [
        "Trong cuộc hội đàm đầu tiên giữa Tổng thống Iran Masoud Pezeshkian",
        "“Quan hệ Iran-Nga mang tính chiến lược và chân thành.",
        "Đồng thời, Ngoại trưởng Hoa Kỳ Antony Blinken cáo buộc Iran",
        "Ông nói: “Chúng tôi đang tích cực hợp tác trên trường quốc tế",
        "các biện pháp trừng phạt từ phương Tây.",
    ],
    "004_7ee3f8304d59a0ac": [
        "On October 11, Russian dictator Vladimir Putin arrived on an official visit to "
        "Turkmenistan",
        "We actively work together in the international arena and our assessments of events in "
        "the world are often very close, said the illegitimate head of the Kremlin during a "
        "meeting with Iranian President Masoud Pezeshkian.",
        'The politician cynically lied that it was Tel Aviv that violated "all possible '
        'international agreements".',
        "We have never approved of Russian aggression against Ukrainian territory, Pezeshkiyan "
        "said.",
        "Tehran denies these accusations.",
    ],
}

BOILERPLATE = [
    "Skip to",
    "×",
    "p.dw.com",
    "https://",
    "rc/wmr",
    "(AFP, AP, dpa)",
    "Image:",
    "Alexander Shcherbak",
    "SNA/IMAGO",
    "date 2024-10",
    "October 11, 2024",
    "\u00a0",
]


@pytest.fixture(scope="module")
def cleaned(seed_texts: dict[str, str]) -> dict[str, CleanText]:
    cleaner = Cleaner(CleanConfig())
    return {doc_id: cleaner.clean(raw) for doc_id, raw in seed_texts.items()}


def test_seed_ids_cover_all_key_sentences() -> None:
    assert sorted(KEY_SENTENCES) == SEED_IDS


@pytest.mark.parametrize("doc_id", SEED_IDS)
def test_boilerplate_gone_statements_kept(cleaned: dict[str, CleanText], doc_id: str) -> None:
    text = cleaned[doc_id].text
    for junk in BOILERPLATE:
        assert junk not in text, junk
    for sentence in KEY_SENTENCES[doc_id]:
        assert sentence in text, sentence
    lines = text.split("\n")
    assert all(line == line.strip() and line for line in lines)  # no blank or padded lines
    assert "  " not in text
    assert not any(line.endswith("Share") for line in lines)
    assert text == unicodedata.normalize("NFC", text)


def test_specific_debris(cleaned: dict[str, CleanText], seed_texts: dict[str, str]) -> None:
    dw, news18 = cleaned["000_e58e8371168de39d"].text, cleaned["001_21547f29396abde5"].text
    trt, kyiv = cleaned["002_833abf2e5c5bff94"].text, cleaned["004_7ee3f8304d59a0ac"].text
    # The raw files do have the debris (so the checks above can fail).
    assert "Skip to content" in seed_texts["000_e58e8371168de39d"]
    assert seed_texts["001_21547f29396abde5"].startswith("×\n")
    assert seed_texts["002_833abf2e5c5bff94"].startswith(" date 2024-10-14 In the second week")
    assert "Pezeshkian. Share\n" in seed_texts["004_7ee3f8304d59a0ac"]
    assert "Tehran\u00a0accused" in seed_texts["000_e58e8371168de39d"]
    # ... and the clean texts do not.
    assert dw.startswith("Russia's Putin and Iran's Pezeshkian hail close ties\n")
    assert "Tehran accused" in dw  # NBSP became a plain space
    assert "person-to-person\n" in dw  # image credit cut from its caption
    assert dw.endswith("due to visit Russia later in the month.")  # agency tag gone
    assert news18.startswith("Amid Israel-Iran conflict")
    assert trt.startswith("In the second week of October")
    assert "Masoud Pezeshkian.\nAs for the latter's statements" in kyiv
    assert "Pezeshkiyan said.\nWhat is important" in kyiv


@pytest.mark.parametrize(
    ("doc_id", "date", "title"),
    [
        ("000_e58e8371168de39d", "2024-10-11",
         "Russia's Putin and Iran's Pezeshkian hail close ties"),
        ("001_21547f29396abde5", None,
         "Amid Israel-Iran conflict, Putin meets Pezeshkian for the first time today. "
         "Why is it significant?"),
        ("002_833abf2e5c5bff94", "2024-10-14", None),  # first paragraph is a full sentence
        ("003_9bed0cba9f35e0be", None, None),
        ("004_7ee3f8304d59a0ac", "2024-10-11", None),
    ],
)
def test_dates_and_titles(cleaned: dict[str, CleanText], doc_id: str, date: str | None,
                          title: str | None) -> None:
    assert cleaned[doc_id].date == date
    assert cleaned[doc_id].title == title


def test_dates_off_keeps_date_lines() -> None:
    raw = "October 11, 2024\n date 2024-10-14 Putin met Pezeshkian."
    result = Cleaner(CleanConfig(extract_dates=False)).clean(raw)
    assert result.date is None
    assert result.text == "October 11, 2024\ndate 2024-10-14 Putin met Pezeshkian."
    on = Cleaner(CleanConfig()).clean(raw)
    assert (on.date, on.text) == ("2024-10-11", "Putin met Pezeshkian.")


def test_extra_drop_line_patterns() -> None:
    raw = "Putin met Pezeshkian.\nFollow us on Telegram\nThe talks were held in Ashgabat."
    config = CleanConfig(extra_drop_line_patterns=[r"^Follow us on "])
    assert Cleaner(config).clean(raw).text == (
        "Putin met Pezeshkian.\nThe talks were held in Ashgabat."
    )
    assert "Telegram" in Cleaner(CleanConfig()).clean(raw).text


# --- the offset map ----------------------------------------------------------------------------


def assert_offsets_map_back(raw: str, result: CleanText, normalization: str = "NFC") -> int:
    """Every visible clean character comes from the raw character its offset points to."""
    checked = 0
    for position, char in enumerate(result.text):
        if char in " \n":
            continue
        offset = result.raw_offset(position)
        assert 0 <= offset < len(raw)
        end = offset + 1
        while end < len(raw) and unicodedata.combining(raw[end]):
            end += 1
        cluster = raw[offset:end]
        source = raw[offset]
        ok = (char == source or char in unicodedata.normalize(normalization, cluster)
              or (char == " " and source in SPACE_LIKE))
        assert ok, (position, char, offset, cluster, raw[max(0, offset - 20):offset + 20])
        checked += 1
    return checked


@pytest.mark.parametrize("doc_id", SEED_IDS)
def test_offsets_on_seeds(cleaned: dict[str, CleanText], seed_texts: dict[str, str],
                          doc_id: str) -> None:
    result = cleaned[doc_id]
    checked = assert_offsets_map_back(seed_texts[doc_id], result)
    assert checked > 1000
    # Runs are increasing on both sides, so the map is monotone.
    assert result.offsets_clean == sorted(set(result.offsets_clean))
    assert result.offsets_raw == sorted(set(result.offsets_raw))


@pytest.mark.parametrize("doc_id", SEED_IDS)
def test_clean_lines_are_raw_substrings(cleaned: dict[str, CleanText], seed_texts: dict[str, str],
                                        doc_id: str) -> None:
    """raw[span of each clean line] is that line, up to NBSP and doubled spaces."""
    result, raw = cleaned[doc_id], seed_texts[doc_id]
    start = 0
    for line in result.text.split("\n"):
        raw_start, raw_end = result.raw_span(start, start + len(line), raw)
        published = " ".join(raw[raw_start:raw_end].replace("\u00a0", " ").split())
        assert published == line
        start += len(line) + 1


VIETNAMESE = (
    "Tổng thống Putin nhấn mạnh sự tương đồng trong quan điểm giữa hai nước.\n\n"
    "Ông nói: “Chúng tôi đang tích cực hợp tác trên trường quốc tế.”\u00a0\u00a0Đồng thời, "
    "Nga và Iran uống cà phê"
)


def test_decomposed_vietnamese_becomes_nfc_with_offsets_right() -> None:
    raw = unicodedata.normalize("NFD", VIETNAMESE)
    assert len(raw) > len(VIETNAMESE)  # really decomposed
    result = Cleaner(CleanConfig()).clean(raw)
    expected = unicodedata.normalize("NFC", VIETNAMESE).replace("\n\n", "\n")
    assert result.text == expected.replace("\u00a0\u00a0", " ")
    assert assert_offsets_map_back(raw, result) > 100
    # Offsets of a decomposed letter point at its base letter, and the run after it resumes.
    position = result.text.index("Đồng")
    assert raw[result.raw_offset(position):].startswith(unicodedata.normalize("NFD", "Đồng"))
    # A span ending in a decomposed letter covers its combining marks.
    end = len(result.text)
    raw_start, raw_end = result.raw_span(result.text.index("Nga và"), end, raw)
    assert raw_end == len(raw)
    assert unicodedata.normalize("NFC", raw[raw_start:raw_end]) == "Nga và Iran uống cà phê"


def test_mixed_invisible_and_odd_spaces() -> None:
    raw = "\ufeffPutin\u200b met\u2009Pezeshkian\u202fon\tFriday.\u00ad \n\n\u3000Next line."
    result = Cleaner(CleanConfig()).clean(raw)
    assert result.text == "Putin met Pezeshkian on Friday.\nNext line."
    assert assert_offsets_map_back(raw, result) == len(result.text.replace(" ", "")) - 1


def test_nfkc_mode_unfolds_ligatures_with_offsets_right() -> None:
    raw = "The ﬁrst ﬁnal oﬃcial meeting, ｆｕｌｌｗｉｄｔｈ."
    nfkc = Cleaner(CleanConfig(normalization="NFKC")).clean(raw)
    assert nfkc.text == "The first final official meeting, fullwidth."
    assert assert_offsets_map_back(raw, nfkc, "NFKC") == len(nfkc.text.replace(" ", ""))
    first_i = nfkc.text.index("first") + 1
    assert nfkc.raw_offset(first_i) == nfkc.raw_offset(first_i - 1) == raw.index("ﬁ")
    assert raw[nfkc.raw_offset(nfkc.text.index("rst"))] == "r"
    # NFC keeps compatibility characters as written.
    assert Cleaner(CleanConfig()).clean(raw).text == raw


def test_crlf_and_empty() -> None:
    raw = "Putin met Pezeshkian.\r\n\r\nThe talks were in Ashgabat.\r\n"
    result = Cleaner(CleanConfig()).clean(raw)
    assert result.text == "Putin met Pezeshkian.\nThe talks were in Ashgabat."
    assert assert_offsets_map_back(raw, result) > 0
    assert Cleaner(CleanConfig()).clean("Skip to content\n×\n").text == ""


def test_clean_stage_keeps_metadata_over_text_values(seed_texts: dict[str, str]) -> None:
    job = parse_config({"job": "t", "inputs": ["x"]})
    ids = ["000_e58e8371168de39d", "002_833abf2e5c5bff94"]
    documents = pd.DataFrame({
        "doc_id": ids,
        "path": ids,
        "raw_text": [seed_texts[i] for i in ids],
        "date": ["2024-10-12", float("nan")],  # how pandas stores a missing string
        "title": [None, "Putin and Pezeshkian meet"],
    })
    out = Clean(job).run({"documents": documents}, StageContext(job=job))["documents"]
    assert out["date"].tolist() == ["2024-10-12", "2024-10-14"]
    assert out["title"].tolist() == ["Russia's Putin and Iran's Pezeshkian hail close ties",
                                     "Putin and Pezeshkian meet"]
    row = next(out.itertuples(index=False))
    view = clean_text_of(row)
    assert view.text == row.text_clean
    assert assert_offsets_map_back(row.raw_text, view) > 1000
