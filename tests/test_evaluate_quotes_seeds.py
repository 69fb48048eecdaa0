"""Tests for eval/evaluate_quotes_seeds.py and the integrity of eval/seeds_quotes_gold.jsonl."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sklearn.metrics import homogeneity_completeness_v_measure

from tests.eval_scripts import load_eval_script

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "eval" / "seeds_quotes_gold.jsonl"
SEEDS = ROOT / "seeds"


ev = load_eval_script("evaluate_quotes_seeds")

PUTIN, USHAKOV = "Vladimir Putin", "Yury Ushakov"

GOLD_QUOTES = [
    {"doc_id": "000_x", "text": "Relations with Iran are a priority", "speaker": PUTIN,
     "direct": True, "group": "A", "note": "g1"},
    {"doc_id": "001_y", "text": "our assessments are often very close", "speaker": PUTIN,
     "direct": True, "group": "B", "note": "g2"},
    {"doc_id": "002_z", "text": "Chúng tôi đang tích cực hợp tác", "speaker": PUTIN,
     "direct": True, "group": "B", "note": "g3"},
    {"doc_id": "001_y", "text": "the meeting has great significance", "speaker": USHAKOV,
     "direct": False, "group": "C", "note": "g4"},
    {"doc_id": "000_x", "text": "maintaining his distance from the crisis", "speaker": None,
     "direct": True, "group": "D", "note": "g5 (organisation: null speaker)"},
    {"doc_id": "002_z", "text": "they are close to signing an agreement", "speaker": None,
     "direct": False, "group": "E", "note": "g6"},
]


def _quotes(rows: list[tuple[str, str, str, str | None, bool]]) -> pd.DataFrame:
    """rows of (quote_id, doc_id, text, speaker, direct)."""
    return pd.DataFrame(
        {
            "quote_id": [r[0] for r in rows],
            "doc_id": [r[1] for r in rows],
            "sent_ids": [["s0"] for _ in rows],
            "char_start": [0] * len(rows),
            "char_end": [len(r[2]) for r in rows],
            "text": [r[2] for r in rows],
            "lang": ["en"] * len(rows),
            "direct": [r[4] for r in rows],
            "cue": ["said"] * len(rows),
            "speaker_mention": [r[3] for r in rows],
            "speaker": [r[3] for r in rows],
            "cited_source": [None] * len(rows),
        }
    )


def _clusters(members: dict[str, list[str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {"cluster_id": list(members), "speaker": [None] * len(members),
         "quote_ids": list(members.values())}
    )


HAND_QUOTES = [
    # g1 by containment: curly apostrophe, NBSP, doubled space and case are normalised away
    ("q1", "000_x", "relations with Iran are a\u00a0 priority for us, and they\u2019re growing",
     PUTIN, True),
    # g2 by containment
    ("q2", "001_y", "Our assessments are often very close.", PUTIN, True),
    # g3 (Vietnamese) by containment
    ("q3", "002_z", "Chúng tôi đang tích cực hợp tác trên trường quốc tế", PUTIN, True),
    # g4 by token overlap (2 of its 3 content words, consecutive), but the wrong speaker
    ("q4", "001_y", "great significance", PUTIN, False),
    # g5: no speaker predicted, and the gold speaker is null: correct
    ("q5", "000_x", "\u201cmaintaining his distance from the crisis\u201d", None, True),
    # false positive
    ("q6", "000_x", "the West is to blame", PUTIN, False),
    # false positive: 1 of g4's 3 content words only
    ("q7", "001_y", "the meeting", USHAKOV, False),
]
# q4 (group C) wrongly merged with q2/q3 (group B); q7 in no cluster
HAND_CLUSTERS = {"c1": ["q1", "q6"], "c2": ["q2", "q3", "q4"], "c3": ["q5"]}


def test_gold_file_texts_occur_exactly_once_in_their_seed() -> None:
    gold = ev.load_gold(GOLD)
    assert len(gold) >= 40
    for record in gold:
        path = SEEDS / f"{record['doc_id']}.txt"
        assert path.is_file(), record
        text = path.read_text(encoding="utf-8")
        assert text.count(record["text"]) == 1, record["text"]
        assert 15 <= len(record["text"]) <= 80, record["text"]
        assert not set(record["text"]) & set("\u00a0\u201c\u201d\u2018\u2019"), record["text"]
        assert record["speaker"] is None or record["speaker"].strip() == record["speaker"]
        assert record.get("note"), record
    assert {r["doc_id"] for r in gold} == {p.stem for p in SEEDS.glob("*.txt")}
    # one gold quote never matches another one of the same document
    for a in gold:
        for b in gold:
            if a is not b and a["doc_id"] == b["doc_id"]:
                assert not ev.match(b["text"], a["text"])[0], (a["text"], b["text"])


def test_gold_groups_cross_outlets() -> None:
    docs: dict[str, set[str]] = {}
    for record in ev.load_gold(GOLD):
        docs.setdefault(record["group"], set()).add(record["doc_id"][:3])
    assert docs["putin-positions-close"] == {"000", "002", "003", "004"}
    assert docs["pezeshkian-positions-closer"] == {"000", "002"}
    assert docs["pezeshkian-ties-strengthening"] == {"000", "003"}
    assert docs["ushakov-middle-east"] == {"001", "004"}


def test_exact_scores_on_hand_built_quotes() -> None:
    result = ev.evaluate(_quotes(HAND_QUOTES), _clusters(HAND_CLUSTERS), GOLD_QUOTES)

    extraction = result["extraction"]
    assert (extraction["predicted"], extraction["predicted_correct"]) == (7, 5)
    assert (extraction["gold"], extraction["gold_found"]) == (6, 5)
    assert extraction["precision"] == pytest.approx(5 / 7)
    assert extraction["recall"] == pytest.approx(5 / 6)
    assert extraction["f1"] == pytest.approx(2 * (5 / 7) * (5 / 6) / (5 / 7 + 5 / 6))
    # precision split by the predicted flag, recall by the gold flag
    assert (result["direct"]["precision"], result["direct"]["recall"]) == (1.0, 1.0)
    assert result["indirect"]["precision"] == pytest.approx(1 / 3)
    assert result["indirect"]["recall"] == pytest.approx(1 / 2)
    assert result["per_doc"]["001_y"]["predicted"] == 3
    assert result["per_doc"]["001_y"]["precision"] == pytest.approx(2 / 3)
    assert result["per_doc"]["002_z"]["recall"] == pytest.approx(1 / 2)

    assert result["attribution"] == {"accuracy": pytest.approx(4 / 5), "correct": 4,
                                     "matched": 5}
    assert [r["text"] for r in result["wrong_speaker"]] == ["the meeting has great significance"]
    assert result["wrong_speaker"][0]["predicted_speaker"] == PUTIN
    assert result["direct_agreement"] == 1.0
    assert [g["note"] for g in result["missed"]] == ["g6"]
    assert [p["quote_id"] for p in result["false_positives"]] == ["q6", "q7"]

    clusters = result["clusters"]
    assert clusters["n"] == 5
    assert clusters["purity"] == pytest.approx(4 / 5)  # c2 holds B, B and C
    assert clusters["inverse_purity"] == 1.0  # every group inside one cluster
    homogeneity, completeness, v_measure = homogeneity_completeness_v_measure(
        ["A", "B", "B", "C", "D"], ["c1", "c2", "c2", "c2", "c3"]
    )
    assert clusters["homogeneity"] == pytest.approx(homogeneity) and homogeneity < 1
    assert clusters["completeness"] == pytest.approx(completeness) == 1.0
    assert clusters["v_measure"] == pytest.approx(v_measure)
    assert result["cluster_confusions"] == {"split_groups": {},
                                            "mixed_clusters": {"c2": ["B", "C"]}}


def test_split_group_unclustered_quote_and_missing_speaker() -> None:
    rows = [("q2", "001_y", "our assessments are often very close", PUTIN, True),
            ("q3", "002_z", "Chúng tôi đang tích cực hợp tác", None, True)]
    quotes = _quotes(rows)
    quotes["speaker"] = [PUTIN, float("nan")]  # NaN counts as no speaker: wrong for g3
    result = ev.evaluate(quotes, _clusters({"c1": ["q2"]}), GOLD_QUOTES)
    assert result["attribution"]["correct"] == 1
    clusters = result["clusters"]
    assert (clusters["purity"], clusters["inverse_purity"]) == (1.0, 0.5)
    assert clusters["unclustered"] == 1
    assert "singleton" in result["cluster_note"]
    assert list(result["cluster_confusions"]["split_groups"]) == ["B"]


def test_merged_prediction_matches_two_gold_quotes_and_doc_ids_as_file_names() -> None:
    rows = [("m1", "seeds/001_y.txt",
             "The meeting has great significance; our assessments are often very close.",
             USHAKOV, False)]
    result = ev.evaluate(_quotes(rows), None, GOLD_QUOTES)
    assert result["extraction"]["precision"] == 1.0
    assert result["extraction"]["gold_found"] == 2
    assert result["attribution"] == {"accuracy": 0.5, "correct": 1, "matched": 2}
    assert result["clusters"] is None
    assert "skipped" in result["cluster_note"]


def test_gold_against_itself_is_perfect() -> None:
    gold = ev.load_gold(GOLD)
    rows = [(f"q{i}", g["doc_id"], g["text"], g["speaker"], g["direct"])
            for i, g in enumerate(gold)]
    members: dict[str, list[str]] = {}
    for i, g in enumerate(gold):
        members.setdefault(g["group"], []).append(f"q{i}")
    result = ev.evaluate(_quotes(rows), _clusters(members), gold)
    for key in ("extraction", "direct", "indirect"):
        assert (result[key]["precision"], result[key]["recall"]) == (1.0, 1.0), key
    assert result["attribution"]["accuracy"] == 1.0
    assert [m["quote_id"] for m in result["matches"]] == [f"q{i}" for i in range(len(gold))]
    clusters = result["clusters"]
    assert clusters["purity"] == clusters["inverse_purity"] == 1.0
    assert clusters["v_measure"] == pytest.approx(1.0)
    assert not result["false_positives"] and not result["missed"]


def test_token_overlap_modes() -> None:
    # a partial quote without its lead-in matches; inner quote marks do not matter
    gold = 'create a "new world order"'
    assert ev.match("new world order", gold)[0]
    assert ev.match("he wanted to create a new world order", gold)[:2] == (True, False)
    # a neighbouring sentence sharing "in the Middle East" matches only the loose bag rule
    gold = "Israel cease hostilities in the Middle East"
    neighbour = "the parties will discuss the sharp aggravation of the situation in the Middle East"
    assert ev.token_overlap(neighbour, gold) < 0.5
    assert ev.token_overlap(neighbour, gold, mode="bag") >= 0.5
    # the same words in another order: 4 of 5 for the bag, runs of one word for contiguous
    quotes = _quotes([("q1", "001_y", "significance of the great meeting", USHAKOV, False)])
    assert ev.evaluate(quotes, None, GOLD_QUOTES)["extraction"]["gold_found"] == 0
    assert ev.evaluate(quotes, None, GOLD_QUOTES, overlap="bag")["extraction"]["gold_found"] == 1
    with pytest.raises(ValueError, match="overlap"):
        ev.evaluate(quotes, None, GOLD_QUOTES, overlap="fuzzy")


def test_missing_columns_and_empty_input() -> None:
    with pytest.raises(ValueError, match="quote_id"):
        ev.evaluate(pd.DataFrame({"doc_id": [], "text": []}), None, GOLD_QUOTES)
    with pytest.raises(ValueError, match="quote_ids"):
        ev.evaluate(_quotes(HAND_QUOTES), pd.DataFrame({"cluster_id": ["c1"]}), GOLD_QUOTES)
    empty = ev.evaluate(_quotes([]), _clusters({}), GOLD_QUOTES)
    assert (empty["extraction"]["precision"], empty["extraction"]["recall"]) == (0.0, 0.0)
    assert empty["clusters"]["n"] == 0


def test_load_gold_rejects_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "gold.jsonl"
    good = dict(GOLD_QUOTES[0])
    path.write_text(json.dumps({**good, "direct": "yes"}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r":1:.*direct"):
        ev.load_gold(path)
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "speaker": 3}) + "\n",
                    encoding="utf-8")
    with pytest.raises(ValueError, match=r":2:.*speaker"):
        ev.load_gold(path)
    without_group = {k: v for k, v in good.items() if k != "group"}
    path.write_text(json.dumps(without_group) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="group"):
        ev.load_gold(path)


def test_cli_missing_quotes_is_a_clear_error(tmp_path: Path,
                                             capsys: pytest.CaptureFixture) -> None:
    assert ev.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "quotes.parquet" in err
    assert "quotetrace run configs/seeds.yaml" in err


def test_cli_json_and_report(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gold_path = tmp_path / "gold.jsonl"
    gold_path.write_text(
        "\n".join(json.dumps(g, ensure_ascii=False) for g in GOLD_QUOTES) + "\n",
        encoding="utf-8",
    )
    _quotes(HAND_QUOTES).to_parquet(tmp_path / "quotes.parquet")

    assert ev.main([str(tmp_path), "--gold", str(gold_path)]) == 0
    report = capsys.readouterr().out
    assert "cluster metrics skipped" in report
    assert "missed gold quotes (1)" in report
    assert "false positives (2)" in report
    assert "wrong speakers (1)" in report

    _clusters(HAND_CLUSTERS).to_parquet(tmp_path / "clusters.parquet")
    assert ev.main([str(tmp_path), "--gold", str(gold_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["extraction"]["precision"] == pytest.approx(5 / 7)
    assert out["attribution"]["accuracy"] == pytest.approx(4 / 5)
    assert out["clusters"]["purity"] == pytest.approx(4 / 5)

    assert ev.main([str(tmp_path), "--gold", str(gold_path)]) == 0
    assert "purity 0.800" in capsys.readouterr().out
