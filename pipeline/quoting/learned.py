"""A learned quote tagger: a linear-chain CRF (python-crfsuite) that labels each token of a
paragraph as Content, Cue or Source of an attribution, stacked on the rules.

The whole algorithm in one file:

1. **Chunks.** A document's sentences are grouped by paragraph into chunks of at most
   :data:`MAX_TOKENS` tokens (a longer sentence is cut into windows), the unit the CRF reads.
2. **Features** (:func:`chunk_features`) of each token: the word, its suffix and shape, the words
   around it, whether it is a quotation mark or inside a quoted passage (:func:`quote_spans`),
   reporting words near it (the cue lexicon's and those learned from the training cues,
   :func:`learn_cue_words`: distance buckets to the left and right, the nearest one, whether a
   "that", a comma or a quotation lies between), its place in the sentence, and what the rules
   said: inside a rule quote (direct or indirect), its first or last token. So the CRF learns
   where the rules are right and what they miss (indirect speech after "told … that",
   "tweeted", mixed quotes) from real annotations.
3. **Tags**: ``B-``/``I-`` of ``C`` (content), ``Q`` (cue), ``S`` (source), or ``O``. Training
   tags come from brat spans (:func:`gold_tags`); a content's tokens inside an inner attribution
   stay content.
4. **Decoding** (:func:`decode`): a ``B-C`` opens a content, ``I-C`` tokens extend the open one
   (through an interrupting "he said"); each content takes the chunk's cue nearest to it and
   the source nearest that cue. A content is direct when quoted words are at least half of its
   words, as the rules decide it.
5. **Merging with the rules** (:func:`extract_learned`): a content overlapping a rule quote
   takes its cue and cited source (and its mention when the CRF tagged no source); one with no
   mention at all goes on the speaker of the quote just before it; a span that opens with its
   own source keeps only its quotation.

The model is trained from PolNeAR (``eval/train_quote_model.py``); the quotes stage uses it for
English sentences when its file is present and falls back to the rules (saying so once)
otherwise. Vietnamese keeps the rules.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import ModelUnavailableError
from pipeline.quoting.document import paragraph_numbers, sentence_positions
from pipeline.quoting.lexicon import QUOTE_AFTER_VERBS, SPEECH_VERBS, TRAILING_VERBS
from pipeline.quoting.marks import quote_spans, strip_marks
from pipeline.quoting.sentence import Found

#: The model shipped with the package (rebuilt by ``eval/train_quote_model.py``).
DEFAULT_MODEL = Path(__file__).with_name("models") / "polnear-crf.crfsuite"
#: The most tokens the CRF reads at once: a paragraph's sentences are packed up to it.
MAX_TOKENS = 320
#: Documents longer than this are read by the rules alone (the CRF's cost is per token).
MAX_DOCUMENT_CHARS = 2_000_000
TOKEN = re.compile(r"''|``|\w+(?:[’'\-.]\w+)*|[^\w\s]")
TOKEN_WORD = re.compile(r"\w+")
QUOTE_TOKENS = {"“": "open", "”": "close", "«": "open", "»": "close", "„": "open",
                '"': "straight", "''": "straight", "``": "open"}
CUE_WORDS = frozenset(
    word for phrase in (*SPEECH_VERBS, *TRAILING_VERBS, *QUOTE_AFTER_VERBS)
    for word in phrase.split()[:1]) | {"according", "asserted", "contended", "maintained",
                                       "testified", "reiterated", "alleged", "estimated"}


@dataclass
class Chunk:
    """Tokens of consecutive sentences of one paragraph, in document (clean-text) offsets."""

    start: int
    end: int
    tokens: list[tuple[int, int]]
    sentence_of: list[int]  # each token's sentence index in the document


@dataclass
class Tagged:
    """A decoded attribution: document offsets of its content, cue and source (if any)."""

    start: int
    end: int
    cue: tuple[int, int] | None
    source: tuple[int, int] | None
    sentences: list[int]


def chunks(text: str, positions: Sequence[int], sentences: Sequence[str],
           paragraph_of: Sequence[int], keep: Sequence[bool]) -> Iterator[Chunk]:
    """Chunks of the kept sentences, never across a paragraph nor a dropped sentence."""
    current: Chunk | None = None
    last = -2
    for k, (base, sentence) in enumerate(zip(positions, sentences, strict=True)):
        if not keep[k]:
            continue
        tokens = [(base + m.start(), base + m.end()) for m in TOKEN.finditer(sentence)]
        for window in range(0, max(len(tokens), 1), MAX_TOKENS):
            part = tokens[window:window + MAX_TOKENS]
            if not part:
                continue
            joins = (current is not None and last == k - 1 and window == 0
                     and paragraph_of[k] == paragraph_of[last]
                     and len(current.tokens) + len(part) <= MAX_TOKENS)
            if joins:
                current.tokens += part
                current.sentence_of += [k] * len(part)
                current.end = part[-1][1]
            else:
                if current is not None:
                    yield current
                current = Chunk(part[0][0], part[-1][1], list(part), [k] * len(part))
        last = k
    if current is not None:
        yield current


class RuleSpans:
    """The rules' quotes of a document, sorted, for finding those that reach into a span
    without visiting them all (a long document has thousands): their ``(start, end, direct)``
    for the features of a chunk, the quotes themselves for a learned quote's rule."""

    def __init__(self, rules: Sequence[Found]) -> None:
        self.quotes = sorted(rules, key=lambda q: (q.start, q.end, q.direct))
        self.spans = [(q.start, q.end, q.direct) for q in self.quotes]
        self.starts = [q.start for q in self.quotes]
        self.reach: list[int] = []  # the largest end among the quotes up to each one
        for quote in self.quotes:
            self.reach.append(max(quote.end, self.reach[-1]) if self.reach else quote.end)

    def _reaching(self, start: int, end: int) -> slice:
        """The quotes that start before ``end`` and may end after ``start``."""
        return slice(bisect.bisect_right(self.reach, start), bisect.bisect_left(self.starts, end))

    def around(self, start: int, end: int) -> list[tuple[int, int, bool]]:
        """``(start, end, direct)`` of the quotes that may reach into ``[start, end)``."""
        return self.spans[self._reaching(start, end)]

    def overlapping(self, start: int, end: int) -> Found | None:
        """The quote overlapping ``[start, end)`` most, if it covers half of the shorter
        span."""
        best = max(self.quotes[self._reaching(start, end)],
                   key=lambda q: _overlap((q.start, q.end), (start, end)), default=None)
        return best if best is not None and _overlap((best.start, best.end),
                                                     (start, end)) >= 0.5 else None


