"""``parse_query``: a trace query split at its reporting frame (English and Vietnamese)."""

from __future__ import annotations

import pytest

from pipeline.queryframes import parse_query, towards_direct


@pytest.mark.parametrize(("query", "speaker", "content"), [
    ("Putin said Russia and Iran have very close positions on world events", "Putin",
     "Russia and Iran have very close positions on world events"),
    ("Pezeshkian says that our cooperation is growing", "Pezeshkian",
     "our cooperation is growing"),
    ("Mr. Putin has said that ties were a priority", "Mr. Putin", "ties are a priority"),
    ("Putin told Pezeshkian that Moscow's positions were often similar", "Putin",
     "Moscow's positions are often similar"),
    ("According to the Iranian president, our positions are closer", "the Iranian president",
     "our positions are closer"),
    ("Russia is less fearful of a nuclear Iran, according to Mark Katz.", "Mark Katz",
     "Russia is less fearful of a nuclear Iran"),
    ('"Relations with Iran are a priority for us," Putin said.', "Putin",
     "Relations with Iran are a priority for us"),
    ("“We actively work together,” said the head of the Kremlin.", "the head of the Kremlin",
     "We actively work together"),
    ("Putin said he wanted a new world order", "Putin", "I wanted a new world order"),
    ("He said the situation was difficult", None, "the situation is difficult"),
])
def test_english_frames(query: str, speaker: str | None, content: str) -> None:
    frame = parse_query(query)
    assert (frame.speaker_mention, frame.content) == (speaker, content)
    assert frame.frame is not None and frame.query == query


@pytest.mark.parametrize(("query", "speaker", "content"), [
    ("Theo ông Putin, hai nước hợp tác chặt chẽ", "ông Putin", "hai nước hợp tác chặt chẽ"),
    ("Putin nói rằng quan hệ với Iran là ưu tiên", "Putin", "quan hệ với Iran là ưu tiên"),
    ("Tổng thống Pezeshkian cho biết quan hệ Iran-Nga mang tính chiến lược",
     "Tổng thống Pezeshkian", "quan hệ Iran-Nga mang tính chiến lược"),
    ("Pezeshkian khẳng định hai nước phải giúp đỡ lẫn nhau", "Pezeshkian",
     "hai nước phải giúp đỡ lẫn nhau"),
    ("Tổng thống Putin đã nhấn mạnh sự tương đồng", "Tổng thống Putin", "sự tương đồng"),
    ("Ông nói: “Chúng tôi đang tích cực hợp tác.”", None, "Chúng tôi đang tích cực hợp tác."),
    # The source cites the speaker: the speaker is the one who spoke.
    ("Theo hãng thông tấn TASS, Tổng thống Pezeshkian tuyên bố quan hệ tốt",
     "Tổng thống Pezeshkian", "quan hệ tốt"),
])
def test_vietnamese_frames(query: str, speaker: str | None, content: str) -> None:
    frame = parse_query(query)
    assert (frame.speaker_mention, frame.content) == (speaker, content)


@pytest.mark.parametrize("query", [
    "Russia and Iran share similar perspectives on important global issues",
    "We actively work together in the international arena",
    "I think that would be too much in terms of antagonising America",  # first person: a quote
    "Chúng tôi đang tích cực hợp tác trên trường quốc tế",
])
def test_unframed_query_is_its_own_content(query: str) -> None:
    frame = parse_query(query)
    assert frame == type(frame)(query, None, query, None)


def test_whitespace_and_outer_quotes() -> None:
    assert parse_query("  “Our positions are close.”  ").content == "Our positions are close."
    assert parse_query("Putin  said\n ties are good").content == "ties are good"


def test_towards_direct_only_simple_rewrites() -> None:
    assert towards_direct("Russia and Iran have close positions", True) \
        == "Russia and Iran have close positions"  # "have" stays
    assert towards_direct("ties were good and he would come", True) \
        == "ties are good and I will come"
    assert towards_direct("he would come", False) == "he will come"  # no speaker: no "I"
