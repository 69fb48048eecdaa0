"""Table schemas of the outputs contract (documented in the README).

Stages pass pandas DataFrames to each other; these Arrow schemas fix column order and types when
tables are written, so that two runs produce byte-identical Parquet files.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
import pandas as pd
import pyarrow as pa

DOCUMENTS = pa.schema(
    [
        ("doc_id", pa.string()),
        ("path", pa.string()),
        ("sha256", pa.string()),
        ("lang", pa.string()),
        ("lang_score", pa.float64()),
        ("outlet", pa.string()),
        ("date", pa.string()),
        ("title", pa.string()),
        ("text_clean", pa.string()),
    ]
)

SENTENCES = pa.schema(
    [
        ("doc_id", pa.string()),
        ("sent_id", pa.string()),
        ("idx", pa.int32()),
        ("char_start", pa.int64()),
        ("char_end", pa.int64()),
        ("clean_start", pa.int64()),
        ("clean_end", pa.int64()),
        ("text", pa.string()),
        ("lang", pa.string()),
        ("lang_score", pa.float64()),
        ("text_en", pa.string()),
        ("translation_model", pa.string()),
    ]
)

ALIGNMENTS = pa.schema(
    [
        ("doc_a", pa.string()),
        ("sent_ids_a", pa.list_(pa.string())),
        ("text_a", pa.string()),
        ("doc_b", pa.string()),
        ("sent_ids_b", pa.list_(pa.string())),
        ("text_b", pa.string()),
        ("score", pa.float64()),
        ("margin", pa.float64()),
        ("kind", pa.string()),
    ]
)

QUOTES = pa.schema(
    [
        ("quote_id", pa.string()),
        ("doc_id", pa.string()),
        ("sent_ids", pa.list_(pa.string())),
        ("char_start", pa.int64()),
        ("char_end", pa.int64()),
        ("text", pa.string()),
        ("lang", pa.string()),
        ("direct", pa.bool_()),
        ("cue", pa.string()),
        ("speaker_mention", pa.string()),
        ("speaker", pa.string()),
        ("cited_source", pa.string()),
    ]
)

CLUSTERS = pa.schema(
    [
        ("cluster_id", pa.string()),
        ("speaker", pa.string()),
        ("speaker_lang", pa.string()),
        ("quote_ids", pa.list_(pa.string())),
        ("docs", pa.list_(pa.string())),
        ("langs", pa.list_(pa.string())),
        ("origin_in_corpus", pa.bool_()),
        ("origin_doc", pa.string()),
        ("cited_sources", pa.list_(pa.string())),
        ("drift", pa.float64()),
    ]
)

DOCUMENT_PAIRS = pa.schema(
    [
        ("doc_a", pa.string()),
        ("doc_b", pa.string()),
        ("mode", pa.string()),
        ("links", pa.int64()),
        ("anchors_a", pa.list_(pa.int64())),
        ("anchors_b", pa.list_(pa.int64())),
        ("matched_a", pa.list_(pa.bool_())),
        ("matched_b", pa.list_(pa.bool_())),
    ]
)

# ------------------------------------------------------------ tables between stages

#: ``documents`` as ingest writes it: one row per input document, with its raw text.
INGESTED_DOCUMENTS = pa.schema([
    ("doc_id", pa.string()), ("path", pa.string()), ("sha256", pa.string()),
    ("raw_text", pa.string()), ("outlet", pa.string()), ("date", pa.string()),
    ("url", pa.string()), ("title", pa.string()),
])
#: ... as clean writes it: the cleaned text and the map between clean and raw offsets.
CLEANED_DOCUMENTS = pa.schema([
    *INGESTED_DOCUMENTS, ("text_clean", pa.string()),
    ("offsets_clean", pa.list_(pa.int64())), ("offsets_raw", pa.list_(pa.int64())),
])
#: ... as detect writes it: with the document's language.
DETECTED_DOCUMENTS = pa.schema([*CLEANED_DOCUMENTS, ("lang", pa.string()),
                                ("lang_score", pa.float64())])
#: ``sentences`` as segment writes it.
SEGMENTS = pa.schema([field for field in SENTENCES
                      if field.name in {"doc_id", "sent_id", "idx", "char_start", "char_end",
                                        "clean_start", "clean_end", "text"}])
#: ... as detect writes it: with each sentence's language.
DETECTED_SENTENCES = pa.schema([*SEGMENTS, ("lang", pa.string()), ("lang_score", pa.float64())])
EMBEDDINGS = pa.schema([("sent_id", pa.string()), ("embedding", pa.list_(pa.float32()))])
#: The corpus-wide TF-IDF vocabulary (:mod:`pipeline.lexical`).
LEXICON = pa.schema([("token", pa.string()), ("idf", pa.float64())])


def contract(**schemas: pa.Schema) -> Mapping[str, pa.Schema]:
    """A stage's declared tables (name → schema), read-only: ``reads = contract(quotes=QUOTES)``."""
    return MappingProxyType(schemas)


