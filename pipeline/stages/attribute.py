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
from collections import Counter
from functools import lru_cache
from typing import ClassVar

import numpy as np
from rapidfuzz import fuzz, process

from pipeline.base import Stage, StageContext, Tables
from pipeline.config import AttributeConfig
from pipeline.data import DETECTED_DOCUMENTS, QUOTES, SENTENCES, contract
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
    """The alias table, the names discovered in a corpus, and how a mention resolves.

    Every corpus-wide structure is an index kept up to date as names are discovered (surnames,
    name words, fuzzy candidates, person-mention keys), so resolving a mention or finding the
    persons of a document costs about the same however many names the corpus holds; the results
    are those of scanning every known name in order (see :meth:`lookup`, :meth:`find_persons`).
    """

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
        # Multi-word name aliases, longest first: they may sit inside a longer mention.
        self._inner_aliases = [a for a in sorted(self.names, key=len, reverse=True)
                               if len(a.split()) >= 2]
        # Indexes over self.discovered[:self._synced] (see _sync).
        self._synced = 0
        self._discovered_set: set[str] = set()
        self._by_casefold: dict[str, list[int]] = {}  # case-folded name → discovered positions
        self._irregular: list[int] = []  # names not made of single-spaced words: scanned
        self._max_words = 1
        self._by_first_word: dict[str, list[int]] = {}  # first word → discovered positions
        self._first_word_any: list[int] = []  # names whose first word is not capitalised
        # surnames([]) in order: case-folded surname → canonical (first setter wins).
        self._surnames: dict[str, str] = {}
        self._surname_fuzzy = _FuzzyIndex()
        # The choices of a full-name fuzzy match: name aliases, then discovered names.
        self._full: dict[str, str] = dict(self.names)
        self._from_discovered: set[str] = set()
        self._full_fuzzy = _FuzzyIndex()
        for key in self._full:
            self._full_fuzzy.add(key)
        for canonical in self.aliases:
            self._add_surnames(canonical)
        self._finder: _FinderIndex | None = None

    # -- known persons -------------------------------------------------------------------------

    def canonicals(self) -> list[str]:
        return [*self.aliases, *self.discovered]

    def surnames(self, local: list[str]) -> dict[str, str]:
        """Case-folded surname → canonical; names of this document win over the corpus'."""
        self._sync()
        table = self._local_surnames(local)
        for surname, canonical in self._surnames.items():
            table.setdefault(surname, canonical)
        return table

    def discover(self, mention: str | None) -> None:
        """Register a full person name outside the table as its own canonical speaker."""
        name = person_name(mention) if mention else None
        if name and self.lookup(name, []) is None and name not in self._discovered_set:
            self.discovered.append(name)
            self._sync()

    def _surname_pairs(self, canonical: str) -> list[tuple[str, str]]:
        return [(name.split()[-1].casefold(), canonical)
                for name in [canonical, *self.aliases.get(canonical, [])] if is_name_alias(name)]

    def _add_surnames(self, canonical: str) -> None:
        for surname, owner in self._surname_pairs(canonical):
            if surname not in self._surnames:
                self._surnames[surname] = owner
                self._surname_fuzzy.add(surname)

    def _local_surnames(self, local: list[str]) -> dict[str, str]:
        table: dict[str, str] = {}
        for canonical in local:
            for surname, owner in self._surname_pairs(canonical):
                table.setdefault(surname, owner)
        return table

    def _sync(self) -> None:
        """Index the names appended to ``discovered`` since the last call."""
        while self._synced < len(self.discovered):
            position, name = self._synced, self.discovered[self._synced]
            self._synced += 1
            self._discovered_set.add(name)
            folded = name.casefold()
            words = folded.split(" ")
            if "" in words or len(folded.split()) != len(words):
                self._irregular.append(position)
            else:
                self._by_casefold.setdefault(folded, []).append(position)
                self._max_words = max(self._max_words, len(words))
            first = name.split(" ")[0]
            if FIRST_WORD.fullmatch(first) and " " in name:
                self._by_first_word.setdefault(first, []).append(position)
            else:
                self._first_word_any.append(position)
            self._add_surnames(name)
            if folded not in self._full:
                self._full_fuzzy.add(folded)
            self._full[folded] = name  # the last discovered spelling of a folded name wins
            self._from_discovered.add(folded)
            self._finder = None

    def local_names(self, text: str) -> list[str]:
        """The discovered names that occur in ``text`` (as substrings), in discovery order."""
        self._sync()
        found = set(self._first_word_any)
        for match in NAME_START.finditer(text):
            found.update(self._by_first_word.get(match.group(1), ()))
        return [self.discovered[i] for i in sorted(found) if self.discovered[i] in text]

    def _discovered_in(self, folded: str, local: list[str]) -> str | None:
        """The first of ``[*local, *discovered]`` whose folded name is a word run of the
        folded mention ``folded`` (`` mention ``)."""
        for name in local:
            if f" {name.casefold()} " in folded:
                return name
        words = folded[1:-1].split(" ")
        hits = [i for i in self._irregular if f" {self.discovered[i].casefold()} " in folded]
        for start in range(len(words)):
            for end in range(start + 1, min(len(words), start + self._max_words) + 1):
                hits.extend(self._by_casefold.get(" ".join(words[start:end]), ()))
        return self.discovered[min(hits)] if hits else None

    # -- resolution ----------------------------------------------------------------------------

    def lookup(self, mention: str, local: list[str]) -> str | None:
        """Canonical speaker of a non-pronoun mention (rules 3–6), or None."""
        key = normalise(mention)
        if key in self.exact:
            return self.exact[key]
        bare = mention.replace("’s", "").replace("'s", "")
        folded = " " + " ".join(bare.split()).casefold() + " "
        for alias in self._inner_aliases:
            if f" {alias} " in folded:
                return self.names[alias]
        self._sync()
        found = self._discovered_in(folded, local)
        if found is not None:
            return found
        name = person_name(mention)
        words = (name or mention).split()
        if len(words) == 1 and CAPITAL.match(words[0]):
            surname = words[0].replace("’s", "").replace("'s", "").casefold()
            mine = self._local_surnames(local)
            if surname in mine:
                return mine[surname]
            if surname in self._surnames:
                return self._surnames[surname]
            # The choices are the surnames, this document's first: the corpus-wide best match,
            # unless one of this document's surnames scores as high.
            best = self._surname_fuzzy.best(surname, self.threshold)
            choices = [*mine, *([] if best is None or best in mine else [best])]
            pick = process.extractOne(surname, choices, scorer=fuzz.ratio,
                                      score_cutoff=self.threshold) if choices else None
            if pick is None:
                return None
            return mine[pick[0]] if pick[0] in mine else self._surnames[pick[0]]
        if name is None:
            return None
        # Choices: name aliases, then this document's names, then the corpus' (the corpus-wide
        # best match, unless a name of this document scores as high).
        best = self._full_fuzzy.best(name.casefold(), self.threshold)
        mine = {n.casefold(): n for n in local}
        choices = [*([best] if best in self.names else []),
                   *(k for k in mine if k not in self.names),
                   *([best] if best is not None and best not in self.names and best not in mine
                     else [])]
        pick = process.extractOne(name.casefold(), choices, scorer=fuzz.ratio,
                                  score_cutoff=self.threshold) if choices else None
        if pick is not None:
            key = pick[0]
            return self._full[key] if key in self._from_discovered or key not in mine \
                else mine[key]
        return name if name in self._discovered_set else None

    def person_finder(self, local: list[str]) -> PersonFinder:
        """Finds every known person mention (aliases, names, surnames) in a text."""
        found: dict[str, str] = {}
        names: set[str] = set()
        for canonical in [*local, *self.canonicals()]:
            for key, surname in _person_keys(canonical, self.aliases):
                found.setdefault(key, canonical)
                if surname is not None:
                    names.add(key)
                    found.setdefault(surname, canonical)
                    names.add(surname)
        return PersonFinder(found, names)

    def find_persons(self, text: str, local: list[str]) -> list[tuple[int, str]]:
        """``person_finder(local).find(text)``, from an index of the corpus' person keys."""
        self._sync()
        if self._finder is None:
            self._finder = _FinderIndex(self.canonicals(), self.aliases)
        return self._finder.find(text, local, self)


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


