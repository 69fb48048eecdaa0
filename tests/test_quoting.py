"""pipeline.quoting as a library: plain strings and QuoteParams in, quotes out (no job config)."""

from __future__ import annotations

from pipeline.data import QUOTES
from pipeline.quoting import (
    BLANK,
    Found,
    QuoteParams,
    blank_quotes,
    document_source,
    extract_document,
    find_cues,
    outlet_of,
    quote_rows,
    quote_spans,
    quotes_frame,
    read_sentence,
    sentence_positions,
    strip_marks,
)


def test_marks_spans_blanking_and_stripping() -> None:
    text = "He said “we will win,” and left."
    spans = quote_spans(text)
    assert [text[s:e] for s, e, _ in spans] == ["“we will win,”"]
    frame = blank_quotes(text, spans)
    assert len(frame) == len(text) and frame.count(BLANK) == len("“we will win,”")
    assert strip_marks("“we will win,”") == "we will win"
    assert strip_marks("''so it goes''") == "so it goes"


def test_cues_and_their_speaker_mentions() -> None:
    cues = find_cues("Russian President Vladimir Putin said the talks went well.")
    assert [(c.text, c.kind, c.mention) for c in cues] == [
        ("said", "verb", "Russian President Vladimir Putin")]
    assert find_cues("The said deal was signed.") == []  # after a determiner: no cue
    assert find_cues("There is nothing here.") == []


def test_one_sentence_direct_and_indirect() -> None:
    found, unclaimed, _ = read_sentence("“We are close,” Putin said.", QuoteParams())
    assert [(q.text, q.direct, q.cue, q.mention) for q in found] == [
        ("We are close", True, "said", "Putin")]
    assert unclaimed == []
    sentence = "Putin said the two countries were very close on most questions."
    assert [q.direct for q in read_sentence(sentence, QuoteParams())[0]] == [False]
    assert read_sentence(sentence, QuoteParams(indirect=False))[0] == []


def test_continuation_across_sentences_and_min_chars() -> None:
    text = "“We are close,” Putin said. “Our trade grows every single year.”"
    sentences = ["“We are close,” Putin said.", "“Our trade grows every single year.”"]
    assert sentence_positions(text, sentences) == [0, 28]
    [quote] = extract_document(text, sentences, QuoteParams())
    assert quote.text == "We are close Our trade grows every single year."
    assert quote.sentences == [0, 1] and (quote.start, quote.end) == (0, len(text))
    assert len(extract_document(text, sentences, QuoteParams(min_chars=100))[0].sentences) == 1


def test_cited_sources() -> None:
    assert outlet_of("Russian state news agency Tass") == "Tass"
    assert outlet_of("The Kyiv Independent News") == "The Kyiv Independent News"
    assert outlet_of("the minister") is None
    assert document_source("text\nrc/wmr (AFP, AP, dpa)\n", "text") == "AFP, AP, dpa"
    assert document_source("", "Washington (AFP) – Leaders met.") == "AFP"
    [quote] = extract_document("“We are close,” Putin said.", ["“We are close,” Putin said."],
                               QuoteParams(), default_source="AFP")
    assert quote.cited == "AFP"


def test_rows_and_table() -> None:
    quote = Found(0, 14, "We are close", True, "said", "Putin", None, [1])
    rows = quote_rows("d", [quote], ["d:0", "d:1"], ["en", "vi"],
                      lambda start, end: (start + 10, end + 10))
    assert rows[0]["quote_id"] == "d:q000" and rows[0]["sent_ids"] == ["d:1"]
    assert (rows[0]["char_start"], rows[0]["char_end"], rows[0]["lang"]) == (10, 24, "vi")
    table = quotes_frame(rows)
    assert list(table.columns) == QUOTES.names and table["speaker"].tolist() == [None]
    assert str(table["char_start"].dtype) == "int64" and table["direct"].tolist() == [True]
    assert quotes_frame([]).empty and list(quotes_frame([]).columns) == QUOTES.names
