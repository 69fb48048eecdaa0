"""attribute: quotes' speaker mentions → canonical speakers.

Contract: ``documents`` (cleaned) + ``sentences`` + ``quotes`` → ``quotes`` with ``speaker``
filled. A mention resolves, in this order, to:

1. *nothing* when there is no mention;
2. the **last person named** before the quote's sentence, for a pronoun or anaphoric phrase ("he",
   "she", "him", "ông", "bà", "the latter", "the politician"; :data:`pipeline.speakers.PRONOUNS`).
   Persons are found in the document's clean text outside quotations: every alias of the table
   and every name that became a canonical speaker (below), with its surname;
3. the canonical name of an **alias** (:mod:`pipeline.speakers`, extended by
   ``attribute.aliases``), matched case-insensitively without a leading article: a title alias
   ("the illegitimate head of the Kremlin", "Tổng thống Putin") must equal the mention, a name alias
   ("Vladimir Putin") may sit inside it ("Russian President Vladimir Putin");
4. a person already known (named in this document first, then anywhere in the corpus) whose
   **surname** is the mention ("Hunter" → "Shireen Hunter");
5. a **transliteration variant** of a known name or surname: rapidfuzz ratio ≥
   ``attribute.fuzzy_threshold`` ("Pezeshkiyan" → "Masoud Pezeshkian");
6. the mention itself when it is a **person's full name** outside the table: two to four
   capitalised words after any title, none naming an organisation ("Stephen Hall"); it then
   counts as known for later surname mentions and pronouns;
7. otherwise *nothing*: organisations, outlets, plural or unnamed speakers ("the two countries",
   "Tass", "analysts") are never guessed.
"""

from __future__ import annotations

import bisect
import re
from typing import ClassVar

import pandas as pd
from rapidfuzz import fuzz, process

from pipeline.base import Stage, StageContext, Tables
from pipeline.config import AttributeConfig
from pipeline.speakers import NOT_PERSON_WORDS, PRONOUNS, TITLE_WORDS, merged_aliases
from pipeline.stages.clean import clean_text_of
from pipeline.stages.quotes import _sentence_positions, blank_quotes, quote_spans, quotes_frame

CAPITAL = re.compile(r"^[A-ZÀ-ỸĐ][\w’'.-]*$")


def normalise(mention: str) -> str:
    """Case-folded mention without a leading article, possessive or surrounding punctuation."""
    text = " ".join(mention.replace("’", "'").split()).strip(" ,.;:")
    text = re.sub(r"'s$", "", text)
    text = re.sub(r"^(?:the|a|an)\s+", "", text, flags=re.IGNORECASE)
    return text.casefold()


def is_name_alias(alias: str) -> bool:
    """A name ("Vladimir Putin") rather than a title ("the Kremlin chief", "Tổng thống Nga")."""
    words = alias.split()
    return all(CAPITAL.match(w) for w in words) and not any(
        w.casefold() in TITLE_WORDS for w in words)


def person_name(mention: str) -> str | None:
    """The full name in a mention ("Professor Stephen Hall" → "Stephen Hall"), or None."""
    words = mention.replace("’s", "").replace("'s", "").split()
    while words and (words[0].casefold() in TITLE_WORDS or words[0].casefold() == "the"):
        words.pop(0)
    if not 2 <= len(words) <= 4 or not all(CAPITAL.match(w) for w in words):
        return None
    if any(w.casefold() in NOT_PERSON_WORDS for w in words):
        return None
    return " ".join(words)


class SpeakerIndex:
    """The alias table, the names discovered in a corpus, and how a mention resolves."""

    def __init__(self, config: AttributeConfig) -> None:
        self.threshold = config.fuzzy_threshold
        self.aliases = merged_aliases(config.aliases)
        self.exact: dict[str, str] = {}
        self.names: dict[str, str] = {}  # case-folded name alias → canonical
        for canonical, mentions in self.aliases.items():
            for mention in [canonical, *mentions]:
                self.exact.setdefault(normalise(mention), canonical)
                if is_name_alias(mention):
                    self.names.setdefault(mention.casefold(), canonical)
        self.discovered: list[str] = []  # canonical names not in the table, in corpus order

    # -- known persons -------------------------------------------------------------------------

    def canonicals(self) -> list[str]:
        return [*self.aliases, *self.discovered]

    def surnames(self, local: list[str]) -> dict[str, str]:
        """Case-folded surname → canonical; names of this document win over the corpus'."""
        table: dict[str, str] = {}
        for canonical in [*local, *self.canonicals()]:
            for name in [canonical, *self.aliases.get(canonical, [])]:
                if is_name_alias(name):
                    table.setdefault(name.split()[-1].casefold(), canonical)
        return table

    def discover(self, mention: str | None) -> None:
        """Register a full person name outside the table as its own canonical speaker."""
        name = person_name(mention) if mention else None
        if name and self.lookup(name, []) is None and name not in self.discovered:
            self.discovered.append(name)

    # -- resolution ----------------------------------------------------------------------------

    def lookup(self, mention: str, local: list[str]) -> str | None:
        """Canonical speaker of a non-pronoun mention (rules 3–6), or None."""
        key = normalise(mention)
        if key in self.exact:
            return self.exact[key]
        bare = mention.replace("’s", "").replace("'s", "")
        folded = " " + " ".join(bare.split()).casefold() + " "
        for alias in sorted(self.names, key=len, reverse=True):
            if len(alias.split()) >= 2 and f" {alias} " in folded:
                return self.names[alias]
        for name in [*local, *self.discovered]:
            if f" {name.casefold()} " in folded:
                return name
        name = person_name(mention)
        words = (name or mention).split()
        surnames = self.surnames(local)
        if len(words) == 1 and CAPITAL.match(words[0]):
            surname = words[0].replace("’s", "").replace("'s", "").casefold()
            if surname in surnames:
                return surnames[surname]
            best = process.extractOne(surname, list(surnames), scorer=fuzz.ratio,
                                      score_cutoff=self.threshold)
            return surnames[best[0]] if best else None
        if name is None:
            return None
        choices = {**{n: c for n, c in self.names.items()},
                   **{d.casefold(): d for d in [*local, *self.discovered]}}
        best = process.extractOne(name.casefold(), list(choices), scorer=fuzz.ratio,
                                  score_cutoff=self.threshold)
        if best:
            return choices[best[0]]
        return name if name in self.discovered else None

    def person_finder(self, local: list[str]) -> PersonFinder:
        """Finds every known person mention (aliases, names, surnames) in a text."""
        found: dict[str, str] = {}
        names: set[str] = set()
        for canonical in [*local, *self.canonicals()]:
            for mention in [canonical, *self.aliases.get(canonical, [])]:
                found.setdefault(mention.casefold(), canonical)
                if is_name_alias(mention):
                    names.add(mention.casefold())
                    surname = mention.split()[-1].casefold()
                    found.setdefault(surname, canonical)
                    names.add(surname)
        return PersonFinder(found, names)