@functools.lru_cache(maxsize=65_536)
def _shape(word: str) -> str:
    shape = re.sub(r"[A-ZÀ-Ỹ]", "X", word)
    shape = re.sub(r"[a-zà-ỹ]", "x", shape)
    shape = re.sub(r"\d", "d", shape)
    return re.sub(r"(.)\1+", r"\1\1", shape)[:6]


def _bucket(distance: int | None) -> str:
    if distance is None:
        return "none"
    for limit in (1, 2, 3, 5, 8, 13, 21):
        if distance <= limit:
            return str(limit)
    return "far"


def chunk_features(text: str, chunk: Chunk, rule_quotes: Sequence[tuple[int, int, bool]],
                   cue_words: frozenset[str] = CUE_WORDS) -> list[list[str]]:
    """Feature strings of each token of ``chunk``; ``rule_quotes`` are the rules' (start, end,
    direct) in document offsets, sorted by start; ``cue_words`` the words that count as
    reporting words for the distance features (the lexicon's, or those learned with the
    model: :func:`learn_cue_words`)."""
    words = [text[a:b] for a, b in chunk.tokens]
    lower = [w.casefold() for w in words]
    passages = quote_spans(text[chunk.start:chunk.end])
    inside = [False] * len(words)
    for p_start, p_end, _ in passages:
        a = bisect.bisect_left(chunk.tokens, (chunk.start + p_start, -1))
        b = bisect.bisect_left(chunk.tokens, (chunk.start + p_end, -1))
        for i in range(a, b):
            inside[i] = True
    cue_at = [i for i, w in enumerate(lower) if w in cue_words and not inside[i]]
    rule_of: list[str] = ["none"] * len(words)
    rule_edge: list[str] = [""] * len(words)
    for q_start, q_end, direct in rule_quotes:
        a = bisect.bisect_left(chunk.tokens, (q_start, -1))
        b = bisect.bisect_left(chunk.tokens, (q_end, -1))
        if a >= b:
            continue
        for i in range(a, b):
            rule_of[i] = "direct" if direct else "indirect"
        rule_edge[a] += "first"
        rule_edge[b - 1] += "last"
    features: list[list[str]] = []
    n = len(words)
    sentence_start: dict[int, int] = {}
    for i, sentence in enumerate(chunk.sentence_of):
        sentence_start.setdefault(sentence, i)
    for i, word in enumerate(words):
        sentence = chunk.sentence_of[i]
        left_at = next((j for j in reversed(cue_at) if j < i
                        and chunk.sentence_of[j] == sentence), None)
        right_at = next((j for j in cue_at if j > i and chunk.sentence_of[j] == sentence), None)
        first = i == 0 or chunk.sentence_of[i - 1] != sentence
        last = i == n - 1 or chunk.sentence_of[i + 1] != sentence
        since = i - sentence_start[sentence]
        item = [
            "bias", f"w={lower[i]}", f"suf={lower[i][-3:]}", f"shape={_shape(word)}",
            f"q={QUOTE_TOKENS.get(word, '-')}", f"in={inside[i]}",
            f"cueL={_bucket(None if left_at is None else i - left_at)}",
            f"cueR={_bucket(None if right_at is None else right_at - i)}",
            f"cue={lower[i] in cue_words}",
            f"rule={rule_of[i]}", f"edge={rule_edge[i]}", f"first={first}", f"last={last}",
            f"title={word[:1].isupper()}", f"pos={_bucket(since)}",
        ]
        if left_at is not None:
            between = lower[left_at + 1:i]
            item += [f"cueLw={lower[left_at]}", f"thatL={'that' in between}",
                     f"commaL={',' in between}", f"quoteL={any(inside[left_at + 1:i])}"]
        if right_at is not None:
            item += [f"cueRw={lower[right_at]}", f"commaR={',' in lower[i + 1:right_at]}"]
        for offset in (-2, -1, 1, 2):
            j = i + offset
            if 0 <= j < n:
                item.append(f"w{offset:+d}={lower[j]}")
                item.append(f"in{offset:+d}={inside[j]}")
                item.append(f"rule{offset:+d}={rule_of[j]}")
            else:
                item.append(f"w{offset:+d}=<edge>")
        if i > 0:
            item.append(f"w-1|w={lower[i - 1]}|{lower[i]}")
        if i + 1 < n:
            item.append(f"w|w+1={lower[i]}|{lower[i + 1]}")
        features.append(item)
    return features


