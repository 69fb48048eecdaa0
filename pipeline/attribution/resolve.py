"""Attributing a corpus' quotes: each quote's speaker mention → a canonical speaker."""

from __future__ import annotations

import bisect
from collections.abc import Callable

import pandas as pd

from pipeline.attribution.index import AttributionParams, SpeakerIndex
from pipeline.attribution.names import normalise
from pipeline.attribution.vietnamese import ArticleNames, resolve_vietnamese
from pipeline.cleaning import clean_text_of
from pipeline.quoting import quotes_frame, sentence_positions
from pipeline.speakers import PRONOUNS


def _raw_to_clean(offsets_clean: list[int], offsets_raw: list[int], raw_pos: int) -> int:
    run = max(bisect.bisect_right(offsets_raw, raw_pos) - 1, 0)
    return offsets_clean[run] + raw_pos - offsets_raw[run]


def resolve(quote, index: SpeakerIndex, local: list[str], persons: list[tuple[int, str]],
            positions: list[int], starts: dict[str, int], clean,
            article: ArticleNames | None = None) -> str | None:
    """The canonical speaker of one quote (a row of the quotes table, as a named tuple), or None.

    ``local``: the discovered names in its document; ``persons``: ``(position, canonical)`` of
    the persons named in its document's clean text, ``positions`` their positions; ``starts``:
    the clean-text start of each of the document's sentences, by id; ``clean``: the document's
    :class:`~pipeline.cleaning.CleanText`; ``article``: the names of a Vietnamese quote's
    article (:mod:`~pipeline.attribution.vietnamese`), None for other languages."""
    mention = quote.speaker_mention
    if not isinstance(mention, str) or not mention.strip():
        return None
    pronoun = normalise(mention) in PRONOUNS or mention.casefold() in PRONOUNS
    ids = list(quote.sent_ids)
    at = starts.get(ids[0]) if ids else None
    if at is None:
        at = _raw_to_clean(clean.offsets_clean, clean.offsets_raw, quote.char_start)
    if article is not None and quote.lang == "vi":
        if pronoun:
            found = article.last_before(at, mention)
            if found is not None:
                return found
        else:
            return resolve_vietnamese(mention, article, at, index.exact)
    if pronoun:
        before = bisect.bisect_left(positions, at)
        return persons[before - 1][1] if before else None
    return index.lookup(mention, local)


def attribute_quotes(documents: pd.DataFrame, sentences: pd.DataFrame, quotes: pd.DataFrame,
                     params: AttributionParams,
                     advance: Callable[[], None] | None = None) -> pd.DataFrame:
    """``quotes`` with ``speaker`` filled, from the cleaned ``documents`` and their
    ``sentences``; ``advance`` is called once per document."""
    index = SpeakerIndex(params)
    for mention in quotes["speaker_mention"]:
        if isinstance(mention, str):
            index.discover(mention)
    by_doc: dict[str, list] = {}
    for quote in quotes.itertuples(index=False):
        by_doc.setdefault(quote.doc_id, []).append(quote)
    # Each document's sentences (ids and texts) in reading order.
    sentence_rows: dict[str, list[int]] = {}
    for row, doc_id in enumerate(sentences["doc_id"].tolist()):
        if doc_id in by_doc:
            sentence_rows.setdefault(doc_id, []).append(row)
    sent_ids, sent_texts = sentences["sent_id"].tolist(), sentences["text"].tolist()
    sent_idx = sentences["idx"].tolist()
    speakers: dict[str, str | None] = {}
    for row in documents.itertuples(index=False):
        if advance is not None:
            advance()
        doc_quotes = by_doc.get(row.doc_id)
        if doc_quotes is None:
            continue
        clean = clean_text_of(row)
        rows = sorted(sentence_rows[row.doc_id], key=sent_idx.__getitem__)
        starts = dict(zip([sent_ids[r] for r in rows],
                          sentence_positions(clean.text, [sent_texts[r] for r in rows]),
                          strict=True))
        local = index.local_names(clean.text)
        persons = index.find_persons(clean.text, local)
        positions = [p for p, _ in persons]
        article = ArticleNames(clean.text) if any(
            getattr(q, "lang", None) == "vi" for q in doc_quotes) else None
        for quote in doc_quotes:
            speakers[quote.quote_id] = resolve(
                quote, index, local, persons, positions, starts, clean, article)
    resolved = [speakers.get(q) for q in quotes["quote_id"]]
    return quotes_frame(quotes.assign(speaker=resolved).to_dict("records"))
