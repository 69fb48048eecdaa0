"""Tests for eval/alignment_metrics.py: vecalign's strict/lax link scores on hand-made cases."""

from __future__ import annotations

import math
import random

import numpy as np
import pandas as pd
import pytest

from tests.eval_scripts import load_eval_script

am = load_eval_script("alignment_metrics")


def test_parse_align_reads_groups_and_unaligned_links() -> None:
    text = "[0,1]:[0]\n[2]:[1, 2]\n\n[5]:[]\n[]:[7]\n"
    assert am.parse_align(text) == [((0, 1), (0,)), ((2,), (1, 2)), ((5,), ()), ((), (7,))]
    assert [am.format_link(link) for link in am.parse_align(text)] == [
        "[0,1]:[0]", "[2]:[1,2]", "[5]:[]", "[]:[7]"]
    with pytest.raises(ValueError, match=r"gold:2: not an alignment line"):
        am.parse_align("[0]:[0]\n0-0\n", "gold")


def test_read_align(tmp_path) -> None:
    path = tmp_path / "001.align"
    path.write_text("[0]:[0,1]\n[1]:[]\n", encoding="utf-8")
    assert am.read_align(path) == [((0,), (0, 1)), ((1,), ())]


def test_perfect_prediction_scores_one() -> None:
    gold = [((0, 1), (0,)), ((2,), (1, 2)), ((3,), ())]
    scores = am.score_multiple([gold], [list(gold)])
    assert scores == {key: 1.0 for key in ("precision_strict", "precision_lax",
                                           "recall_strict", "recall_lax", "f1_strict", "f1_lax")}


def test_hand_made_case_strict_and_lax() -> None:
    gold = [((0,), (0,)), ((1, 2), (1,)), ((3,), ()), ((4,), (2,))]
    test = [((0,), (0,)), ((1,), (1,)), ((2,), ()), ((3,), ()), ((4,), (3,))]
    # precision over the 5 predicted links: (0)-(0) and the gold unaligned (3)-() are strict
    # hits; (1)-(1) overlaps gold (1,2)-(1) on both sides (lax hit); (2)-() and (4)-(3) miss.
    assert am.precision_counts(gold, test) == (2, 3, 3, 2)
    counts = am.count_multiple([gold], [test])
    # recall over the 3 gold links with both sides: (0)-(0) strict; (1,2)-(1) lax only.
    assert counts == {"precision": (2, 3, 3, 2), "recall": (1, 2, 2, 1)}
    scores = am.score_multiple([gold], [test])
    assert scores["precision_strict"] == pytest.approx(0.4)
    assert scores["precision_lax"] == pytest.approx(0.6)
    assert scores["recall_strict"] == pytest.approx(1 / 3)
    assert scores["recall_lax"] == pytest.approx(2 / 3)
    assert scores["f1_strict"] == pytest.approx(2 * 0.4 / 3 / (0.4 + 1 / 3))
    assert scores["f1_lax"] == pytest.approx(2 * 0.6 * 2 / 3 / (0.6 + 2 / 3))


def test_unaligned_gold_is_left_out_of_recall_but_counts_in_precision() -> None:
    gold = [((0,), (0,)), ((1,), ()), ((), (1,))]
    assert am.score_multiple([gold], [[((0,), (0,))]])["recall_strict"] == 1.0
    # A predicted unaligned link that is gold is a hit; one that is not is a miss, strict and lax.
    scores = am.score_multiple([gold], [[((0,), (0,)), ((1,), ()), ((2,), ())]])
    assert scores["precision_strict"] == pytest.approx(2 / 3)
    assert scores["precision_lax"] == pytest.approx(2 / 3)
    assert scores["recall_strict"] == 1.0


def test_duplicates_and_empty_links_are_ignored() -> None:
    gold = [((0,), (0,)), ((), ())]
    test = [((0,), (0,)), ((0,), (0,)), ((), ()), ([0], [0])]
    assert am.count_multiple([gold], [test]) == {"precision": (1, 0, 1, 0),
                                                  "recall": (1, 0, 1, 0)}


def test_counts_are_summed_over_document_pairs() -> None:
    gold = [[((0,), (0,))], [((0,), (0,)), ((1,), (1,)), ((2,), (2,))]]
    test = [[((0,), (0,))], [((0,), (1,)), ((1,), (2,)), ((2,), (0,))]]
    scores = am.score_multiple(gold, test)
    assert scores["precision_strict"] == pytest.approx(1 / 4)  # pooled, not averaged
    assert scores["recall_strict"] == pytest.approx(1 / 4)
    with pytest.raises(ValueError, match="2 gold lists but 1"):
        am.score_multiple(gold, test[:1])


