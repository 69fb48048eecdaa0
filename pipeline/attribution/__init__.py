"""Speaker attribution: quotes' speaker mentions → canonical speakers. A pure library: tables
and :class:`AttributionParams` in, the quotes table with ``speaker`` filled out; the attribute
stage (:mod:`pipeline.stages.attribute`) only wires a job's tables to it.

Modules: :mod:`~pipeline.attribution.names` (mention keys, person names),
:mod:`~pipeline.attribution.fuzzy` (indexed fuzzy matching), :mod:`~pipeline.attribution.finder`
(person mentions in a text), :mod:`~pipeline.attribution.index` (:class:`SpeakerIndex`),
:mod:`~pipeline.attribution.resolve` (one quote, a whole table).

Each quote's speaker is filled in; a mention resolves, in this order, to:

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

Vietnamese quotes (``lang == "vi"``) follow :mod:`~pipeline.attribution.vietnamese` instead:
titles and honorifics before a name widen to the article's full name, organisations, agencies
and outlets are speakers, and mentions that are not names are rejected.
"""

from __future__ import annotations

from pipeline.attribution.finder import PersonFinder
from pipeline.attribution.fuzzy import FuzzyIndex
from pipeline.attribution.index import AttributionParams, SpeakerIndex
from pipeline.attribution.names import CAPITAL, is_name_alias, normalise, person_name
from pipeline.attribution.resolve import attribute_quotes, resolve

__all__ = [
    "CAPITAL",
    "AttributionParams",
    "FuzzyIndex",
    "PersonFinder",
    "SpeakerIndex",
    "attribute_quotes",
    "is_name_alias",
    "normalise",
    "person_name",
    "resolve",
]
