"""eval/evaluate_vi_attributions.py: its offsets helper and its scoring, without the corpus."""

from __future__ import annotations

import pytest

from tests.eval_scripts import load_eval_script

TEXT = "# doc_id = news_world_201\nÔng A nói rằng trời sẽ mưa to. \"Chúng tôi sẵn sàng\", bà B nói."


def test_locate_and_split() -> None:
    ev = load_eval_script("evaluate_vi_attributions")
    start, end = ev.locate(TEXT, "trời sẽ", "mưa to")
    assert TEXT[start:end] == "trời sẽ mưa to"
    with pytest.raises(ValueError):
        ev.locate(TEXT, "nói", "to")  # ambiguous start
    with pytest.raises(ValueError):
        ev.locate(TEXT, "không có", "to")
    assert ev.split_of("news_world_201") == "tune" and ev.split_of("news_world_202") == "report"
    assert ev.norm("  Lý  Hiển\nLong ") == ev.norm("lý hiển long") and ev.norm(None) == ""


def test_match_is_one_to_one_and_needs_half_of_both() -> None:
    ev = load_eval_script("evaluate_vi_attributions")
    gold = [{1, 2, 3, 4}, {10, 11}]
    assert ev.match(gold, [{1, 2, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}, {10}]) == [(0, 0), (1, 2)]
    assert ev.match([{1, 2, 3, 4}], [{4, 5, 6, 7, 8}]) == []  # 1/4 of the gold


def test_score_content_and_speaker() -> None:
    ev = load_eval_script("evaluate_vi_attributions")
    doc = "news_world_201"
    a, b = TEXT.index("trời sẽ"), TEXT.index("Chúng tôi")
    gold = [{"doc_id": doc, "char_start": a, "char_end": a + 14, "cue": "nói rằng",
             "speaker": "Nguyễn Văn A", "split": "tune"},
            {"doc_id": doc, "char_start": b, "char_end": b + 17, "cue": "nói",
             "speaker": None, "split": "tune"}]
    predicted = [{"doc_id": doc, "char_start": a, "char_end": a + 14, "speaker": "nguyễn văn a"},
                 {"doc_id": doc, "char_start": b, "char_end": b + 17, "speaker": "B"},
                 {"doc_id": doc, "char_start": 0, "char_end": 10, "speaker": None}]
    scores, errors = ev.score(gold, predicted, {doc: TEXT})
    tune = scores["tune"]
    assert (tune["gold"], tune["predicted"], tune["matched"]) == (2, 3, 2)
    assert tune["recall"] == 1.0 and tune["precision"] == pytest.approx(0.667)
    assert tune["speaker_accuracy"] == 0.5  # a null gold needs a null prediction
    assert sorted(e["kind"] for e in errors) == ["speaker", "spurious"]
    assert "report" not in scores and scores["all"]["matched"] == 2


def test_no_corpus_exits_2(tmp_path, capsys) -> None:
    ev = load_eval_script("evaluate_vi_attributions")
    assert ev.main(["--corpus", str(tmp_path / "absent")]) == 2
    assert "no corpus" in capsys.readouterr().err
