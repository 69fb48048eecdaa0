"""The speaker index: the alias table, the names discovered in a corpus, and how a mention
resolves to a canonical speaker."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from pipeline.attribution.finder import FinderIndex, PersonFinder
from pipeline.attribution.fuzzy import FuzzyIndex
from pipeline.attribution.names import CAPITAL, is_name_alias, normalise, person_keys, person_name
from pipeline.speakers import merged_aliases


@dataclass(frozen=True)
class AttributionParams:
    """The resolution settings (the job's ``attribute`` section holds the same names)."""

    #: rapidfuzz score (0–100) for transliteration variants of a name.
    fuzzy_threshold: float = 88.0
    #: Extra aliases: canonical name → mentions, titles, spellings.
    aliases: dict[str, list[str]] = field(default_factory=dict)


FIRST_WORD = re.compile(r"[A-ZÀ-ỸĐ]\S*")
NAME_START = re.compile(r"(?=([A-ZÀ-ỸĐ]\S*) )")


def appositive_pieces(mention: str) -> list[str]:
    """A mention's comma-separated pieces: a name and its appositives, as news sources are
    written ("Mark Katz, professor emeritus at George Mason University")."""
    return [piece.strip() for piece in mention.split(",") if piece.strip()]


class SpeakerIndex:
    """The alias table, the names discovered in a corpus, and how a mention resolves.

    Every corpus-wide structure is an index kept up to date as names are discovered (surnames,
    name words, fuzzy candidates, person-mention keys), so resolving a mention or finding the
    persons of a document costs about the same however many names the corpus holds; the results
    are those of scanning every known name in order (see :meth:`lookup`, :meth:`find_persons`).
    """

    def __init__(self, params: AttributionParams) -> None:
        self.threshold = params.fuzzy_threshold
        self.aliases = merged_aliases(params.aliases)
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
        self._surname_fuzzy = FuzzyIndex()
        # The choices of a full-name fuzzy match: name aliases, then discovered names.
        self._full: dict[str, str] = dict(self.names)
        self._from_discovered: set[str] = set()
        self._full_fuzzy = FuzzyIndex()
        for key in self._full:
            self._full_fuzzy.add(key)
        for canonical in self.aliases:
            self._add_surnames(canonical)
        self._finder: FinderIndex | None = None

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
        """Register a full person name outside the table as its own canonical speaker (of a
        mention with an appositive, "Mark Katz, professor emeritus at …", the first piece
        that is a name)."""
        name = next(filter(None, map(person_name, appositive_pieces(mention or ""))), None)
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
        """Canonical speaker of a non-pronoun mention (rules 3–6), or None; a mention with an
        appositive that does not resolve whole resolves by its first piece that does ("Yury
        Ushakov, Putin's aide on foreign policy")."""
        found = self._lookup_whole(mention, local)
        if found is None and "," in mention:
            found = next(filter(None, (self._lookup_whole(piece, local)
                                       for piece in appositive_pieces(mention))), None)
        return found

    def _lookup_whole(self, mention: str, local: list[str]) -> str | None:
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
            for key, surname in person_keys(canonical, self.aliases):
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
            self._finder = FinderIndex(self.canonicals(), self.aliases)
        return self._finder.find(text, local, self)