class PersonFinder:
    """Person mentions in a text: names match capitalised only, titles in any case."""

    def __init__(self, table: dict[str, str], names: set[str]) -> None:
        self.table, self.names = table, names
        alternatives = sorted(table, key=len, reverse=True)
        self.pattern = re.compile(r"(?<![\w-])(?:" + "|".join(map(re.escape, alternatives))
                                  + r")(?![\w-])", re.IGNORECASE)

    def find(self, text: str) -> list[tuple[int, str]]:
        """``(position, canonical)`` of each person mention, quotations blanked out."""
        blanked = "\n".join(blank_quotes(p, quote_spans(p)) for p in text.split("\n"))
        out = []
        for match in self.pattern.finditer(blanked):
            key = match.group(0).casefold()
            if key in self.names and not match.group(0)[0].isupper():
                continue
            out.append((match.start(), self.table[key]))
        return out


def _raw_to_clean(offsets_clean: list[int], offsets_raw: list[int], raw_pos: int) -> int:
    run = max(bisect.bisect_right(offsets_raw, raw_pos) - 1, 0)
    return offsets_clean[run] + raw_pos - offsets_raw[run]


class Attribute(Stage):
    name: ClassVar[str] = "attribute"
    reads = ("documents", "sentences", "quotes")
    writes = ("quotes",)

    def run(self, tables: Tables, context: StageContext) -> Tables:
        config: AttributeConfig = self.job.attribute
        documents, sentences = tables["documents"], tables["sentences"]
        quotes = tables["quotes"]
        index = SpeakerIndex(config)
        for mention in quotes["speaker_mention"]:
            if isinstance(mention, str):
                index.discover(mention)
        context.progress.total(len(documents))
        by_doc = {doc_id: group for doc_id, group in quotes.groupby("doc_id", sort=False)}
        sentence_groups = {d: g for d, g in sentences.groupby("doc_id", sort=False)}
        speakers: dict[str, str | None] = {}
        for row in documents.itertuples(index=False):
            context.progress.advance()
            doc_quotes = by_doc.get(row.doc_id)
            if doc_quotes is None:
                continue
            clean = clean_text_of(row)
            group = sentence_groups[row.doc_id].sort_values("idx")
            starts = dict(zip(group["sent_id"],
                              _sentence_positions(clean.text, group["text"].tolist()),
                              strict=True))
            local = [n for n in index.discovered if n in clean.text]
            persons = index.person_finder(local).find(clean.text)
            positions = [p for p, _ in persons]
            for quote in doc_quotes.itertuples(index=False):
                speakers[quote.quote_id] = self.resolve(
                    quote, index, local, persons, positions, starts, clean)
        resolved = [speakers.get(q) for q in quotes["quote_id"]]
        out = quotes_frame(quotes.assign(speaker=resolved).to_dict("records"))
        context.stats["attributed"] = sum(s is not None for s in resolved)
        return {"quotes": out}

    @staticmethod
    def resolve(quote, index: SpeakerIndex, local: list[str], persons: list[tuple[int, str]],
                positions: list[int], starts: dict[str, int], clean) -> str | None:
        mention = quote.speaker_mention
        if not isinstance(mention, str) or not mention.strip():
            return None
        if normalise(mention) in PRONOUNS or mention.casefold() in PRONOUNS:
            ids = list(quote.sent_ids)
            at = starts.get(ids[0]) if ids else None
            if at is None:
                at = _raw_to_clean(clean.offsets_clean, clean.offsets_raw, quote.char_start)
            before = bisect.bisect_left(positions, at)
            return persons[before - 1][1] if before else None
        return index.lookup(mention, local)


def attribute_quotes(quotes: pd.DataFrame, documents: pd.DataFrame, sentences: pd.DataFrame,
                     config: AttributeConfig | None = None) -> pd.DataFrame:
    """Convenience for scripts: run the stage's logic without a job."""
    from pipeline.base import StageContext
    from pipeline.config import parse_config

    job = parse_config({"job": "attribute", "inputs": ["-"],
                        "attribute": (config or AttributeConfig()).model_dump()})
    tables = {"documents": documents, "sentences": sentences, "quotes": quotes}
    return Attribute(job).run(tables, StageContext(job=job))["quotes"]
