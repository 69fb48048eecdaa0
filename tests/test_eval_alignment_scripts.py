"""Tests for eval/evaluate_ordered.py and eval/evaluate_mixed.py on tiny synthetic corpora.

Building and scoring are tested without a model; the end-to-end runs use the model-free hashing
embedder (``embed.backend: hashing``), so they take seconds and test the plumbing (files, job
config, mapping links back to lines), not alignment quality. The real corpora in
../shared/corpora are only checked for the shape the scripts expect (skipped when absent).
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

from tests.eval_scripts import load_eval_script

ordered = load_eval_script("evaluate_ordered")
mixed = load_eval_script("evaluate_mixed")

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"
HASHING = ["embed.backend=hashing"]

NAMES = ["Alice", "Bob", "Carol", "David", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy",
         "Mallory", "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor"]
CITIES = ["Paris", "Berlin", "Tokyo", "Lima", "Cairo", "Oslo", "Quito", "Dakar", "Hanoi"]


def _line_pair(i: int, talk: int) -> tuple[str, str]:
    """A vi line and its en translation sharing a name, a city and a year (hashing finds them)."""
    name, city, year = NAMES[(3 * i + talk) % len(NAMES)], CITIES[(i + 4 * talk) % 9], 1950 + i
    return (f"Năm {year + 20 * talk}, {name} đã đến {city} cùng gia đình.",
            f"In {year + 20 * talk}, {name} went to {city} with the family.")


def _fake_iwslt(folder: Path, talks: int = 3, lines: int = 12) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    vi, en, ids = [], [], []
    for talk in range(talks):
        for i in range(lines):
            v, e = _line_pair(i, talk)
            vi.append(v)
            en.append(e)
            ids.append(f"{100 + talk}\t{i + 1}")
    for split in ("tst2012", "tst2013"):
        (folder / f"{split}.raw.vi").write_text("\n".join(vi) + "\n", encoding="utf-8")
        (folder / f"{split}.raw.en").write_text("\n".join(en) + "\n", encoding="utf-8")
        (folder / f"{split}.docids").write_text("\n".join(ids) + "\n", encoding="utf-8")
    return folder


def _fake_mrpc(path: Path, pairs: int = 330) -> Path:
    rows = []
    for p in range(pairs):
        words = [f"w{p}x{k}" for k in range(5)]
        label = p % 3 != 0
        second = (f"A {' '.join(reversed(words))} statement." if label
                  else f"Nothing about case {p} here, officials noted.")
        rows.append(f"{int(label)}\t{p}\t{p + 1000}\tThe {' '.join(words)} report.\t{second}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


# --- evaluate_ordered ----------------------------------------------------------------------

def test_perturb_ordered_gold_points_at_the_right_lines() -> None:
    source = [f"v{i}" for i in range(400)]
    target = [f"e{i}" for i in range(400)]
    new_source, new_target, gold = ordered.perturb_ordered(source, target, random.Random(1))
    assert 300 < len(new_source) < 400 and 280 < len(new_target) < 380
    assert new_source == sorted(new_source, key=lambda s: int(s[1:]))  # order kept
    seen_source, seen_target = [], []
    for src, tgt in gold:
        seen_source += src
        seen_target += tgt
        if not tgt:  # a kept source line whose translation was dropped
            assert len(src) == 1
            continue
        numbers = [int(word[1:]) for word in new_target[tgt[0]].split()]
        assert len(numbers) in (1, 2) and numbers == list(range(numbers[0], numbers[-1] + 1))
        assert [int(new_source[i][1:]) for i in src] == [n for n in numbers
                                                          if f"v{n}" in new_source]
    assert sorted(seen_source) == list(range(len(new_source)))  # every kept line once
    assert sorted(seen_target) == list(range(len(new_target)))
    kinds = {(len(a), len(b)) for a, b in gold}
    assert {(1, 1), (2, 1), (1, 0), (0, 1)} <= kinds
    again = ordered.perturb_ordered(source, target, random.Random(1))
    assert again == (new_source, new_target, gold)  # deterministic


def _fake_mac(folder: Path) -> Path:
    for sub in ("zh", "en", "gold"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    (folder / "zh" / "001").write_text("一。\n二。\n三。\n", encoding="utf-8")
    (folder / "en" / "001").write_text("One.\nTwo.\n", encoding="utf-8")
    (folder / "gold" / "001.align").write_text("[0,1]:[0]\n[2]:[1]\n", encoding="utf-8")
    (folder / "zh" / "002").write_text("四。\n", encoding="utf-8")
    (folder / "en" / "002").write_text("Four.\nFive.\n", encoding="utf-8")
    (folder / "gold" / "002.align").write_text("[0]:[0]\n[]:[1]\n", encoding="utf-8")
    return folder


def test_load_mac_and_write_bitexts(tmp_path: Path) -> None:
    bitexts = ordered.load_mac(_fake_mac(tmp_path / "mac"))
    assert [b.stem for b in bitexts] == ["ch01", "ch02"]
    assert bitexts[0].gold == [((0, 1), (0,)), ((2,), (1,))]
    assert bitexts[1].gold == [((0,), (0,)), ((), (1,))]
    ordered.write_bitexts(bitexts, tmp_path / "work", "zh", "en")
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == [
        "ch01.en", "ch01.zh", "ch02.en", "ch02.zh"]
    assert (tmp_path / "work" / "ch01.zh").read_text(encoding="utf-8") == "一。\n二。\n三。\n"
    assert [b.stem for b in ordered.load_mac(tmp_path / "mac", ["002"])] == ["ch02"]
    assert ordered.load_mac(tmp_path / "mac", ["009"]) == []
    (tmp_path / "mac" / "gold" / "002.align").write_text("[0]:[2]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="past the end"):
        ordered.load_mac(tmp_path / "mac")


def test_job_data_sets_languages_and_applies_overrides(tmp_path: Path) -> None:
    from pipeline.config import parse_config

    data = ordered.job_data(tmp_path / "in", tmp_path / "out", "zh", "en",
                            settings=["align.min_margin=1.1", "segment.min_chars=2"])
    job = parse_config(data)
    assert job.segment.mode == "lines" and not job.translate.enabled
    assert job.detect.languages == ["zh", "en"] and job.ingest.extensions == [".zh", ".en"]
    assert job.align.pairs == "cross_language" and job.align.min_margin == 1.1
    assert job.segment.min_chars == 2  # --set comes last


def test_score_bitexts_orients_links_and_counts_cross_document_ones() -> None:
    bitexts = [ordered.Bitext("ch01", ["a", "b", "c"], ["A", "B"], [((0, 1), (0,)), ((2,), (1,))]),
               ordered.Bitext("ch02", ["d"], ["D", "E"], [((0,), (0,)), ((), (1,))])]
    links = [("ch01.en", (0,), "ch01.zh", (0, 1)),  # target first: swapped, strict hit
             ("ch01.zh", (2,), "ch01.en", (0,)),  # wrong
             ("ch02.en", (0,), "ch02.zh", (0,)),  # hit
             ("ch01.zh", (2,), "ch02.en", (1,))]  # across chapters
    report = ordered.score_bitexts(bitexts, links, "zh", "en")
    assert report["cross_document_links"] == 1 and report["predicted_links"] == 4
    assert report["strict"]["precision"] == 0.5  # 2 of 4, the cross link included
    assert report["strict"]["recall"] == pytest.approx(0.6667, abs=1e-4)  # 2 of 3 with sides
    assert report["gold_unaligned"] == 1
    assert report["kind_recall"]["2-1"]["recall_strict"] == 1.0
    assert report["kind_recall"]["1-1"] == {"gold": 2, "recall_strict": 0.5, "recall_lax": 0.5}
    assert report["per_document"]["ch02"]["f1_strict"] == 1.0
    assert report["predicted_kinds"] == {"1-1": 3, "2-1": 1}


def test_load_iwslt_ordered_is_deterministic(tmp_path: Path) -> None:
    corpus = _fake_iwslt(tmp_path / "iwslt")
    first = ordered.load_iwslt_ordered(corpus, "tst2012", seed=5)
    assert [b.stem for b in first] == ["talk00", "talk01", "talk02"]
    assert first == ordered.load_iwslt_ordered(corpus, "tst2012", seed=5)
    assert ordered.load_iwslt_ordered(corpus, "tst2012", seed=5, talks=1) == first[:1]


def test_ordered_main_exits_2_without_corpus(tmp_path: Path, capsys) -> None:
    assert ordered.main(["--only", "mac", "--corpus", str(tmp_path / "none")]) == 2
    assert "mac_dev_zhen" in capsys.readouterr().err
    assert ordered.main(["--only", "iwslt", "--corpus-iwslt", str(tmp_path / "none")]) == 2
    assert "tst2012.raw.vi not found" in capsys.readouterr().err
    mac = _fake_mac(tmp_path / "mac")
    assert ordered.main(["--only", "mac", "--corpus", str(mac), "--chapters", "009"]) == 2
    assert "no chapter 009" in capsys.readouterr().err


def test_ordered_end_to_end_with_hashing_embeddings(tmp_path: Path) -> None:
    bitexts = ordered.load_iwslt_ordered(_fake_iwslt(tmp_path / "iwslt"), "tst2012", seed=2)
    report = ordered.evaluate(bitexts, "vi", "en", tmp_path / "work", settings=HASHING,
                              name="iwslt")
    assert report["coverage"]["exact"]
    assert report["documents"] == 3 and report["predicted_links"] > 0
    assert report["strict"]["recall"] > 0.5  # shared names, cities and years
    assert report["seconds"]["job"] > 0 and "align" in report["seconds"]


# --- evaluate_mixed ------------------------------------------------------------------------

def test_build_iwslt_shuffles_english_and_keeps_gold(tmp_path: Path) -> None:
    talks = mixed.build_iwslt(_fake_iwslt(tmp_path / "iwslt", lines=40), "tst2013", seed=3)
    assert [t.stem for t in talks] == ["talk00", "talk01", "talk02"]
    for talk in talks:
        for vi_ids, (en_id,) in talk.gold:
            years = [talk.vi[i].split(",")[0].split()[-1] for i in vi_ids]
            assert all(year in talk.en[en_id] for year in years)
    assert talks == mixed.build_iwslt(tmp_path / "iwslt", "tst2013", seed=3)


def test_score_iwslt_counts_cross_talk_links() -> None:
    talks = [mixed.Talk("talk00", ["a", "b"], ["B", "A"], {((0,), (1,)), ((1,), (0,))}),
             mixed.Talk("talk01", ["c"], ["C"], {((0,), (0,))})]
    links = [("talk00.en", (1,), "talk00.vi", (0,)),  # hit, en side first
             ("talk00.vi", (1,), "talk00.en", (0,)),  # hit
             ("talk01.vi", (0,), "talk00.en", (1,)),  # across talks
             ("talk01.vi", (0,), "talk01.en", ())]  # unaligned: counted, not scored
    report = mixed.score_iwslt(talks, links)
    assert report["links"]["precision"] == pytest.approx(0.6667, abs=1e-4)
    assert report["links"]["recall"] == pytest.approx(0.6667, abs=1e-4)
    assert report["cross_talk_links"] == 1 and report["cross_talk_share"] == pytest.approx(
        0.3333, abs=1e-4)
    assert report["unaligned_links"] == 1
    assert report["talks_matched"] == 0.5  # talk01's only link goes to talk00


def test_build_and_write_mrpc(tmp_path: Path) -> None:
    first, second, _ = mixed.load_pairs(_fake_mrpc(tmp_path / "mrpc.tsv"))
    stories = mixed.build_mrpc(first, seed=1)
    assert len(stories) == 20 and [s.stem for s in stories][:2] == ["story00", "story01"]
    assert sorted(stories[1].a) == sorted(stories[1].b) == list(range(16, 32))
    assert stories[1].a != sorted(stories[1].a)  # shuffled
    assert stories == mixed.build_mrpc(first, seed=1)
    metadata = mixed.write_mrpc(stories, first, second, tmp_path / "work" / "mrpc")
    with metadata.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[:2] == [{"doc_id": "story00-a", "outlet": "A"},
                        {"doc_id": "story00-b", "outlet": "B"}]
    raw = (tmp_path / "work" / "mrpc" / "story03-b.txt").read_text(encoding="utf-8")
    paragraphs = raw.strip("\n").split("\n\n")
    assert paragraphs == [second[p] for p in stories[3].b]
    unit_of = mixed.paragraph_of({"story03-b": raw})
    assert unit_of("story03-b", raw.index(paragraphs[5])) == 5
    with pytest.raises(ValueError, match="320 needed"):
        mixed.build_mrpc(first[:100])


def test_score_mrpc() -> None:
    stories = [mixed.Story("story00", a=[1, 0, 2], b=[2, 1, 0]),
               mixed.Story("story01", a=[3, 4, 5], b=[5, 4, 3])]
    labels = [True, True, False, True, True, True]
    links = [("story00-a", (1,), "story00-b", (2,)),  # pair 0: correct
             ("story00-b", (1,), "story00-a", (0, 2)),  # merged 1+2 with 1: correct
             ("story00-a", (2,), "story00-b", (0,)),  # pair 2 (label 0): linked, wrong
             ("story00-a", (0,), "story01-b", (0,)),  # across stories
             ("story01-a", (0,), "story01-b", ())]  # unaligned: not scored
    report = mixed.score_mrpc(stories, labels, links)
    assert report["label_1_pairs"] == 5 and report["label_0_pairs"] == 1
    assert report["predicted_links"] == 4 and report["correct_links"] == 2
    assert report["precision"] == 0.5 and report["recall"] == 0.4
    assert report["label_0_linked"] == 1.0
    assert report["cross_story_links"] == 1 and report["cross_story_share"] == 0.25
    assert report["unaligned_links"] == 1
    assert report["predicted_kinds"] == {"1-1": 3, "2-1": 1}


def test_mixed_main_exits_2_without_corpus(tmp_path: Path, capsys) -> None:
    assert mixed.main(["--only", "iwslt", "--corpus-iwslt", str(tmp_path / "none")]) == 2
    assert "iwslt15_envi_tst2013" in capsys.readouterr().err
    assert mixed.main(["--only", "mrpc", "--corpus-mrpc", str(tmp_path / "x.tsv")]) == 2
    assert "msr_paraphrase_test.tsv" in capsys.readouterr().err


def test_mixed_end_to_end_with_hashing_embeddings(tmp_path: Path) -> None:
    talks = mixed.build_iwslt(_fake_iwslt(tmp_path / "iwslt"), "tst2012", seed=2)
    report = mixed.evaluate_iwslt(talks, tmp_path / "work", settings=HASHING)
    assert report["coverage"]["exact"] and report["talks"] == 3
    assert report["links"]["recall"] > 0.5
    mrpc = mixed.evaluate_mrpc(_fake_mrpc(tmp_path / "mrpc.tsv"), tmp_path / "work",
                               settings=HASHING)
    assert mrpc["coverage"]["exact"] and mrpc["pairs"] == 320
    assert mrpc["recall"] > 0.5 and mrpc["predicted_links"] > 0


# --- the real corpora: only their shape ----------------------------------------------------

@pytest.mark.skipif(not (CORPORA / "mac_dev_zhen" / "gold").is_dir(),
                    reason=f"{CORPORA}/mac_dev_zhen absent: the shared corpora are not here")
def test_mac_dev_corpus_shape() -> None:
    bitexts = ordered.load_mac(CORPORA / "mac_dev_zhen")
    assert len(bitexts) == 6
    assert sum(len(b.source) for b in bitexts) == 1463
    assert sum(len(b.target) for b in bitexts) == 1951
    for bitext in bitexts:  # each line in at most one gold link
        sources = [i for src, _ in bitext.gold for i in src]
        targets = [j for _, tgt in bitext.gold for j in tgt]
        assert len(sources) == len(set(sources)) and len(targets) == len(set(targets))


@pytest.mark.skipif(not (CORPORA / "mrpc_test" / "msr_paraphrase_test.tsv").is_file(),
                    reason=f"{CORPORA}/mrpc_test absent: the shared corpora are not here")
def test_mrpc_corpus_has_the_stories() -> None:
    first, _, labels = mixed.load_pairs(CORPORA / "mrpc_test" / "msr_paraphrase_test.tsv")
    assert len(first) == 1725 and len(mixed.build_mrpc(first)) == 20
    assert 0 < labels[:320].sum() < 320  # both labels among the stories' pairs


ceiling = load_eval_script("paraphrase_ceiling")


def test_paraphrase_ceiling_best_at_fpr() -> None:
    import numpy as np

    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0])
    # one label-0 pair (of 5 = 0.2) outscores two label-1 pairs: at FPR ≤ 0.2 the threshold
    # 0.7 keeps 3 of 4 label-1 pairs and that one label-0 pair
    scores = np.array([0.9, 0.8, 0.6, 0.3, 0.7, 0.5, 0.4, 0.2, 0.1])
    tpr, f1 = ceiling.best_at_fpr(labels, scores, max_fpr=0.2)
    assert tpr == 0.75
    assert round(f1, 3) == round(2 * 3 / (2 * 3 + 1 + 1), 3)
    tpr_strict, _ = ceiling.best_at_fpr(labels, scores, max_fpr=0.0)
    assert tpr_strict == 0.5


def test_paraphrase_ceiling_reads_mrpc_and_refuses_other_rows(tmp_path: Path, capsys) -> None:
    good = tmp_path / "mrpc.tsv"
    good.write_text("1\t1\t2\tA said it.\tIt was said by A.\n0\t3\t4\tB won 3.\tB won 4.\n",
                    encoding="utf-8")
    first, second, labels = ceiling.read_pairs(good)
    assert first == ["A said it.", "B won 3."] and second[1] == "B won 4."
    assert labels.tolist() == [1, 0]
    assert ceiling.lexical_features("B won 3.", "B won 4.")[3] == 2.0  # 3 and 4: one side each
    bad = tmp_path / "bad.tsv"
    bad.write_text("label\tid\tid\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="not an MRPC tsv row"):
        ceiling.read_pairs(bad)
    assert ceiling.main(["--corpus", str(tmp_path / "none.tsv")]) == 2
    assert "msr_paraphrase_test.tsv" in capsys.readouterr().err


diagnose = load_eval_script("diagnose_ordered")


def test_gold_path_leaves_out_lines_outside_links_and_refuses_disorder() -> None:
    # lines: a 0..4, b 0..4; gold 0-0, 1:[1,2], a 2 unaligned, 3-3, b 4 never named, a 4 too
    gold = [((0,), (0,)), ((1,), (1, 2)), ((2,), ()), ((3,), (3,))]
    assert diagnose.gold_path(gold, 5, 5) == [
        (1, 1, 1, 1), (1, 2, 2, 3), (1, 0, 3, 3), (1, 1, 4, 4), (1, 0, 5, 4), (0, 1, 5, 5)]
    with pytest.raises(ValueError, match="not a run in order"):
        diagnose.gold_path([((1,), (1,)), ((0,), (2,))], 2, 3)
    with pytest.raises(ValueError, match="not a run in order"):
        diagnose.gold_path([((0, 2), (0,))], 3, 1)


def test_stretches_cut_both_paths_at_their_shared_points() -> None:
    gold = diagnose.gold_path([((0,), (0,)), ((1,), (1, 2)), ((2,), (3,))], 3, 4)
    ours = [(1, 1, 1, 1), (1, 1, 2, 2), (0, 1, 2, 3), (1, 1, 3, 4)]
    assert diagnose.stretches(ours, gold) == [
        ([(1, 1, 2, 2), (0, 1, 2, 3)], [(1, 2, 2, 3)])]
    assert diagnose.stretches(gold, gold) == []
    assert diagnose.main(["--corpus", "/nonexistent/mac"]) == 2


def test_paraphrase_ceiling_keeps_thresholds_between_ties() -> None:
    import numpy as np

    labels = np.array([1, 0, 1, 0, 1, 0, 0, 0])
    scores = np.array([0.9, 0.9, 0.8, 0.8, 0.7, 0.7, 0.1, 0.1])
    tpr, f1 = ceiling.best_at_fpr(labels, scores, max_fpr=0.4)  # keep the 0.9 and 0.8 pairs
    assert round(tpr, 3) == 0.667 and round(f1, 3) == round(2 * 2 / (2 * 2 + 2 + 1), 3)


def test_skips_in_one_order_and_a_path_diagnosed_against_itself() -> None:
    import numpy as np

    from pipeline.alignlib import SideData
    from pipeline.orderedalign import OrderedParams, align_ordered

    # 0-1 then 1-0 between two links is the same alignment as 1-0 then 0-1
    ours = [(1, 1, 1, 1), (0, 1, 1, 2), (1, 0, 2, 2), (1, 1, 3, 3)]
    gold = diagnose.gold_path([((0,), (0,)), ((2,), (2,))], 3, 3)
    assert diagnose.skips_in_one_order(ours) == gold
    assert diagnose.stretches(ours, gold) == []
    # a path compared with itself as gold has no stretch, whatever the skip costs
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(9, 8))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    a = SideData(vectors[:5].astype(np.float32), None, np.full(5, 40.0, np.float32), None)
    b = SideData(vectors[[0, 1, 5, 6, 7, 3]].astype(np.float32), None,
                 np.full(6, 40.0, np.float32), None)
    for skip in (-0.1, 5.0):
        params = OrderedParams(skip=skip)
        matched = np.array([True, True, False, True, True])
        links = align_ordered(a, b, [(0, 0)], params, matched_a=matched)
        call = {"a": a, "b": b, "anchors": [(0, 0)], "params": params, "matched_a": matched,
                "matched_b": None, "links": links}
        assert diagnose.diagnose(call, [(link.a, link.b) for link in links]) == []
