"""Table schemas of the outputs contract (documented in the README).

Stages pass pandas DataFrames to each other; these Arrow schemas fix column order and types when
tables are written, so that two runs produce byte-identical Parquet files.
"""

from __future__ import annotations

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

#: Which final output file each contract table goes to.
OUTPUT_TABLES = {
    "documents": ("documents.parquet", DOCUMENTS),
    "sentences": ("sentences.parquet", SENTENCES),
    "alignments": ("alignments.parquet", ALIGNMENTS),
    "quotes": ("quotes.parquet", QUOTES),
    "clusters": ("clusters.parquet", CLUSTERS),
}


def sentence_id(doc_id: str, idx: int) -> str:
    """Stable sentence id: document id plus a zero-padded position."""
    return f"{doc_id}:{idx:04d}"
