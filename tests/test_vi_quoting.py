"""Vietnamese cues and content regions (pipeline.quoting), on hand-written sentences."""

from __future__ import annotations

from pipeline.quoting.sentence import QuoteParams, read_sentence


def _quotes(sentence: str) -> list[tuple[str, str | None, bool]]:
    found, _, _ = read_sentence(sentence, QuoteParams())
    return [(f.text, f.mention, f.direct) for f in found]


def test_more_reporting_verbs_and_a_comma_before_the_content() -> None:
    assert _quotes("Bộ Y tế Lào cho hay, bệnh viện đã tiếp nhận hai trăm bệnh nhân mới.") == [
        ("bệnh viện đã tiếp nhận hai trăm bệnh nhân mới", "Bộ Y tế Lào", False)]
    assert _quotes('"Chúng tôi sẽ điều tra vụ việc", Cảnh sát Lima thông báo.') == [
        ("Chúng tôi sẽ điều tra vụ việc", "Cảnh sát Lima", True)]
    # A noun, not a verb: "lời cảnh báo", "trong thông báo".
    assert _quotes("Lời cảnh báo của ông được đăng trong thông báo gửi các hãng bay.") == []


def test_subject_times_brackets_and_relative_clauses_are_left_out() -> None:
    assert _quotes("Tư lệnh hải quân Peru Jorge Ruiz ngày 3/5 xác nhận con tàu đã chìm.") == [
        ("con tàu đã chìm", "Tư lệnh hải quân Peru Jorge Ruiz", False)]
    assert _quotes("Cơ quan thời tiết Chile (DMC) hôm qua cảnh báo mưa lớn sẽ kéo dài.") == [
        ("mưa lớn sẽ kéo dài", "Cơ quan thời tiết Chile", False)]
    found = _quotes("Quân đội tấn công các mục tiêu mà chính phủ Peru cáo buộc là nhóm buôn lậu.")
    assert found == [("nhóm buôn lậu", "chính phủ Peru", False)]


def test_trailing_quote_with_words_after_the_cue() -> None:
    # Vietnamese puts the comma after the closing mark; the cue's content is the quotation.
    sentence = '"Tôi không thấy gì cả. Trời tối quá", Pedro Alvarez, một ngư dân, kể lại hôm qua.'
    assert _quotes(sentence) == [
        ("Tôi không thấy gì cả. Trời tối quá", "Pedro Alvarez", True)]
    # A trailing-only verb is no cue without a quotation before it.
    assert _quotes("Anh Pedro Alvarez viết sách về biển trong nhiều năm liền.") == []


def test_coordinated_and_subjectless_cues_keep_the_speaker() -> None:
    assert _quotes("Peru cáo buộc Chile đứng sau vụ việc và tuyên bố sẽ đáp trả mạnh mẽ.") == [
        ("Chile đứng sau vụ việc", "Peru", False), ("sẽ đáp trả mạnh mẽ", "Peru", False)]
    found = _quotes('"Mọi việc đã ổn", ông Ruiz viết, cho biết thêm rằng đội cứu hộ đã về.')
    assert found == [("Mọi việc đã ổn", "ông Ruiz", True),
                     ("đội cứu hộ đã về", "ông Ruiz", False)]


def test_nested_reports_theo_at_either_end_and_passives() -> None:
    assert _quotes("Hãng tin EFE cho biết, Bộ Nội vụ Peru tuyên bố đã bắt ba nghi phạm.") == [
        ("Bộ Nội vụ Peru tuyên bố đã bắt ba nghi phạm", "Hãng tin EFE", False),
        ("đã bắt ba nghi phạm", "Bộ Nội vụ Peru", False)]
    assert _quotes("Số ca mắc mới đã tăng gấp đôi trong tuần qua, theo Bộ Y tế Peru.") == [
        ("Số ca mắc mới đã tăng gấp đôi trong tuần qua", "Bộ Y tế Peru", False)]
    assert _quotes("Theo đó, các trường học sẽ đóng cửa trong hai tuần tới.") == []
    found, _, _ = read_sentence("Con tàu được cho là chìm ở độ sâu 600 mét.", QuoteParams())
    assert [(f.text, f.mention) for f in found] == [("chìm ở độ sâu 600 mét", None)]


def test_framing_verbs_need_a_quotation() -> None:
    assert _quotes('Thủ tướng Peru Ana Ruiz gọi vụ việc là "thảm kịch quốc gia".') == [
        ('vụ việc là "thảm kịch quốc gia"', "Thủ tướng Peru Ana Ruiz", True)]
    assert _quotes("Bà Ana Ruiz gọi điện cho các gia đình nạn nhân.") == []
