"""attribute at corpus scale: the indexed SpeakerIndex resolves exactly like a plain scan.

``PlainIndex`` is the straightforward version (every known name scanned in order for every
mention, one regular expression over every key per document); the stage's indexes must give the
same speakers, persons and local names on a random corpus of names, typos and titles.
"""

from __future__ import annotations

import random
import re

from rapidfuzz import fuzz, process

from pipeline.attribution import (
    CAPITAL,
    AttributionParams,
    FuzzyIndex,
    PersonFinder,
    SpeakerIndex,
    is_name_alias,
    normalise,
    person_name,
)


class PlainIndex:
    """SpeakerIndex without indexes: scans every alias and discovered name per mention."""

    def __init__(self, config: AttributionParams) -> None:
        reference = SpeakerIndex(config)
        self.threshold = config.fuzzy_threshold
        self.aliases, self.exact, self.names = reference.aliases, reference.exact, reference.names
        self.discovered: list[str] = []

    def canonicals(self) -> list[str]:
        return [*self.aliases, *self.discovered]

    def surnames(self, local: list[str]) -> dict[str, str]:
        table: dict[str, str] = {}
        for canonical in [*local, *self.canonicals()]:
            for name in [canonical, *self.aliases.get(canonical, [])]:
                if is_name_alias(name):
                    table.setdefault(name.split()[-1].casefold(), canonical)
        return table

    def discover(self, mention: str | None) -> None:
        name = person_name(mention) if mention else None
        if name and self.lookup(name, []) is None and name not in self.discovered:
            self.discovered.append(name)

    def lookup(self, mention: str, local: list[str]) -> str | None:
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
        choices = {**dict(self.names.items()),
                   **{d.casefold(): d for d in [*local, *self.discovered]}}
        best = process.extractOne(name.casefold(), list(choices), scorer=fuzz.ratio,
                                  score_cutoff=self.threshold)
        if best:
            return choices[best[0]]
        return name if name in self.discovered else None

    def person_finder(self, local: list[str]) -> PersonFinder:
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


FIRST = ["Stephen", "Maria", "Ivan", "Nguyễn", "Ali", "John", "Elena", "Trần", "Reza", "Olga",
         "Sergei", "Sergey", "İsmail", "Ismail"]
SYLLABLES = ["ka", "ro", "mi", "ten", "sha", "vo", "lin", "dar", "bek", "zan", "ı", "ß"]
TITLES = ["", "", "President ", "Professor ", "Mr. ", "the ", "Russian President "]


def _surname(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def _variant(rng: random.Random, name: str) -> str:
    """A mention of ``name``: as is, a surname alone, a typo, a title, lower case, a possessive."""
    choice = rng.randrange(7)
    if choice == 0:
        return name.split()[-1]
    if choice == 1:
        chars = list(name)
        chars.insert(rng.randrange(1, len(chars)), rng.choice("aeiy"))
        return "".join(chars)
    if choice == 2:
        return rng.choice(TITLES) + name
    if choice == 3:
        return name.lower()
    if choice == 4:
        return name + "’s"
    if choice == 5:
        return rng.choice(["Putin", "Pezeshkiyan", "Tass", "the Kremlin chief", "he", "Moscow",
                           "Vladimir Putine", "Blinkin"])
    return name


def _corpus(seed: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    people = [f"{rng.choice(FIRST)} {_surname(rng)}" for _ in range(60)]
    mentions = [_variant(rng, rng.choice(people)) for _ in range(400)]
    texts = []
    for _ in range(40):
        words = []
        for _ in range(rng.randint(5, 25)):
            words.append(rng.choice([
                rng.choice(people), rng.choice(mentions), "said", "the", "and", "“quoted",
                "words”", "PUTIN", "putin", "Pezeshkian", "the head of the Kremlin", "X" +
                rng.choice(people), rng.choice(people).upper(), "Tổng thống Putin", "ông",
                "\n"]))
        texts.append(" ".join(words))
    return mentions, texts


def test_indexed_speaker_index_matches_the_plain_scan() -> None:
    for seed in range(3):
        mentions, texts = _corpus(seed)
        config = AttributionParams(aliases={"Mark Katz": ["the professor emeritus"]})
        fast, plain = SpeakerIndex(config), PlainIndex(config)
        for mention in mentions:
            fast.discover(mention)
            plain.discover(mention)
        assert fast.discovered == plain.discovered and len(fast.discovered) > 20
        for text in texts:
            local = fast.local_names(text)
            assert local == [n for n in plain.discovered if n in text]
            persons = fast.find_persons(text, local)
            try:
                assert persons == plain.person_finder(local).find(text)
            except KeyError:  # the plain finder fails where "I" matched "ı"; the index does not
                assert any(c in name for name in plain.discovered for c in "ıİ")
            for mention in mentions[:80]:
                assert fast.lookup(mention, local) == plain.lookup(mention, local), mention
            assert fast.surnames(local) == plain.surnames(local)


def test_fuzzy_index_is_extract_one() -> None:
    rng = random.Random(5)
    keys = list(dict.fromkeys(_surname(rng).casefold() for _ in range(300)))
    index = FuzzyIndex()
    for n, key in enumerate(keys):
        index.add(key)
        for query in (key + "a", key[1:], _surname(rng).casefold(), ""):
            for cutoff in (0.0, 60.0, 88.0):
                best = process.extractOne(query, keys[:n + 1], scorer=fuzz.ratio,
                                          score_cutoff=cutoff)
                assert index.best(query, cutoff) == (best[0] if best else None)


def test_person_finder_fallback_for_keys_that_do_not_start_a_word() -> None:
    config = AttributionParams(aliases={"Mark Katz": ["“the boss”"]})
    index = SpeakerIndex(config)
    text = "Mark Katz spoke. Later “the boss” left, and Katz stayed."
    assert index.find_persons(text, []) == index.person_finder([]).find(text)
    assert [canonical for _, canonical in index.find_persons(text, [])] == ["Mark Katz"] * 2
    assert re.search("Katz", text)