def test_zero_denominators() -> None:
    assert am.score_multiple([[((0,), (0,))]], [[]])["precision_strict"] == 0.0
    assert am.score_multiple([[]], [[]], value_for_div_by_0=1.0)["f1_lax"] == 1.0


def _reference(gold: list, test: list) -> tuple[int, int, int, int]:
    """The definition, brute force: strict = exact link; lax = overlap with one gold link on
    both sides."""
    gold_set = {(tuple(a), tuple(b)) for a, b in gold if a or b}
    tps = fps = tpl = fpl = 0
    for a, b in {(tuple(a), tuple(b)) for a, b in test if a or b}:
        if (a, b) in gold_set:
            tps, tpl = tps + 1, tpl + 1
        elif any(set(a) & set(ga) and set(b) & set(gb) for ga, gb in gold_set):
            fps, tpl = fps + 1, tpl + 1
        else:
            fps, fpl = fps + 1, fpl + 1
    return tps, fps, tpl, fpl


def _random_links(rng: random.Random) -> list:
    links = []
    for _ in range(rng.randint(0, 8)):
        a = tuple(sorted(rng.sample(range(6), rng.randint(0, 2))))
        b = tuple(sorted(rng.sample(range(6), rng.randint(0, 2))))
        links.append((a, b))
    return links


def test_precision_counts_match_the_definition_on_random_links() -> None:
    rng = random.Random(3)
    for _ in range(300):
        gold, test = _random_links(rng), _random_links(rng)
        assert am.precision_counts(gold, test) == _reference(gold, test)


def test_link_kind_and_kind_recall() -> None:
    assert am.link_kind(((0, 1), (0,))) == "2-1"
    assert am.link_kind(((0,), (0, 1, 2))) == "1-3"
    assert am.link_kind(((0, 1, 2, 3), (0,))) == "other"
    gold = [((0,), (0,)), ((1, 2), (1,)), ((3,), (2, 3)), ((4,), ())]
    test = [((0,), (0,)), ((1,), (1,)), ((3,), (2, 3))]
    kinds = am.kind_recall([gold], [test])
    assert kinds["1-1"] == {"gold": 1, "recall_strict": 1.0, "recall_lax": 1.0}
    assert kinds["2-1"] == {"gold": 1, "recall_strict": 0.0, "recall_lax": 1.0}
    assert kinds["1-2"] == {"gold": 1, "recall_strict": 1.0, "recall_lax": 1.0}
    assert kinds["other"]["gold"] == 0  # the unaligned (4)-() is left out
    assert sum(k["gold"] for k in kinds.values()) == 3


def test_sentence_units_map_offsets_to_lines_and_check_coverage() -> None:
    raw = {"x.zh": "一。\n二。\n\n三。\n", "x.en": "One.\nTwo. Three.\nFour\n"}
    sentences = pd.DataFrame({
        "doc_id": ["x.zh", "x.zh", "x.zh", "x.en", "x.en", "x.en", "other"],
        "sent_id": ["z0", "z1", "z2", "e0", "e1", "e2", "o0"],
        "char_start": [0, 3, 7, 0, 5, 10, 0],
    })
    unit, coverage = am.sentence_units(sentences, raw)
    assert unit == {"z0": 0, "z1": 1, "z2": 3, "e0": 0, "e1": 1, "e2": 1}
    assert coverage["lines"] == 6
    assert coverage["lines_with_several_sentences"] == 1
    assert coverage["lines_without_sentence"] == 1  # "Four" has no sentence
    assert not coverage["exact"]
    exact = am.sentence_units(sentences[sentences["doc_id"] == "x.zh"], {"x.zh": raw["x.zh"]})
    assert exact[1]["exact"]


def test_unit_links_handle_empty_and_missing_sides() -> None:
    unit = {"a0": 0, "a1": 1, "b0": 0, "b1": 1, "b2": 1}
    alignments = pd.DataFrame({
        "doc_a": ["A", "A", "A", "A"],
        "sent_ids_a": [["a1", "a0"], [], None, np.array(["a0"])],
        "doc_b": ["B", "B", "B", "B"],
        "sent_ids_b": [["b1", "b2"], ["b0"], ["b1"], math.nan],
    })
    assert am.unit_links(alignments, unit) == [
        ("A", (0, 1), "B", (1,)), ("A", (), "B", (0,)), ("A", (), "B", (1,)),
        ("A", (0,), "B", ())]