def gold_tags(chunk: Chunk, spans: Sequence[tuple[str, list[tuple[int, int]]]],
              to_raw: callable) -> list[str]:
    """Training tags of a chunk's tokens from brat spans ``(label, pieces)`` in raw offsets;
    ``to_raw`` maps a document token span to the raw file's. Content wins over cue and source
    (an inner attribution inside a quotation stays content), and each span's first token is
    its ``B-``."""
    priority = {"Content": 0, "Cue": 1, "Source": 2}
    letter = {"Content": "C", "Cue": "Q", "Source": "S"}
    ordered = sorted((s for s in spans if s[0] in priority),
                     key=lambda s: (priority[s[0]], s[1][0][0]))
    tags = ["O"] * len(chunk.tokens)
    owner = [-1] * len(chunk.tokens)
    raw_tokens = [to_raw(a, b) for a, b in chunk.tokens]
    for number, (label, pieces) in enumerate(ordered):
        for i, (a, b) in enumerate(raw_tokens):
            if owner[i] >= 0 or not any(s <= a and b <= e for s, e in pieces):
                continue
            owner[i] = number
            tags[i] = "I-" + letter[label]
    seen: set[int] = set()
    for i, number in enumerate(owner):
        if number >= 0 and number not in seen:
            seen.add(number)
            tags[i] = "B" + tags[i][1:]
    return tags


