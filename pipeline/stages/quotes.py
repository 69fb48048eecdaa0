"""quotes: sentences → quotations with their span, cue, speaker mention and cited source.

Contract: ``documents`` (cleaned) + ``sentences`` → ``quotes`` (columns of
:data:`pipeline.data.QUOTES`). ``char_start``/``char_end`` index the raw file like the sentences'
spans; ``speaker`` is left empty for the attribute stage. English and Vietnamese.

A thin adapter over :mod:`pipeline.quoting`, which holds the rules (quotation marks, the cue
lexicon, speaker mentions, continuations, cited sources; its docstring lists them): each
document's sentences are read in order with the job's ``quotes.indirect`` and
``quotes.min_chars``, and the quotes' clean-text spans are mapped back to the raw file. With
``quotes.model`` (the default ``auto``: the CRF shipped with the package), English sentences
are read by :mod:`pipeline.quoting.learned`, a tagger stacked on the rules; the model file's
checksum is part of the cache key.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pipeline.base import Stage, StageContext, Tables
from pipeline.cleaning import clean_text_of
from pipeline.data import CLEANED_DOCUMENTS, QUOTES, SEGMENTS, contract
from pipeline.integrity import sha256_file
from pipeline.quoting import (
    QuoteParams,
    document_source,
    extract_document,
    quote_rows,
    quotes_frame,
)
from pipeline.quoting.learned import (
    MAX_DOCUMENT_CHARS,
    cue_words_path,
    extract_learned,
    load_tagger,
    model_path,
)

NO_MODEL = ("no learned quote model (python-crfsuite or {path} missing); English quotes "
            "come from the rules alone. Rebuild it with 'python eval/train_quote_model.py'")


class Quotes(Stage):
    name: ClassVar[str] = "quotes"
    version: ClassVar[int] = 2  # 2: the learned tagger for English sentences
    #: Sentences as segment writes them: ``lang`` is read when present (after detect).
    reads = contract(documents=CLEANED_DOCUMENTS, sentences=SEGMENTS)
    writes = contract(quotes=QUOTES)
    per_document = True

    def params(self) -> QuoteParams:
        """The library's settings from the job's ``quotes`` section."""
        config = self.job.quotes
        return QuoteParams(indirect=config.indirect, min_chars=config.min_chars)

    def key_parts(self) -> dict[str, Any]:
        # A rebuilt model file must invalidate the cache.
        path = model_path(self.job.quotes.model)
        files = [path, cue_words_path(path)] if path is not None else []
        return {"model": [sha256_file(f) if f.is_file() else None for f in files]}

    def run(self, tables: Tables, context: StageContext) -> Tables:
        enabled, params = self.job.quotes.enabled, self.params()
        tagger = load_tagger(self.job.quotes.model) if enabled else None
        if enabled and tagger is None and self.job.quotes.model == "auto":
            from pipeline.quoting.learned import DEFAULT_MODEL

            context.stats["notice"] = NO_MODEL.format(path=DEFAULT_MODEL)
        documents, sentences = tables["documents"], tables["sentences"]
        context.progress.total(len(documents))
        rows: list[dict[str, object]] = []
        rows_of: dict[str, list[int]] = {}
        for n, doc_id in enumerate(sentences["doc_id"].tolist()):
            rows_of.setdefault(doc_id, []).append(n)
        all_texts, all_ids = sentences["text"].tolist(), sentences["sent_id"].tolist()
        all_idx = sentences["idx"].tolist()
        all_langs = sentences["lang"].tolist() if "lang" in sentences else None
        for row in documents.itertuples(index=False):
            mine = rows_of.get(row.doc_id)
            context.progress.advance()
            if not enabled or not mine:
                continue
            mine = sorted(mine, key=all_idx.__getitem__)  # reading order
            clean = clean_text_of(row)
            raw = getattr(row, "raw_text", None)
            langs = ([all_langs[n] for n in mine] if all_langs is not None
                     else [getattr(row, "lang", None)] * len(mine))
            texts, source = [all_texts[n] for n in mine], document_source(raw or "", clean.text)
            found = extract_document(clean.text, texts, params, source)
            english = [lang == "en" for lang in langs]
            if tagger is not None and any(english) and len(clean.text) <= MAX_DOCUMENT_CHARS:
                found = extract_learned(clean.text, texts, english, found, tagger, source)
            rows += quote_rows(row.doc_id, found, [all_ids[n] for n in mine], langs,
                               lambda start, end, clean=clean, raw=raw:
                               clean.raw_span(start, end, raw))
        quotes = quotes_frame(rows)
        context.stats["quotes"] = len(quotes)
        context.stats["direct"] = int(quotes["direct"].sum()) if len(quotes) else 0
        return {"quotes": quotes}
