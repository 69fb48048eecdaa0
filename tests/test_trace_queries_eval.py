"""Tests for eval/evaluate_trace_queries.py: the query-set construction, model-free."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.eval_scripts import load_eval_script

ev = load_eval_script("evaluate_trace_queries")
MRPC = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpora" / "mrpc_test" / \
    "msr_paraphrase_test.tsv"


def _pair(label: int, n: int, s1: str | None = None, s2: str | None = None) -> object:
    return ev.Pair(label, f"{n}a", f"{n}b", s1 or f"First sentence {n}.",
                   s2 or f"Second sentence {n}.")


@pytest.mark.parametrize("form", [0, 1])
@pytest.mark.parametrize("sentence", ["The deal is done.", 'He said "no" twice.', "Why not?",
                                      "It rose 2.5 percent"])
def test_as_quote_spans_the_statement(sentence: str, form: int) -> None:
    paragraph, start, end = ev.as_quote(sentence, "Anna Brandt", form)
    inner = paragraph[start:end]
    assert '"' not in paragraph and "Anna Brandt" in paragraph
    assert inner.rstrip(",.") == sentence.replace('"', "'").rstrip(".")
    assert paragraph[start - 1] == "“"
    assert paragraph.endswith(("said Anna Brandt.", "”"))


def test_speaker_names_distinct_and_fixed() -> None:
    names = ev.speaker_names(150)
    assert len(set(names)) == 150
    assert names == ev.speaker_names(150)
    with pytest.raises(ValueError):
        ev.speaker_names(10_000)


def test_split_is_deterministic_disjoint_and_order_free() -> None:
    pairs = [_pair(n % 2, n) for n in range(40)]
    split = ev.split_pairs(pairs)
    assert split == ev.split_pairs(list(reversed(pairs)))
    assert set(split["dev"]).isdisjoint(split["heldout"])
    assert len(split["dev"]) + len(split["heldout"]) == 40


def test_plan_skips_repeated_sentences() -> None:
    repeated = ev.Pair(1, "9a", "1b", "Another.", "Second sentence 1.")  # id 1b and text again
    chosen = ev.plan_half([_pair(1, 1), repeated, _pair(1, 2), _pair(0, 3)], 2, 1)
    assert [(p.id1, role) for p, role in chosen] == [("1a", "target"), ("2a", "target"),
                                                      ("3a", "distractor")]
    with pytest.raises(ValueError, match="usable label-1"):
        ev.plan_half([_pair(1, 1), repeated], 2, 0)


def test_unrelated_news_shares_nothing_with_the_index() -> None:
    pairs = [_pair(1, n) for n in range(6)]
    pairs.append(ev.Pair(0, "0a", "7b", "First sentence 0.", "Second sentence 7."))
    chosen = [(pairs[0], "target"), (pairs[1], "target")]
    out = ev.unrelated_news(pairs, chosen, 10)
    assert "First sentence 0." not in out and "First sentence 1." not in out
    # One side per pair, alternating; the last pair's turn is its first sentence, an indexed one.
    assert out == ["First sentence 2.", "Second sentence 3.", "First sentence 4.",
                   "Second sentence 5."]
    assert ev.unrelated_news(pairs, chosen, 2) == out[:2]


def test_write_corpus_and_expected_clusters(tmp_path: Path) -> None:
    chosen = [(_pair(1, n), "target") for n in range(10)]
    indexed, metadata = ev.write_corpus(chosen, tmp_path / "docs")
    assert metadata.is_file() and len(indexed) == 10
    raw = {d.stem: d.read_text(encoding="utf-8") for d in (tmp_path / "docs").glob("*.txt")}
    for item in indexed:
        assert raw[item.doc_id][item.start:item.end].rstrip(",.") == item.pair.s1.rstrip(".")
    first = indexed[0]
    quotes = pd.DataFrame({"quote_id": ["q0", "q1"], "doc_id": [first.doc_id] * 2,
                           "char_start": [first.start + 2, first.end + 50],
                           "char_end": [first.end, first.end + 60]})
    clusters = pd.DataFrame({"cluster_id": ["c0", "c1"], "quote_ids": [["q0"], ["q1"]]})
    expected = ev.expected_clusters(indexed, quotes, clusters)
    assert expected[0] == "c0"
    assert expected[1:].count("c0") == 0


def test_summarise_and_wilson() -> None:
    rows = [{"kind": "paraphrase", "rank": 1, "matches": ["c0"]},
            {"kind": "paraphrase", "rank": 3, "matches": ["c1", "c2", "c0"]},
            {"kind": "paraphrase", "rank": None, "matches": []},
            {"kind": "unrelated news", "rank": None, "matches": []},
            {"kind": "unrelated news", "rank": None, "matches": ["c4"]}]
    summary = ev.summarise(rows)
    assert summary["paraphrase"]["recall_at_1"] == round(1 / 3, 4)
    assert summary["paraphrase"]["recall_at_5"] == round(2 / 3, 4)
    assert summary["unrelated news"]["nothing"] == 0.5
    assert summary["unrelated news"]["false_matches"] == 1
    low, high = ev.wilson(190, 200)
    assert 0.90 < low < 0.95 < high < 0.98
    assert ev.wilson(0, 0) == (0.0, 1.0)


def test_missing_corpus_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert ev.main(["--corpus", str(tmp_path / "absent.tsv")]) == 2
    assert "not found" in capsys.readouterr().err


@pytest.mark.skipif(not MRPC.is_file(), reason="MRPC test file not in ../shared/corpora")
def test_real_split_sizes() -> None:
    split = ev.split_pairs(ev.load_mrpc(MRPC))
    assert len(split["dev"]) + len(split["heldout"]) == 1725
    for half in ev.HALVES:
        chosen = ev.plan_half(split[half], 300, 100)
        assert len(ev.unrelated_news(split[half], chosen, 200)) == 200