def learn_cue_words(sequences: Sequence[tuple[list[str], list[str]]], min_count: int = 5,
                    min_share: float = 0.3) -> frozenset[str]:
    """Words that are part of a gold cue at least ``min_count`` times and in at least
    ``min_share`` of their occurrences (from (words, tags) of the training chunks), with the
    lexicon's: "found", "believes", "tweeted" as the annotators saw them."""
    as_cue: dict[str, int] = {}
    seen: dict[str, int] = {}
    for words, tags in sequences:
        for word, tag in zip(words, tags, strict=True):
            word = word.casefold()
            seen[word] = seen.get(word, 0) + 1
            if tag.endswith("-Q"):
                as_cue[word] = as_cue.get(word, 0) + 1
    learned = {word for word, count in as_cue.items()
               if count >= min_count and count / seen[word] >= min_share and word.isalpha()}
    return CUE_WORDS | learned


def _spans(tags: Sequence[str], letter: str) -> list[tuple[int, int]]:
    """Token ranges [a, b) of the runs of one letter (a B- starts a new run)."""
    runs: list[tuple[int, int]] = []
    start = -1
    for i, tag in enumerate([*tags, "O"]):
        if start >= 0 and (tag != f"I-{letter}"):
            runs.append((start, i))
            start = -1
        if tag == f"B-{letter}" or (tag == f"I-{letter}" and start < 0):
            start = i
    return runs


def decode(chunk: Chunk, tags: Sequence[str]) -> list[Tagged]:
    """Attributions of one tagged chunk (see the module doc, step 4)."""
    contents: list[list[tuple[int, int]]] = []
    for a, b in _spans(tags, "C"):
        # "“…,” he said, “…”": an I-C run goes on the open content across a source or cue.
        gap = tags[contents[-1][-1][1]:a] if contents else []
        continues = tags[a] == "I-C" and any(t.endswith(("-S", "-Q")) for t in gap)
        if continues:
            contents[-1].append((a, b))
        else:
            contents.append([(a, b)])
    cues, sources = _spans(tags, "Q"), _spans(tags, "S")

    def distance(run: tuple[int, int], pieces: list[tuple[int, int]]) -> int:
        a, b = pieces[0][0], pieces[-1][1]
        return max(a - run[1], run[0] - b, 0)

    found: list[Tagged] = []
    for pieces in contents:
        cue = min(cues, key=lambda run: (distance(run, pieces), run[0]), default=None)
        anchor = [cue] if cue else pieces
        source = min(sources, key=lambda run: (distance(run, anchor), run[0]), default=None)
        a, b = pieces[0][0], pieces[-1][1]
        found.append(Tagged(
            chunk.tokens[a][0], chunk.tokens[b - 1][1],
            (chunk.tokens[cue[0]][0], chunk.tokens[cue[1] - 1][1]) if cue else None,
            (chunk.tokens[source[0]][0], chunk.tokens[source[1] - 1][1]) if source else None,
            sorted(set(chunk.sentence_of[a:b])),
        ))
    return found


def cue_words_path(model: Path) -> Path:
    """The learned cue words stored beside a model (``x.crfsuite`` → ``x.cues.txt``)."""
    return model.with_suffix(".cues.txt")