def _person_keys(canonical: str, aliases: dict[str, list[str]]):
    """``(key, surname or None)`` of each mention of a canonical person: the case-folded
    mention, and the surname of a name (which matches only capitalised)."""
    for mention in [canonical, *aliases.get(canonical, [])]:
        surname = mention.split()[-1].casefold() if is_name_alias(mention) else None
        yield mention.casefold(), surname


#: The first word of a discovered name, and where one can start in a text (followed by a space).
FIRST_WORD = re.compile(r"[A-ZÀ-ỸĐ]\S*")
NAME_START = re.compile(r"(?=([A-ZÀ-ỸĐ]\S*) )")


class _FuzzyIndex:
    """``process.extractOne(query, keys, scorer=fuzz.ratio, score_cutoff=cutoff)`` over an
    append-only list of keys, without scoring every key.

    fuzz.ratio is ``200 · LCS / (len(a) + len(b))`` (indel similarity), and the longest common
    subsequence keeps at most ``Σ_c min(count_a(c), count_b(c))`` characters; only the keys whose
    bound reaches the cutoff are scored, in their order, so the first best key is extractOne's.
    A query's result is kept with the number of keys it covered, so asking again only scores the
    keys added since (the first best of a longer list is the earlier best unless a new key
    scores strictly higher).
    """

    def __init__(self) -> None:
        self.keys: list[str] = []
        self._columns: dict[str, int] = {}
        self._counts = np.zeros((64, 32), dtype=np.int32, order="F")
        self._lengths = np.zeros(64, dtype=np.int64)
        self._memo: dict[tuple[str, float], tuple[int, str | None, float]] = {}

    def add(self, key: str) -> None:
        row = len(self.keys)
        if row == len(self._lengths):
            self._counts = np.asfortranarray(
                np.concatenate([self._counts, np.zeros_like(self._counts)], axis=0))
            self._lengths = np.concatenate([self._lengths, np.zeros_like(self._lengths)])
        for char, count in Counter(key).items():
            column = self._columns.setdefault(char, len(self._columns))
            if column == self._counts.shape[1]:
                self._counts = np.asfortranarray(
                    np.concatenate([self._counts, np.zeros_like(self._counts)], axis=1))
            self._counts[row, column] = count
        self._lengths[row] = len(key)
        self.keys.append(key)

    def best(self, query: str, cutoff: float) -> str | None:
        seen, best, score = self._memo.get((query, cutoff), (0, None, -1.0))
        total = len(self.keys)
        if seen < total:
            shared = np.zeros(total - seen, dtype=np.int64)
            for char, count in Counter(query).items():
                column = self._columns.get(char)
                if column is not None:
                    shared += np.minimum(self._counts[seen:total, column], count)
            lengths = self._lengths[seen:total] + len(query)
            rows = np.flatnonzero(200.0 * shared >= (cutoff - 1e-6) * lengths)
            if len(rows):
                found = process.extractOne(query, [self.keys[seen + r] for r in rows],
                                           scorer=fuzz.ratio, score_cutoff=cutoff)
                if found is not None and (best is None or found[1] > score):
                    best, score = found[0], found[1]
            self._memo[(query, cutoff)] = (total, best, score)
        return best


