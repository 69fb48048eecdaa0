"""The quotes table: rows of a document's quotes, and the table with QUOTES' columns."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from pipeline.data import QUOTES
from pipeline.quoting.sentence import Found


def quotes_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    """The quotes table with QUOTES' columns; text columns keep None (not NaN) for missing."""
    def missing(value: object) -> bool:
        return value is None or (isinstance(value, float) and value != value)

    columns = {name: pd.Series([None if missing(row[name]) else row[name] for row in rows],
                               dtype=object) for name in QUOTES.names}
    frame = pd.DataFrame(columns)
    frame["char_start"] = frame["char_start"].astype("int64")
    frame["char_end"] = frame["char_end"].astype("int64")
    frame["direct"] = frame["direct"].astype(bool)
    return frame


def quote_rows(doc_id: str, quotes: list[Found], sent_ids: list[str], langs: list[str | None],
               raw_span: Callable[[int, int], tuple[int, int]]) -> list[dict[str, object]]:
    """Rows of the quotes table for one document's quotes (from :func:`extract_document`).

    ``sent_ids`` and ``langs`` are the document's sentences' ids and languages in reading order;
    ``raw_span`` maps a clean-text span to the raw file's. ``speaker`` is left empty."""
    rows: list[dict[str, object]] = []
    for n, quote in enumerate(quotes):
        start, end = raw_span(quote.start, quote.end)
        rows.append({
            "quote_id": f"{doc_id}:q{n:03d}",
            "doc_id": doc_id,
            "sent_ids": [sent_ids[k] for k in quote.sentences],
            "char_start": start,
            "char_end": end,
            "text": quote.text,
            "lang": langs[quote.sentences[0]],
            "direct": quote.direct,
            "cue": quote.cue,
            "speaker_mention": quote.mention,
            "speaker": None,
            "cited_source": quote.cited,
        })
    return rows