class QuoteTagger:
    """A trained CRF model file (and its cue words), loaded once; :meth:`tag` labels one
    chunk's features."""

    def __init__(self, path: Path) -> None:
        import pycrfsuite

        self.path = path
        self._tagger = pycrfsuite.Tagger()
        self._tagger.open(str(path))
        words = cue_words_path(path)
        self.cue_words = CUE_WORDS | frozenset(
            words.read_text(encoding="utf-8").split()) if words.is_file() else CUE_WORDS

    def tag(self, features: list[list[str]]) -> list[str]:
        return self._tagger.tag(features) if features else []


def train(sequences: Iterator[tuple[list[list[str]], list[str]]], path: Path,
          c1: float = 0.1, c2: float = 0.01, iterations: int = 150,
          cue_words: frozenset[str] | None = None) -> dict[str, float]:
    """Train a CRF on (features, tags) sequences and write it to ``path``, with the cue words
    its features were computed with beside it (:func:`cue_words_path`)."""
    import pycrfsuite

    trainer = pycrfsuite.Trainer(verbose=False)
    for features, tags in sequences:
        trainer.append(features, tags)
    trainer.set_params({"c1": c1, "c2": c2, "max_iterations": iterations,
                        "feature.possible_transitions": True})
    path.parent.mkdir(parents=True, exist_ok=True)
    trainer.train(str(path))
    if cue_words is not None:
        cue_words_path(path).write_text("\n".join(sorted(cue_words - CUE_WORDS)) + "\n",
                                        encoding="utf-8")
    return trainer.logparser.last_iteration or {}


def _content_text(text: str) -> str:
    """A content's text as the rules write it: one quoted passage loses its marks, and joining
    punctuation around it goes."""
    text = text.strip().strip(",;:—–").strip()
    spans = quote_spans(text)
    if len(spans) == 1 and spans[0][0] == 0 and spans[0][1] >= len(text.rstrip(".,")):
        return strip_marks(text).strip().rstrip(",")
    return text


MENTION_TAIL = re.compile(r"(?:\s+(?:\w+ly|often|further|also|still|later|again|now|then|"
                          r"too|in \d{4}|on \w+day|last \w+))+$")


def _clean_mention(mention: str | None) -> str | None:
    """A source span as a speaker mention: an unclosed parenthesis and the adverbs the CRF
    tagged after the name ("my father often", "Mr. Burman (a view") go. An appositive stays,
    as PolNeAR's sources hold it ("Mark Katz, professor emeritus at …"); attribution reads the
    name in it."""
    if not mention:
        return None
    if mention.count("(") > mention.count(")"):
        mention = mention[:mention.rindex("(")]
    mention = MENTION_TAIL.sub("", mention.strip().strip(",").strip())
    mention = re.sub(r"^(?:which|and|but)\s+", "", mention, flags=re.IGNORECASE)
    return mention or None


def _is_direct(text: str) -> bool:
    """Quoted words are at least half of the words (the rules' test for a mixed region)."""
    words = len(TOKEN_WORD.findall(text))
    quoted = sum(len(TOKEN_WORD.findall(text[a:b])) for a, b, _ in quote_spans(text))
    return bool(words) and quoted * 2 >= words


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> float:
    """Shared characters over the shorter span's length."""
    shared = min(a[1], b[1]) - max(a[0], b[0])
    return shared / max(1, min(a[1] - a[0], b[1] - b[0])) if shared > 0 else 0.0


def _without_source(text_clean: str, quote: Found) -> Found | None:
    """A learned quote whose span opens with its own source mention (of three words or more):
    "the Iranian president reportedly said, “Our positions …”" keeps the quotation; "…, said
    the head of the Kremlin during a meeting …" is the source, not content, and goes."""
    mention = quote.mention
    if not mention or len(mention.split()) < 3 or \
            not quote.text.casefold().startswith(mention.casefold()):
        return quote
    body = text_clean[quote.start:quote.end]
    passages = quote_spans(body)
    if not passages:
        return None
    quote.start += passages[0][0]
    quote.text = _content_text(body[passages[0][0]:])
    quote.direct = _is_direct(body[passages[0][0]:])
    return quote