_RUN = re.compile(r"[\w-]+")


@lru_cache(maxsize=1)
def _ignorecase_table() -> dict[int, int]:
    """Character → one representative of the characters ``re.IGNORECASE`` matches it with (its
    simple lower case and re's extra case pairs such as i/ı, s/ſ), where that is not itself.
    Cased characters all lie below U+20000."""
    import _sre
    from re._casefix import _EXTRA_CASES

    table = {}
    for code in range(0x20000):
        lower = _sre.unicode_tolower(code)
        extra = _EXTRA_CASES.get(lower)
        representative = min(lower, *extra) if extra else lower
        if representative != code:
            table[code] = representative
    return table


def _fold(text: str) -> str:
    return text.translate(_ignorecase_table())


class _FinderIndex:
    """:class:`PersonFinder`'s matches without one regular expression over every key.

    The finder's pattern is ``(?<![\\w-])(?:key1|key2|…)(?![\\w-])`` (case-insensitive, longest
    key first): a match starts where a run of word characters or hyphens starts, and that run,
    case-folded, is the key's first run. So each run of the text only tries the keys with its
    folded run, in the pattern's order, each with its own small pattern. Keys that do not start
    with a word character or hyphen fall back to the whole pattern.
    """

    def __init__(self, canonicals: list[str], aliases: dict[str, list[str]]) -> None:
        self.aliases = aliases
        self.table: dict[str, str] = {}
        self.names: set[str] = set()
        for canonical in canonicals:
            for key, surname in _person_keys(canonical, aliases):
                self.table.setdefault(key, canonical)
                if surname is not None:
                    self.names.update((key, surname))
                    self.table.setdefault(surname, canonical)
        self.position = {key: n for n, key in enumerate(self.table)}
        self.by_run: dict[str, list[str]] = {}
        self.plain = all(_RUN.match(key) for key in self.table)
        for key in sorted(self.table, key=len, reverse=True):  # the pattern's order
            run = _RUN.match(key)
            if run:
                self.by_run.setdefault(_fold(run.group(0)), []).append(key)
        self.patterns: dict[str, re.Pattern[str]] = {}

    def _pattern(self, key: str) -> re.Pattern[str]:
        pattern = self.patterns.get(key)
        if pattern is None:
            pattern = re.compile(r"(?<![\w-])(?:" + re.escape(key) + r")(?![\w-])",
                                 re.IGNORECASE)
            self.patterns[key] = pattern
        return pattern

    def find(self, text: str, local: list[str], index: SpeakerIndex) -> list[tuple[int, str]]:
        mine: dict[str, str] = {}
        names = set(self.names)
        for canonical in local:
            for key, surname in _person_keys(canonical, self.aliases):
                mine.setdefault(key, canonical)
                if surname is not None:
                    names.update((key, surname))
                    mine.setdefault(surname, canonical)
        if not self.plain or not all(_RUN.match(key) for key in mine):
            return index.person_finder(local).find(text)
        local_runs: dict[str, list[str]] = {}
        for key in mine:
            local_runs.setdefault(_fold(_RUN.match(key).group(0)), []).append(key)
        local_rank = {key: n for n, key in enumerate(mine)}

        def order(key: str) -> tuple[int, int, int]:
            if key in local_rank:
                return -len(key), 0, local_rank[key]
            return -len(key), 1, self.position[key]

        blanked = "\n".join(blank_quotes(p, quote_spans(p)) for p in text.split("\n"))
        out = []
        after = 0
        for run in _RUN.finditer(_fold(blanked)):
            if run.start() < after:
                continue
            keys = self.by_run.get(run.group(0), [])
            if run.group(0) in local_runs:  # this document's names come first
                keys = sorted({*keys, *local_runs[run.group(0)]}, key=order)
            for key in keys:
                match = self._pattern(key).match(blanked, run.start())
                if match is None:
                    continue
                after = match.end()
                found = match.group(0).casefold()
                if found not in mine and found not in self.table:
                    found = key  # "İsmail" folds to "i̇smail" but matched "ismail"
                if not (found in names and not match.group(0)[0].isupper()):
                    out.append((match.start(), mine[found] if found in mine
                                else self.table[found]))
                break
        return out


