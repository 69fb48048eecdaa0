"""The learned quote tagger: chunks, gold tags, decoding, a CRF trained here on a handful of
sentences, the stage's model setting and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import ModelUnavailableError
from pipeline.quoting import QuoteParams, extract_document
from pipeline.quoting.document import paragraph_numbers, sentence_positions
from pipeline.quoting.learned import (
    DEFAULT_MODEL,
    Chunk,
    chunk_features,
    chunks,
    decode,
    extract_learned,
    gold_tags,
    load_tagger,
    model_path,
    train,
)

pycrfsuite = pytest.importorskip("pycrfsuite")


def layout(text: str, sentences: list[str]) -> tuple[list[int], list[int]]:
    positions = sentence_positions(text, sentences)
    return positions, paragraph_numbers(text, positions)


def test_chunks_stay_inside_paragraphs_and_skip_dropped_sentences():
    sentences = ["One two.", "Three four.", "Five six.", "Seven."]
    text = "One two. Three four.\nFive six. Seven."
    positions, paragraphs = layout(text, sentences)
    found = list(chunks(text, positions, sentences, paragraphs, [True, True, False, True]))
    assert [[text[a:b] for a, b in c.tokens] for c in found] == [
        ["One", "two", ".", "Three", "four", "."], ["Seven", "."]]
    assert found[0].sentence_of == [0, 0, 0, 1, 1, 1]


def test_a_long_sentence_is_cut_into_windows(monkeypatch):
    import pipeline.quoting.learned as learned

    monkeypatch.setattr(learned, "MAX_TOKENS", 4)
    sentence = "a b c d e f g h i j"
    positions, paragraphs = layout(sentence, [sentence])
    found = list(chunks(sentence, positions, [sentence], paragraphs, [True]))
    assert [len(c.tokens) for c in found] == [4, 4, 2]


def test_gold_tags_give_content_priority_and_a_b_per_span():
    text = "Smith said that taxes will rise."
    chunk = Chunk(0, len(text), [(0, 5), (6, 10), (11, 15), (16, 21), (22, 26), (27, 31),
                                 (31, 32)], [0] * 7)
    spans = [("Source", [(0, 5)]), ("Cue", [(6, 10)]), ("Content", [(11, 32)])]
    assert gold_tags(chunk, spans, lambda a, b: (a, b)) == [
        "B-S", "B-Q", "B-C", "I-C", "I-C", "I-C", "I-C"]


def test_decode_joins_a_content_interrupted_by_its_cue_and_takes_the_nearest_source():
    words = ["“", "We", "won", ",", "”", "Smith", "said", ",", "“", "again", ".", "”"]
    starts, text = [], ""
    for word in words:
        starts.append(len(text))
        text += word + " "
    tokens = [(s, s + len(w)) for s, w in zip(starts, words, strict=True)]
    chunk = Chunk(0, len(text), tokens, [0] * 12)
    tags = ["B-C", "I-C", "I-C", "I-C", "I-C", "B-S", "B-Q", "O", "I-C", "I-C", "I-C", "I-C"]
    (found,) = decode(chunk, tags)
    assert (found.start, found.end) == (0, chunk.tokens[-1][1])
    assert text[found.source[0]:found.source[1]] == "Smith"
    assert text[found.cue[0]:found.cue[1]] == "said"


TRAINING = [
    ("Officials said that the bridge would reopen next week.", "Officials", "said",
     "the bridge would reopen next week"),
    ("The mayor told reporters that the budget was balanced.", "The mayor", "told",
     "the budget was balanced"),
    ("Jones argued that the plan could not work.", "Jones", "argued",
     "the plan could not work"),
    ("Critics claimed that the law was unfair.", "Critics", "claimed", "the law was unfair"),
    ("The council said that rents would rise.", "The council", "said", "rents would rise"),
    ("Rivera insisted that nobody had been warned.", "Rivera", "insisted",
     "nobody had been warned"),
]


def train_tiny_model(path: Path) -> Path:
    """A CRF trained on six indirect-speech sentences, repeated (the rules find none of them
    as direct quotes, so the model must learn them from the tags)."""
    sequences = []
    for sentence, source, cue, content in TRAINING * 3:
        positions, paragraphs = layout(sentence, [sentence])
        (chunk,) = chunks(sentence, positions, [sentence], paragraphs, [True])
        spans = [(label, [(sentence.index(part), sentence.index(part) + len(part))])
                 for label, part in (("Source", source), ("Cue", cue), ("Content", content))]
        sequences.append((chunk_features(sentence, chunk, []),
                          gold_tags(chunk, spans, lambda a, b: (a, b))))
    train(iter(sequences), path, c1=0.0, c2=0.01, iterations=60)
    return path


def test_a_trained_model_reads_unseen_indirect_speech(tmp_path):
    tagger = load_tagger(str(train_tiny_model(tmp_path / "tiny.crfsuite")))
    sentence = "The governor said that the roads were closed."
    english = [True]
    found = extract_learned(sentence, [sentence], english,
                            extract_document(sentence, [sentence], QuoteParams(indirect=False)),
                            tagger)
    assert [(q.text, q.mention, q.direct) for q in found] == [
        ("the roads were closed", "The governor", False)]


def test_sentences_that_are_not_english_keep_the_rules(tmp_path):
    tagger = load_tagger(str(train_tiny_model(tmp_path / "tiny.crfsuite")))
    sentences = ["“Chúng tôi sẵn sàng hợp tác,” ông Putin nói."]
    text = sentences[0]
    rules = extract_document(text, sentences, QuoteParams())
    assert rules
    assert extract_learned(text, sentences, [False], rules, tagger) == rules


def test_model_settings_and_errors(tmp_path):
    assert model_path("rules") is None and load_tagger("rules") is None
    if DEFAULT_MODEL.is_file():
        assert model_path("auto") == DEFAULT_MODEL
    with pytest.raises(ModelUnavailableError, match=r"train_quote_model\.py") as missing:
        load_tagger(str(tmp_path / "absent.crfsuite"))
    assert missing.value.exit_code == 4 and "absent.crfsuite" in str(missing.value)
    garbage = tmp_path / "garbage.crfsuite"
    garbage.write_bytes(b"not a model")
    with pytest.raises(ModelUnavailableError, match=r"garbage\.crfsuite"):
        load_tagger(str(garbage))


CRAWL = ("Clinton questioned what kind of person gets up at 3 a.m. to send angry tweets.\n\n"
         "Trump tweeted in the early morning hours that Machado was “disgusting” and “a con” "
         "and encouraged Americans to check out her past.\n")


def stage_quotes(model: str) -> tuple[list[dict], dict]:
    from pipeline.stages.clean import Clean
    from pipeline.stages.detect import Detect
    from pipeline.stages.quotes import Quotes
    from pipeline.stages.segment import Segment
    from tests.conftest import run_on_texts

    tables, context = run_on_texts({"d": CRAWL}, (Clean, Segment, Detect, Quotes),
                                   quotes={"model": model}, detect={"languages": ["en"]})
    return tables["quotes"].to_dict("records"), context.stats


@pytest.mark.skipif(not DEFAULT_MODEL.is_file(), reason="the shipped quote model is absent")
def test_the_stage_reads_english_with_the_shipped_model():
    learned, stats = stage_quotes("auto")
    rules, _ = stage_quotes("rules")
    assert "notice" not in stats
    trump = [q for q in learned if q["speaker_mention"] == "Trump"]
    # The rules run the content on through "and encouraged …"; the tagger ends it at the
    # reported claim, as PolNeAR's annotators do.
    assert any("Machado was" in q["text"] and "encouraged" not in q["text"] for q in trump)
    assert any("encouraged" in q["text"] for q in rules)


def test_without_a_model_the_stage_says_so_once_and_uses_the_rules(monkeypatch, tmp_path):
    import pipeline.quoting.learned as learned

    monkeypatch.setattr(learned, "DEFAULT_MODEL", tmp_path / "absent.crfsuite")
    fallback, stats = stage_quotes("auto")
    assert "no learned quote model" in stats["notice"]
    assert "train_quote_model.py" in stats["notice"]
    rules, _ = stage_quotes("rules")
    assert fallback == rules


def test_the_cache_key_follows_the_model_file(tmp_path):
    from pipeline.config import parse_config
    from pipeline.stages.quotes import Quotes

    model = train_tiny_model(tmp_path / "m.crfsuite")
    job = parse_config({"job": "t", "inputs": ["x"], "quotes": {"model": str(model)}})
    before = Quotes(job).cache_key({"documents": "d", "sentences": "s"})
    model.write_bytes(model.read_bytes() + b"\0")
    assert Quotes(job).cache_key({"documents": "d", "sentences": "s"}) != before


def test_a_learned_span_that_opens_with_its_own_source():
    from pipeline.quoting.learned import _without_source
    from pipeline.quoting.sentence import Found

    text = ("the Iranian president reportedly said, “Our positions are closer.” "
            "the head of the Kremlin during a meeting")
    quoting = Found(0, 66, text[:66], False, "said", "the Iranian president", None, [0])
    kept = _without_source(text, quoting)
    assert kept is not None and kept.text == "Our positions are closer." and kept.direct
    assert text[kept.start:kept.end].startswith("“Our")
    source_only = Found(67, len(text), text[67:], False, "said", "the head of the Kremlin",
                        None, [0])
    assert _without_source(text, source_only) is None
    pronoun = Found(0, 10, "he would go", False, "said", "he", None, [0])
    assert _without_source(text, pronoun) is pronoun


def test_rule_spans_around_a_chunk_hold_every_span_that_reaches_into_it():
    import random

    from pipeline.quoting.learned import RuleSpans
    from pipeline.quoting.sentence import Found

    rng = random.Random(5)
    spans = [(start, start + rng.randint(1, 400), rng.random() < 0.5)
             for start in (rng.randint(0, 5_000) for _ in range(300))]
    index = RuleSpans([Found(a, b, "", direct, None, None, None) for a, b, direct in spans])
    for _ in range(200):
        start = rng.randint(0, 5_000)
        end = start + rng.randint(1, 300)
        near = set(index.around(start, end))
        assert {s for s in spans if s[0] < end and s[1] > start} <= near
        assert all(s[0] < end for s in near)