def extract_learned(text_clean: str, sentences: Sequence[str], english: Sequence[bool],
                    rules: list[Found], tagger: QuoteTagger,
                    default_source: str | None = None) -> list[Found]:
    """A document's quotes with the CRF reading its English sentences.

    ``rules`` are :func:`~pipeline.quoting.document.extract_document`'s quotes of the same
    sentences: they are the CRF's features, they stay as they are where a quote starts in a
    sentence that is not English, and a learned quote that overlaps one takes its cue and cited
    source, and its speaker mention where the CRF tagged no source (on PolNeAR dev the CRF's
    source is the better mention: strict speaker accuracy 0.837 against 0.807). A quote with
    neither goes on the speaker of the quote just before it, within the next paragraph."""
    positions = sentence_positions(text_clean, sentences)
    paragraphs = paragraph_numbers(text_clean, positions)
    rule_spans = RuleSpans(rules)
    kept = [q for q in rules if not english[q.sentences[0]]]
    learned: list[Found] = []
    for chunk in chunks(text_clean, positions, sentences, paragraphs, english):
        tags = tagger.tag(chunk_features(text_clean, chunk, rule_spans.around(
            chunk.start, chunk.end), tagger.cue_words))
        for item in decode(chunk, tags):
            body = text_clean[item.start:item.end]
            if len(TOKEN_WORD.findall(body)) < 2:
                continue
            rule = rule_spans.overlapping(item.start, item.end)
            mention = _clean_mention(
                text_clean[item.source[0]:item.source[1]] if item.source else None) or (
                rule.mention if rule is not None else None)
            cue = rule.cue if rule is not None and rule.cue else (
                text_clean[item.cue[0]:item.cue[1]] if item.cue else None)
            cited = rule.cited if rule is not None else default_source
            learned.append(Found(item.start, item.end, _content_text(body), _is_direct(body),
                                 cue, mention, cited, item.sentences))
    previous: Found | None = None
    for quote in learned:  # a quote with no source goes on the one just before it
        if quote.mention is None and previous is not None and previous.mention and \
                paragraphs[quote.sentences[0]] - paragraphs[previous.sentences[-1]] <= 1:
            quote.mention = previous.mention
        previous = quote
    learned = [q for q in (_without_source(text_clean, q) for q in learned) if q is not None]
    quotes = kept + learned
    quotes.sort(key=lambda q: (q.start, q.end))
    return quotes


#: Loaded taggers by model path, for the life of the process (a shard runs the stage again).
_LOADED: dict[str, QuoteTagger] = {}


def model_path(setting: str) -> Path | None:
    """The model file a ``quotes.model`` setting names: ``rules`` none, ``auto`` the shipped
    one when it is there (and python-crfsuite is installed), else the given path."""
    if setting == "rules":
        return None
    if setting == "auto":
        try:
            import pycrfsuite  # noqa: F401
        except ImportError:
            return None
        return DEFAULT_MODEL if DEFAULT_MODEL.is_file() else None
    return Path(setting).expanduser()


def load_tagger(setting: str) -> QuoteTagger | None:
    """The tagger of a ``quotes.model`` setting, loaded once; ``None`` means the rules alone.

    A named file that is missing or not a CRF model stops the job (exit 4) with the fix."""
    path = model_path(setting)
    if path is None:
        return None
    key = str(path.resolve())
    if key not in _LOADED:
        if not path.is_file():
            raise ModelUnavailableError(
                f"{path}: quote model not found; rebuild it with "
                "'python eval/train_quote_model.py --output PATH', or set quotes.model: auto "
                "(the shipped model) or rules")
        try:
            _LOADED[key] = QuoteTagger(path)
        except (ImportError, OSError, ValueError) as error:
            raise ModelUnavailableError(
                f"{path}: not a quote model python-crfsuite can open ({error}); rebuild it "
                "with 'python eval/train_quote_model.py --output PATH' or set quotes.model: "
                "rules") from None
    return _LOADED[key]
