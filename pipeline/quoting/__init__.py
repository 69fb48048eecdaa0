"""Rule-based quote extraction: sentences → quotations with their span, cue, speaker mention
and cited source (English and Vietnamese). A pure library: plain strings and parameters in
(:class:`QuoteParams`), :class:`Found` quotes and table rows out; the quotes stage
(:mod:`pipeline.stages.quotes`) only wires a job's tables to it.

Modules: :mod:`~pipeline.quoting.marks` (quotation marks, frames),
:mod:`~pipeline.quoting.lexicon` (cue verbs, the cue pattern, word lists),
:mod:`~pipeline.quoting.outlets` (news outlets, agency tags), :mod:`~pipeline.quoting.cues`
(cues, speaker mentions, content regions), :mod:`~pipeline.quoting.sentence` (one sentence's
quotes), :mod:`~pipeline.quoting.document` (a document's quotes, continuations),
:mod:`~pipeline.quoting.frame` (the quotes table).

How a sentence is read (all matching runs on the sentence's *frame*: its text with every quoted
passage, marks included, blanked out, so a cue word inside a quotation is never a cue):

1. **Quoted passages**: curly (“…”, «…», „…“) or straight ("…") double quotes, paired within a
   sentence; an unclosed one runs to the end of the sentence. Single quotes are not quotations.
2. **Cues**: reporting verbs (said, says, told, tells, added, adding, stressed, claimed, wrote,
   was quoted as telling, reportedly said, …; with auxiliaries and adverbs written before them,
   "has also said"), ``according to``, and Vietnamese nói, tuyên bố, cho biết, cho hay, thông
   báo, xác nhận, cảnh báo, nhấn mạnh, khẳng định, … plus "Theo X," and a closing ", theo X."
   (= according to X; not "Theo đó"). A verb right after a determiner ("the said deal") or a
   passive auxiliary ("was told") is not a cue, nor a Vietnamese one after a noun maker ("lời
   cảnh báo", "trong thông báo"). Vietnamese viết, chia sẻ, kể lại, nhớ lại, hỏi, trả lời are
   cues only after a quotation and its speaker; gọi and mô tả only before a quotation (framing);
   "được cho là", "được dự đoán" report a claim with no speaker.
3. **Speaker mention** of a cue: the subject before it, within its clause (after the last comma,
   colon or quotation; "As Yury Ushakov, an assistant to …, said" skips the appositive); or,
   with no subject, the noun phrase right after it ("…,” said Stephen Hall, …"); for
   ``according to``/``Theo``, the phrase after it. A participle cue ("…, adding, “…”") keeps the
   previous cue's speaker.
4. **Content region** of a cue: after it when a complement follows (``that …``, ``: …``,
   ``, “…”`` after an addressee, or a clause), up to the next cue's subject; otherwise before it
   (``“…,” Putin said``, ``…, said the head of the Kremlin``, ``…, according to him``).
5. **Quotes**: each quoted passage goes to the nearest cue whose region holds it. A region that
   is one quoted passage gives a *direct* quote whose text is the passage without its marks; a
   region of quoted passages mixed with the writer's words ("said ties were a “priority.”")
   gives one direct quote with the whole region as text; a region with no quotation gives an
   *indirect* quote (``direct=False``, only with ``quotes.indirect``), which also covers verbatim
   speech printed without marks ("We actively work together …, said the illegitimate head of
   the Kremlin").
6. **Continuations**: a quoted passage that no cue claims continues the direct quote just before
   it and is merged into it (text joined with a space, span and sentence ids extended): in the
   same sentence ("“…,” said X, “…”"), in the next sentence of the paragraph when that sentence
   has no cue ("“…,” Pezeshkian said. “…”"), or opening the next paragraph when the quote ended
   its paragraph (the press convention for a quote running over paragraphs). Any other uncued
   passage is a scare quote or a title and is skipped, and so is a passage shorter than
   ``quotes.min_chars`` (or of one word) that no cue claims. A mixed region is ``direct`` when
   its quoted words are at least half of its words.
7. **Trailing quotes first**: a quotation that ends in a comma, ? or ! right before a cue's
   subject is that cue's content even when words follow the cue ("“…,” she wrote back to him"),
   unless they are a ``that``/colon complement or hold a quotation. Some verbs are cues only
   there (``TRAILING_VERBS``: exclaimed, shot back, quipped, conceded, …), and an abbreviated
   title keeps a name capitalised ("said Mr. Clyburn, the …").
8. **Colon lead-ins**: a sentence with no cue that is a capitalised lead-in of at most 8 words,
   a colon and a quotation ("Meghan McCain, Twitter: “…”", "Mook agreed: “…”") gives a direct
   quote whose mention is the lead-in up to its first comma, without trailing lower-case words.
9. **Split quotations**: a sentence that is one quotation and nothing else, with no cue, is read
   together with the next sentence of its paragraph when that gives a direct quote holding it
   (“Why was that money sitting in the bank?” ¶ Mr. Clyburn said, echoing …: the segmenter
   ends a sentence at ``?”``).
10. **Cited source**: a news outlet that the sentence credits: the subject of a cue when it is an
   outlet ("Russian state news agency Tass said"), the addressee of told/tells when it is an
   outlet or "journalists" ("told The Telegraph"), the object of according to / Theo ("Theo
   hãng thông tấn TASS"); else the document's agency tag or dateline ("rc/wmr (AFP, AP, dpa)",
   "Washington (AFP) –"). An outlet cue alone in its sentence is itself the quote's speaker
   mention ("Tass said the Kremlin chief had …").
11. **Framing verbs** (``QUOTE_AFTER_VERBS``: called, called for, referred to, described,
   dubbed, boasts, lamented, charged, …) are cues only when a quotation follows them in their
   clause ("The mayor called the plan “a gift to developers”", "referred to him as “…”"); a
   naming verb (called, dubbed, labeled, branded) needs an object first, so "a pattern called
   “late deciding”" names a term. Their content is never before them: it runs from the verb to
   the clause's last quotation and at most three words more, stopping at punctuation.
12. **Vietnamese**: the comma of a trailing quotation follows its closing mark ("“…”, X cho
   biết hôm qua" is X's quotation); a subject drops its times and bracketed acronyms ("Bộ Y tế
   (MOH) ngày 3/5 cho biết"), and a relative clause's subject starts after "mà"; a cue after
   "và" or right after a comma keeps the previous cue's speaker ("Iran cáo buộc … và tuyên bố
   …"); "X cho biết, <clause>" takes the clause; and a report inside another's content is a
   quote of its own while the outer one keeps the whole ("Sputnik cho biết, IDF tuyên bố …",
   "Theo AP, X nói …").
13. **Quote-only paragraphs**: a paragraph opening with a sentence that is only a quotation,
   with no cue and no quote to continue, is a direct quote of the latest quote's speaker
   mention (the press convention that such a paragraph goes on with the last speaker).
"""

from __future__ import annotations

from pipeline.quoting.cues import Cue, assign_regions, find_cues
from pipeline.quoting.document import extract_document, sentence_positions
from pipeline.quoting.frame import quote_rows, quotes_frame
from pipeline.quoting.marks import BLANK, blank_quotes, quote_spans, strip_marks
from pipeline.quoting.outlets import document_source, outlet_of
from pipeline.quoting.sentence import Found, QuoteParams, read_sentence

__all__ = [
    "BLANK",
    "Cue",
    "Found",
    "QuoteParams",
    "assign_regions",
    "blank_quotes",
    "document_source",
    "extract_document",
    "find_cues",
    "outlet_of",
    "quote_rows",
    "quote_spans",
    "quotes_frame",
    "read_sentence",
    "sentence_positions",
    "strip_marks",
]
