"""Tests for eval/evaluate_seeds.py and the integrity of eval/seeds_gold.jsonl."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.eval_scripts import load_eval_script

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "eval" / "seeds_gold.jsonl"
SEEDS = ROOT / "seeds"


ev = load_eval_script("evaluate_seeds")

GOLD_PAIRS = [
    {"doc_a": "000_x", "text_a": "Putin said ties were a priority",
     "doc_b": "001_y", "text_b": "relations are a priority", "note": "g1"},
    {"doc_a": "000_x", "text_a": "first face-to-face meeting",
     "doc_b": "002_z", "text_b": "met for the first time", "note": "g2"},
    {"doc_a": "001_y", "text_a": "\u201cWe work together\u201d",
     "doc_b": "002_z", "text_b": "We actively work together", "note": "g3"},
    {"doc_a": "001_y", "text_a": "S-400 systems",
     "doc_b": "002_z", "text_b": "Su-35 jets", "note": "g4"},
]


def _frame(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "doc_a": [r[0] for r in rows],
            "sent_ids_a": [["s0"] for _ in rows],
            "text_a": [r[1] for r in rows],
            "doc_b": [r[2] for r in rows],
            "sent_ids_b": [["s0"] for _ in rows],
            "text_b": [r[3] for r in rows],
            "score": [0.9] * len(rows),
            "margin": [1.05] * len(rows),
            "kind": ["1-1"] * len(rows),
        }
    )


def test_precision_recall_on_hand_built_pairs() -> None:
    rows = [
        # correct, same orientation; NBSP, doubled spaces and curly apostrophe are normalised
        ("000_x", "Russia\u2019s  Putin said\u00a0ties were a priority.", "001_y",
         "Moscow says relations are a priority indeed."),
        # correct, documents swapped relative to the gold pair
        ("002_z", "They met for the first time on Friday.", "000_x",
         "It is their first face-to-face meeting."),
        # wrong: right document pair, text of another gold pair on one side only
        ("001_y", "He said \"We work together\".", "002_z", "Su-35 jets may follow."),
        # wrong: document pair that has no gold at all
        ("000_x", "Putin said ties were a priority", "003_w", "relations are a priority"),
        # wrong: right texts but the sides are the wrong way round
        ("000_x", "relations are a priority", "001_y", "Putin said ties were a priority"),
    ]
    result = ev.evaluate(_frame(rows), GOLD_PAIRS)
    assert result["predicted"] == 5
    assert result["gold"] == 4
    assert result["precision"] == pytest.approx(2 / 5)
    assert result["recall"] == pytest.approx(2 / 4)
    assert result["f1"] == pytest.approx(2 * 0.4 * 0.5 / 0.9)
    assert [g["note"] for g in result["missed"]] == ["g3", "g4"]
    assert len(result["false_positives"]) == 3
    assert result["false_positives"][0]["kind"] == "1-1"

    per_pair = result["per_pair"]
    assert set(per_pair) == {"000_x|001_y", "000_x|002_z", "001_y|002_z", "000_x|003_w"}
    assert per_pair["000_x|001_y"]["predicted"] == 2
    assert per_pair["000_x|001_y"]["precision"] == pytest.approx(0.5)
    assert per_pair["000_x|001_y"]["recall"] == pytest.approx(1.0)
    assert per_pair["001_y|002_z"]["gold"] == 2
    assert per_pair["001_y|002_z"]["recall"] == 0.0
    assert per_pair["000_x|003_w"]["gold"] == 0
    assert per_pair["000_x|003_w"]["f1"] == 0.0


def test_merged_pair_matches_two_gold_pairs_and_duplicates_count_once_for_recall() -> None:
    rows = [
        # a 2-1 merge carrying both g3 and g4 on each side
        ("001_y", "\"We work together\", he said. S-400 systems too.", "002_z",
         "We actively work together. Su-35 jets were discussed."),
        # the same 1-1 gold pair found twice
        ("001_y", "\u201cWe work together\u201d, he said.", "002_z", "We actively work together."),
    ]
    result = ev.evaluate(_frame(rows), GOLD_PAIRS)
    assert result["precision"] == 1.0
    assert result["recall"] == pytest.approx(2 / 4)
    assert result["per_pair"]["001_y|002_z"]["gold_found"] == 2


def test_doc_ids_given_as_file_names_and_empty_input() -> None:
    rows = [("seeds/000_x.txt", "Putin said ties were a priority", "001_y.txt",
             "relations are a priority")]
    assert ev.evaluate(_frame(rows), GOLD_PAIRS)["precision"] == 1.0
    empty = ev.evaluate(_frame([]), GOLD_PAIRS)
    assert (empty["precision"], empty["recall"], empty["f1"]) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="text_b"):
        ev.evaluate(pd.DataFrame({"doc_a": [], "text_a": [], "doc_b": []}), GOLD_PAIRS)


def test_cli_missing_output_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert ev.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "alignments.parquet" in err
    assert "quotetrace run configs/seeds.yaml" in err


def test_cli_json_and_report(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gold_path = tmp_path / "gold.jsonl"
    gold_path.write_text(
        "\n".join(json.dumps(g, ensure_ascii=False) for g in GOLD_PAIRS) + "\n", encoding="utf-8"
    )
    rows = [("000_x", "Putin said ties were a priority", "001_y", "relations are a priority"),
            ("000_x", "unrelated", "002_z", "also unrelated")]
    _frame(rows).to_parquet(tmp_path / "alignments.parquet")

    assert ev.main([str(tmp_path), "--gold", str(gold_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"precision", "recall", "f1", "strict_precision", "predicted", "gold",
                        "sure", "possible", "per_pair"}
    assert (out["precision"], out["recall"]) == (0.5, 0.25)
    # gold without "sure" fields: every pair is sure, strict precision is the plain one
    assert (out["strict_precision"], out["sure"], out["possible"], out["gold"]) == (0.5, 4, 0, 4)

    assert ev.main([str(tmp_path), "--gold", str(gold_path)]) == 0
    report = capsys.readouterr().out
    assert "false positives (1)" in report
    assert "missed gold pairs (3)" in report


def test_load_gold_rejects_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "gold.jsonl"
    path.write_text('{"doc_a": "a", "text_a": "x", "doc_b": "b"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r":1:.*text_b"):
        ev.load_gold(path)
    path.write_text('{"doc_a": "a", "text_a": "x", "doc_b": "b", "text_b": "y", "sure": "no"}\n',
                    encoding="utf-8")
    with pytest.raises(ValueError, match=r":1:.*sure"):
        ev.load_gold(path)


def test_load_gold_keeps_the_sure_flag_defaulting_to_true(tmp_path: Path) -> None:
    path = tmp_path / "gold.jsonl"
    lines = [dict(GOLD_PAIRS[0]), {**GOLD_PAIRS[1], "sure": False}, {**GOLD_PAIRS[2], "sure": True}]
    path.write_text("\n".join(json.dumps(g) for g in lines) + "\n", encoding="utf-8")
    assert [g["sure"] for g in ev.load_gold(path)] == [True, False, True]


def test_possible_pair_counts_for_precision_only() -> None:
    """Sure/possible tiers (Och & Ney): P against sure+possible, R against sure only."""
    gold = [
        *GOLD_PAIRS,
        {"doc_a": "000_x", "text_a": "hail close ties", "doc_b": "001_y",
         "text_b": "relations are a priority", "note": "p1", "sure": False},
        {"doc_a": "001_y", "text_a": "meets for the first time today", "doc_b": "002_z",
         "text_b": "met for the first time", "note": "p2", "sure": False},
    ]
    rows = [
        # matches the sure pair g1
        ("000_x", "Putin said ties were a priority.", "001_y",
         "Moscow says relations are a priority."),
        # matches the possible pair p1 only
        ("000_x", "Putin and Pezeshkian hail close ties", "001_y",
         "Yes, relations are a priority."),
        # matches nothing
        ("000_x", "unrelated", "002_z", "also unrelated"),
    ]
    result = ev.evaluate(_frame(rows), gold)
    assert (result["sure"], result["possible"], result["gold"]) == (4, 2, 4)
    assert result["precision"] == pytest.approx(2 / 3)
    assert result["strict_precision"] == pytest.approx(1 / 3)
    assert result["recall"] == pytest.approx(1 / 4)
    assert result["f1"] == pytest.approx(2 * (2 / 3) * 0.25 / (2 / 3 + 0.25))
    assert len(result["false_positives"]) == 1
    assert result["false_positives"][0]["text_a"] == "unrelated"
    possible_only = [p["text_a"] for p in result["possible_only"]]
    assert possible_only == ["Putin and Pezeshkian hail close ties"]
    # unmatched possible pairs (p2) are never reported as missed
    assert [g["note"] for g in result["missed"]] == ["g2", "g3", "g4"]
    entry = result["per_pair"]["000_x|001_y"]
    assert (entry["predicted"], entry["predicted_correct"], entry["predicted_sure"]) == (2, 2, 1)
    assert (entry["gold"], entry["gold_found"], entry["possible"]) == (1, 1, 1)
    assert (entry["precision"], entry["strict_precision"], entry["recall"]) == (1.0, 0.5, 1.0)
    assert result["per_pair"]["001_y|002_z"]["possible"] == 1

    # the same prediction without the possible tier is a plain false positive
    plain = ev.evaluate(_frame(rows), GOLD_PAIRS)
    assert plain["precision"] == plain["strict_precision"] == pytest.approx(1 / 3)
    assert plain["recall"] == result["recall"]

    # a prediction matching a possible pair alone never raises recall
    only_possible = ev.evaluate(_frame(rows[1:2]), gold)
    assert (only_possible["precision"], only_possible["strict_precision"]) == (1.0, 0.0)
    assert (only_possible["recall"], only_possible["f1"]) == (0.0, 0.0)


def test_report_shows_tiers(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gold_path = tmp_path / "gold.jsonl"
    gold = [*GOLD_PAIRS, {"doc_a": "000_x", "text_a": "hail close ties", "doc_b": "001_y",
                          "text_b": "relations are a priority", "sure": False}]
    gold_path.write_text("\n".join(json.dumps(g) for g in gold) + "\n", encoding="utf-8")
    _frame([("000_x", "They hail close ties", "001_y", "relations are a priority")]).to_parquet(
        tmp_path / "alignments.parquet")
    assert ev.main([str(tmp_path), "--gold", str(gold_path)]) == 0
    report = capsys.readouterr().out
    first = report.splitlines()[0]
    assert "precision 1.000" in first and "strict precision 0.000" in first
    assert "gold 4 sure + 1 possible" in first
    assert "false positives (0)" in report
    assert "matching possible pairs only (1)" in report
    assert "missed gold pairs (4)" in report


def test_seed_gold_substrings_occur_exactly_once() -> None:
    gold = ev.load_gold(GOLD)
    sure = [g for g in gold if g["sure"]]
    assert 25 <= len(sure) <= 60
    assert 0 <= len(gold) - len(sure) <= 60
    texts = {path.stem: path.read_text(encoding="utf-8") for path in SEEDS.glob("*.txt")}
    seen = set()
    for record in gold:
        assert record["doc_a"] < record["doc_b"], record
        if not record["sure"]:  # possible pairs: no NBSP or curly quotes in the substrings
            for text in (record["text_a"], record["text_b"]):
                assert not set(text) & set("\u00a0\u2018\u2019\u201c\u201d"), text
        key = (record["doc_a"], record["text_a"], record["doc_b"], record["text_b"])
        assert key not in seen, record
        seen.add(key)
        for doc, text in ((record["doc_a"], record["text_a"]), (record["doc_b"], record["text_b"])):
            assert 20 <= len(text) <= 80, text
            assert texts[doc].count(text) == 1, (doc, text)


def test_seed_gold_is_matched_by_its_own_sentences() -> None:
    """Feeding the gold substrings back as predictions must give P = R = 1."""
    gold = ev.load_gold(GOLD)
    rows = [(g["doc_b"], g["text_b"], g["doc_a"], g["text_a"]) for g in gold]
    result = ev.evaluate(_frame(rows), gold)
    assert (result["precision"], result["recall"]) == (1.0, 1.0)
    assert result["false_positives"] == [] and result["missed"] == []
    sure_rows = [(g["doc_b"], g["text_b"], g["doc_a"], g["text_a"]) for g in gold if g["sure"]]
    assert ev.evaluate(_frame(sure_rows), gold)["strict_precision"] == 1.0


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
