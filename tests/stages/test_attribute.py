"""attribute: names, surnames, pronouns, transliterations and titles → canonical speakers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipeline.attribution import AttributionParams, SpeakerIndex, person_name
from pipeline.base import StageContext
from pipeline.data import QUOTES
from pipeline.speakers import DEFAULT_SPEAKER_LANGUAGES, merged_aliases, merged_languages
from pipeline.stages.attribute import Attribute
from pipeline.stages.clean import Clean
from pipeline.stages.detect import Detect
from pipeline.stages.ingest import Ingest
from pipeline.stages.quotes import Quotes
from pipeline.stages.segment import Segment
from tests.conftest import run_on_texts


def attributed(text: str, **attribute: Any) -> list[tuple[str | None, str | None]]:
    """``(speaker_mention, speaker)`` of each quote of one document."""
    tables, _ = run_on_texts({"d": text}, (Clean, Segment, Quotes, Attribute),
                             attribute=attribute)
    quotes = tables["quotes"]
    assert list(quotes.columns) == QUOTES.names
    return list(zip(quotes["speaker_mention"], quotes["speaker"], strict=True))


def test_pronoun_ong_is_the_last_person_named() -> None:  # 003
    assert attributed(
        "Tổng thống Putin nhấn mạnh sự tương đồng trong quan điểm giữa hai nước về các vấn đề quốc "
        "tế. Ông nói: “Chúng tôi đang tích cực hợp tác trên trường quốc tế và đánh giá của chúng "
        "tôi về các sự kiện hiện tại trên thế giới thường rất gần gũi.”"
    ) == [("Tổng thống Putin", "Vladimir Putin"), ("Ông", "Vladimir Putin")]


def test_title_alias_resolves() -> None:  # 004
    assert attributed(
        "We actively work together in the international arena and our assessments of events in "
        "the world are often very close, said the illegitimate head of the Kremlin during a "
        "meeting with Iranian President Masoud Pezeshkian."
    ) == [("the illegitimate head of the Kremlin", "Vladimir Putin")]


def test_transliteration_variant_resolves_by_fuzzy_match() -> None:  # 004
    assert "Pezeshkiyan" not in merged_aliases()["Masoud Pezeshkian"]  # really fuzzy
    assert attributed("We have never approved of Russian aggression against Ukrainian "
                      "territory, Pezeshkiyan said.") == [("Pezeshkiyan", "Masoud Pezeshkian")]
    index = SpeakerIndex(AttributionParams())
    assert index.lookup("Pezeshkijan", []) == "Masoud Pezeshkian"
    assert index.lookup("Pezeshkiyan", []) is not None
    assert SpeakerIndex(AttributionParams(fuzzy_threshold=99)).lookup("Pezeshkiyan", []) is None


def test_vietnamese_title_with_cited_agency() -> None:  # 003
    assert attributed(
        "Theo hãng thông tấn TASS của Nga, Tổng thống Pezeshkian tuyên bố: “Quan hệ Iran-Nga mang "
        "tính chiến lược và chân thành.”") == [("Tổng thống Pezeshkian", "Masoud Pezeshkian")]


def test_he_after_a_named_speaker() -> None:  # 000
    assert attributed(
        '"We have many opportunities now, and we must help each other in our relationships. Our '
        'principles, our positions in the international arena are similar to yours," Pezeshkian '
        "said.\n\nRussia and Iran increasingly turn to each other\n\n"
        'He added that the situation in the Middle East was "difficult" and that "the USA and '
        'Europe do not want the situation to calm down."'
    ) == [("Pezeshkian", "Masoud Pezeshkian"), ("He", "Masoud Pezeshkian")]


def test_new_full_name_becomes_canonical_and_surname_resolves() -> None:  # 002
    assert attributed(
        "“Russia does not want a strong Iran, hence its reluctance to provide it with "
        "sophisticated weaponry and air defence systems. However, Moscow does not want Iran to "
        "disintegrate or its regime to be replaced by a pro-Western government,” says Shireen "
        "Hunter, an honorary fellow at the Center for Muslim-Christian Understanding at "
        "Georgetown University, who served as an Iranian diplomat before 1979.\n\n"
        "“Therefore, it might overcome its reluctance. However, Russia does not want to "
        "antagonise Israel,” Hunter tells TRT World."
    ) == [("Shireen Hunter", "Shireen Hunter"), ("Hunter", "Shireen Hunter")]


def test_pronoun_skips_names_inside_quotations() -> None:  # 002
    assert attributed(
        "“At this point, Moscow’s rivalry with Washington and the West is so great that Putin may "
        "no longer feel any need to cooperate with them,” says Mark Katz, professor emeritus at "
        "George Mason University.\n\n"
        "“Israeli-Iranian hostility serves Putin's interests by preventing even the slim "
        "possibility of rapprochement that Pezeshkian's election raised,” he tells TRT World."
    ) == [("Mark Katz", "Mark Katz"), ("he", "Mark Katz")]


def test_unknown_speakers_stay_none() -> None:
    assert attributed(  # 000, an agency; 003, an unnamed ambassador
        "Tass said the Kremlin chief had also invited the Iranian president to visit Russia, "
        "which Pezeshkian had accepted.\n\nVà gần đây Đại sứ Iran tại Moscow cho biết văn bản đã "
        "sẵn sàng để ký kết.\n\nThe two countries say they are close to signing a strategic "
        "partnership agreement.") == [
        ("Tass", None), ("Đại sứ Iran tại Moscow", None), ("The two countries", None)]
    # A pronoun with nobody named before it.
    assert attributed("He said nothing else about the matter at all.") == [("He", None)]


def test_name_helpers_and_config_extensions() -> None:
    assert person_name("Russian President Vladimir Putin") == "Vladimir Putin"
    assert person_name("the Institute for the Study of War") is None
    assert person_name("Ushakov") is None
    index = SpeakerIndex(AttributionParams(aliases={"Vladimir Putin": ["the master of the Kremlin"],
                                                  "Mark Katz": ["the professor emeritus"]}))
    assert index.lookup("The master of the Kremlin", []) == "Vladimir Putin"
    assert index.lookup("the professor emeritus", []) == "Mark Katz"
    assert index.lookup("Russian dictator Vladimir Putin", []) == "Vladimir Putin"
    assert index.lookup("an assistant to the illegitimate head of the Kremlin", []) is None
    assert merged_languages({"Mark Katz": "en"})["Mark Katz"] == "en"
    assert DEFAULT_SPEAKER_LANGUAGES["Vladimir Putin"] == "ru"
    assert DEFAULT_SPEAKER_LANGUAGES["Masoud Pezeshkian"] == "fa"


def test_seeds_stage_level(make_job: Callable[..., Any]) -> None:
    job = make_job()
    context = StageContext(job=job)
    tables = Ingest(job).run({}, context)
    for stage in (Clean, Segment, Detect, Quotes, Attribute):
        tables.update(stage(job).run(tables, context))
    quotes = tables["quotes"]
    counts = quotes.groupby("doc_id").size()
    assert len(counts) == 5 and (counts >= 5).all()
    speakers = quotes.groupby(quotes["doc_id"].str[:3])["speaker"].agg(
        lambda s: set(s.dropna()))
    assert {"Vladimir Putin", "Masoud Pezeshkian"} <= speakers["000"]
    assert {"Yury Ushakov", "Stephen Hall"} <= speakers["001"]
    assert {"Vladimir Putin", "Masoud Pezeshkian", "Mark Katz", "Shireen Hunter"} <= speakers["002"]
    assert {"Vladimir Putin", "Masoud Pezeshkian", "Antony Blinken"} <= speakers["003"]
    assert {"Vladimir Putin", "Masoud Pezeshkian", "Yury Ushakov"} <= speakers["004"]
    vi = quotes[quotes["doc_id"].str.startswith("003_")]
    assert set(vi["lang"]) == {"vi"}
    pezeshkian = vi[vi["cue"] == "tuyên bố"].iloc[0]
    assert pezeshkian["speaker"] == "Masoud Pezeshkian" and pezeshkian["cited_source"] == "TASS"
    hall = quotes[quotes["speaker"] == "Stephen Hall"].iloc[0]
    assert hall["cited_source"] == "The Telegraph"
    assert context.stats["attributed"] == quotes["speaker"].notna().sum()
    # Quotes of organisations and groups keep no speaker.
    assert quotes.loc[quotes["speaker_mention"] == "Tass", "speaker"].isna().all()