def _raw_to_clean(offsets_clean: list[int], offsets_raw: list[int], raw_pos: int) -> int:
    run = max(bisect.bisect_right(offsets_raw, raw_pos) - 1, 0)
    return offsets_clean[run] + raw_pos - offsets_raw[run]


class Attribute(Stage):
    name: ClassVar[str] = "attribute"
    reads = contract(documents=DETECTED_DOCUMENTS, sentences=SENTENCES, quotes=QUOTES)
    writes = contract(quotes=QUOTES)

    def run(self, tables: Tables, context: StageContext) -> Tables:
        config: AttributeConfig = self.job.attribute
        documents, sentences = tables["documents"], tables["sentences"]
        quotes = tables["quotes"]
        index = SpeakerIndex(config)
        for mention in quotes["speaker_mention"]:
            if isinstance(mention, str):
                index.discover(mention)
        context.progress.total(len(documents))
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
            context.progress.advance()
            doc_quotes = by_doc.get(row.doc_id)
            if doc_quotes is None:
                continue
            clean = clean_text_of(row)
            rows = sorted(sentence_rows[row.doc_id], key=sent_idx.__getitem__)
            starts = dict(zip([sent_ids[r] for r in rows],
                              _sentence_positions(clean.text, [sent_texts[r] for r in rows]),
                              strict=True))
            local = index.local_names(clean.text)
            persons = index.find_persons(clean.text, local)
            positions = [p for p, _ in persons]
            for quote in doc_quotes:
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