class ContractError(ValueError):
    """A table does not have the columns (or types) its stage contract declares."""


def check_contract(table: pd.DataFrame, schema: pa.Schema, what: str,
                   sample_rows: int = 1000) -> None:
    """Raise :class:`ContractError` naming ``what`` and the column when ``table`` lacks a
    column of ``schema`` or holds values that do not convert to its type.

    Types are checked on the first ``sample_rows`` rows (a full conversion of every table at
    every stage boundary would cost as much as writing it); the final tables are written with
    their schema, which converts every row.
    """
    missing = [field.name for field in schema if field.name not in table.columns]
    if missing:
        raise ContractError(f"{what}: no column {', '.join(repr(m) for m in missing)} "
                            f"(has {', '.join(map(str, table.columns))})")
    sample = table.head(sample_rows)
    for field in schema:
        try:
            pa.array(sample[field.name].tolist(), type=field.type, from_pandas=True)
        except (pa.ArrowException, TypeError, ValueError) as error:
            raise ContractError(f"{what}: column {field.name!r} is not {field.type} "
                                f"({str(error)[:120]})") from None


#: Which final output file each contract table goes to.
OUTPUT_TABLES = {
    "documents": ("documents.parquet", DOCUMENTS),
    "sentences": ("sentences.parquet", SENTENCES),
    "document_pairs": ("document_pairs.parquet", DOCUMENT_PAIRS),
    "alignments": ("alignments.parquet", ALIGNMENTS),
    "quotes": ("quotes.parquet", QUOTES),
    "clusters": ("clusters.parquet", CLUSTERS),
}


def sentence_id(doc_id: str, idx: int) -> str:
    """Stable sentence id: document id plus a zero-padded position."""
    return f"{doc_id}:{idx:04d}"


def grouped_sentences(sentences: pd.DataFrame) -> tuple[pd.DataFrame, list[str], np.ndarray]:
    """Sentences grouped by document (document-id order), in their order within it; the
    document ids; and each sentence's document index."""
    sentences = sentences.reset_index(drop=True)
    doc_ids = sorted(set(sentences["doc_id"]))
    index = {doc: n for n, doc in enumerate(doc_ids)}
    order = np.lexsort((np.arange(len(sentences)), sentences["doc_id"].map(index)))
    sentences = sentences.iloc[order].reset_index(drop=True)
    return sentences, doc_ids, sentences["doc_id"].map(index).to_numpy(dtype=np.int64)


def matching_texts(sentences: pd.DataFrame) -> list[str]:
    """What lexical similarity reads: ``text_en`` where a translation exists, else the text."""
    return [en or text for en, text in
            zip(sentences["text_en"].fillna(""), sentences["text"], strict=True)]


def embedding_matrix(embeddings: pd.DataFrame, sent_ids: pd.Series) -> np.ndarray:
    """float32 rows of the ``embeddings`` table in the order of ``sent_ids``."""
    if not len(sent_ids):
        return np.zeros((0, 1), dtype=np.float32)
    stored = embeddings.set_index("sent_id")["embedding"]
    return np.stack(stored.loc[sent_ids].to_numpy()).astype(np.float32)
