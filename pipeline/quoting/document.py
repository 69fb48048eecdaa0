"""Reading one cleaned document: its sentences in order, with continuations across sentences
and paragraphs."""

from __future__ import annotations

import bisect
import re

from pipeline.quoting.marks import BLANK, blank_quotes, quote_spans, strip_marks
from pipeline.quoting.sentence import Found, QuoteParams, read_sentence


def sentence_positions(text_clean: str, texts: list[str]) -> list[int]:
    """Clean-text start of each sentence: sentences are in-order substrings of the text."""
    positions, cursor = [], 0
    for sentence in texts:
        found = text_clean.find(sentence, cursor)
        if found < 0:
            found = text_clean.find(sentence)
        positions.append(max(found, 0))
        cursor = max(found, 0) + len(sentence)
    return positions


def paragraph_numbers(text_clean: str, positions: list[int]) -> list[int]:
    """Paragraph number (newlines before it) of each position: a binary search in the
    newlines' offsets, where counting them from the start for every sentence was quadratic
    (200,000 one-line paragraphs took minutes)."""
    newlines = [match.start() for match in re.finditer("\n", text_clean)]
    return [bisect.bisect_left(newlines, position) for position in positions]


def _quote_only(sentence: str) -> bool:
    """Whether a sentence is one closed quotation and nothing else."""
    spans = quote_spans(sentence)
    return len(spans) == 1 and spans[0][2] and not blank_quotes(sentence, spans).strip(
        BLANK + " .,")


def extract_document(text_clean: str, sentences: list[str], params: QuoteParams,
                     default_source: str | None = None) -> list[Found]:
    """Quotes of one cleaned document in clean-text offsets; ``sentences`` are its sentences."""
    positions = sentence_positions(text_clean, sentences)
    quotes: list[Found] = []
    last_direct: Found | None = None  # the paragraph's latest direct quote, for continuations
    last_sentence = -1
    open_paragraph: Found | None = None  # a quote whose paragraph ended inside it
    paragraph_of = paragraph_numbers(text_clean, positions)
    joined: set[int] = set()  # sentences read together with the one before them
    last_mention: str | None = None  # the speaker of the latest quote, for quote-only paragraphs
    for k, (sentence, base) in enumerate(zip(sentences, positions, strict=True)):
        if k and paragraph_of[k] != paragraph_of[k - 1]:
            # A quote that ended its paragraph may go on in the next one.
            open_paragraph = last_direct if last_direct and last_sentence == k - 1 else None
            last_direct = None
        if k in joined:
            continue
        found, unclaimed, cues = read_sentence(sentence, params)
        if not found and _quote_only(sentence) and k + 1 < len(sentences) and \
                paragraph_of[k + 1] == paragraph_of[k]:
            # “Why was that money sitting in the bank?” ¶ Mr. Clyburn said, echoing …: the
            # segmenter ended the sentence inside the quote; read the two as one.
            pair = text_clean[base:positions[k + 1] + len(sentences[k + 1])]
            pair_found, pair_unclaimed, pair_cues = read_sentence(pair, params)
            if any(q.direct and q.start <= len(sentence) - len(sentence.lstrip()) + 1
                   for q in pair_found):
                sentence, found, unclaimed, cues = pair, pair_found, pair_unclaimed, pair_cues
                joined.add(k + 1)
        for quote in found:
            quote.start += base
            quote.end += base
            quote.sentences = [k, k + 1] if k + 1 in joined else [k]
            quote.cited = quote.cited or default_source
            quotes.append(quote)
            last_mention = quote.mention or last_mention
            if quote.direct:
                last_direct, last_sentence = quote, quote.sentences[-1]
        has_cue = any(c.region for c in cues)
        for start, end, _ in unclaimed:
            inner = strip_marks(sentence[start:end])
            if len(inner) < params.min_chars or len(inner.split()) < 2:
                continue
            if last_direct is not None and base + start >= last_direct.end and (
                    last_sentence == k or (last_sentence == k - 1 and not has_cue)):
                target = last_direct  # “…,” Pezeshkian said. “…”
            elif open_paragraph is not None and start == 0 and not has_cue:
                target = open_paragraph  # a paragraph that only goes on quoting
            elif (start == 0 and not has_cue and last_mention and _quote_only(sentence)
                  and (k == 0 or paragraph_of[k] != paragraph_of[k - 1])):
                # A paragraph that is only a quotation continues the last speaker.
                quote = Found(base + start, base + end, inner, True, None, last_mention,
                              quotes[-1].cited if quotes else default_source, [k])
                quotes.append(quote)
                last_direct, last_sentence, open_paragraph = quote, k, None
                continue
            else:
                continue  # a scare quote, a title: no speaker
            target.end = base + end
            target.text = f"{target.text} {inner}"
            if k not in target.sentences:
                target.sentences.append(k)
            last_direct, last_sentence, open_paragraph = target, k, None
    quotes.sort(key=lambda q: (q.start, q.end))
    return quotes

