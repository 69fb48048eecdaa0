"""A model-free, deterministic embedder: signed feature hashing of words and character n-grams.

For measuring the pipeline itself (executors, caching, candidate search) on corpora far larger
than a CPU can embed with a neural model in a benchmark's time — not for alignment quality. The
same text gives the same vector on every machine: scikit-learn's ``HashingVectorizer`` uses a
fixed MurmurHash3 seed and needs no fitting.

A text's vector is the sum of two hashed bags: word unigrams and bigrams, and character 3–5-grams
inside word boundaries (which survive inflection and transliteration), each with sublinear
(``log1p``) counts, then L2-normalised.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

VERSION = 1


def identity(dim: int) -> str:
    """What the vectors depend on (the cache key), known without building the vectorisers."""
    return f"hashing-v{VERSION}:{dim}"


class HashingEncoder:
    """Encodes texts like ``SentenceTransformer.encode`` does, without a model."""

    #: Accepted for config compatibility (``embed.prompt_name``); they change nothing.
    prompts: ClassVar[dict[str, str]] = {"query": "", "passage": ""}

    def __init__(self, dim: int = 1024) -> None:
        from sklearn.feature_extraction.text import HashingVectorizer

        self.dim = dim
        common = {"n_features": dim, "alternate_sign": True, "norm": None, "lowercase": True,
                  "dtype": np.float32}
        self.words = HashingVectorizer(analyzer="word", ngram_range=(1, 2), **common)
        self.chars = HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), **common)

    @property
    def identity(self) -> str:
        return identity(self.dim)

    def encode(self, texts: list[str], prompt_name: str | None = None, batch_size: int = 32,
               normalize_embeddings: bool = True, convert_to_numpy: bool = True,
               show_progress_bar: bool = False) -> np.ndarray:
        del prompt_name, batch_size, convert_to_numpy, show_progress_bar  # API compatibility
        bags = [self.words.transform(texts), self.chars.transform(texts)]
        total = None
        for bag in bags:
            bag.data = np.sign(bag.data) * np.log1p(np.abs(bag.data))
            total = bag if total is None else total + bag
        dense = np.asarray(total.todense(), dtype=np.float32)
        if normalize_embeddings:
            norms = np.linalg.norm(dense, axis=1, keepdims=True)
            dense /= np.where(norms > 0, norms, 1.0)
        return dense
