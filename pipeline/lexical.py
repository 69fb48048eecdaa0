"""TF-IDF rows of sentences against one corpus-wide lexicon, so that any subset of the corpus
(a shard of document pairs) gets exactly the rows the whole corpus would.

Weights follow scikit-learn's ``TfidfVectorizer(sublinear_tf=True)``: ``(1 + ln tf) · idf``
with the smoothed ``idf = ln((1 + n) / (1 + df)) + 1``, rows L2-normalised; tokens are
:func:`pipeline.text.word_tokens`. The lexicon travels as a two-column table (token, idf).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
from scipy import sparse

from pipeline.text import word_tokens


def fit_lexicon(texts: list[str]) -> pd.DataFrame:
    """``token, idf`` of every token of ``texts``, tokens sorted."""
    frequency: Counter[str] = Counter()
    for text in texts:
        frequency.update(set(word_tokens(text)))
    tokens = sorted(frequency)
    df = np.array([frequency[t] for t in tokens], dtype=np.float64)
    idf = np.log((1.0 + len(texts)) / (1.0 + df)) + 1.0
    return pd.DataFrame({"token": pd.Series(tokens, dtype=object), "idf": idf})


def tfidf_rows(texts: list[str], lexicon: pd.DataFrame) -> sparse.csr_matrix:
    """L2-normalised float32 TF-IDF rows of ``texts`` (tokens outside the lexicon ignored)."""
    column = {token: n for n, token in enumerate(lexicon["token"])}
    idf = lexicon["idf"].to_numpy(dtype=np.float64)
    indptr, indices, values = [0], [], []
    for text in texts:
        counts = Counter(t for t in word_tokens(text) if t in column)
        found = sorted((column[t], n) for t, n in counts.items())
        cols = [c for c, _ in found]
        weights = np.array([(1.0 + np.log(n)) * idf[c] for c, n in found], dtype=np.float64)
        norm = float(np.sqrt((weights ** 2).sum())) if len(weights) else 0.0
        indices += cols
        values += (weights / norm).tolist() if norm else []
        indptr.append(len(indices))
    width = max(len(idf), 1)
    return sparse.csr_matrix((np.asarray(values, dtype=np.float32),
                              np.asarray(indices, dtype=np.int64), np.asarray(indptr)),
                             shape=(len(texts), width))
