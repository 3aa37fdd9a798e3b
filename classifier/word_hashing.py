"""A text's ``char_wb`` n-grams hashed word by word, each distinct word hashed once.

With ``char_wb`` an n-gram never crosses a word (scikit-learn pads each word with a space
either side), so a word's hashed columns are the same wherever it occurs. Reusing them gives
exactly the count matrix of the ``HashingVectorizer`` it stands for (the unit test checks
every corpus), at a fraction of the cost: scikit-learn spends its time generating and hashing
each n-gram in Python, and most words of a message have been seen before (``make bench``).
An unseen word is still hashed by scikit-learn's own ``FeatureHasher``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped]
from sklearn.feature_extraction import FeatureHasher  # type: ignore[import-untyped]
from sklearn.feature_extraction.text import HashingVectorizer  # type: ignore[import-untyped]

MAX_WORDS = 200_000  # words kept (about 60 MB at most); past it the memory starts again

_Columns = tuple[np.ndarray, np.ndarray]  # a word's column indices and counts


class WordHashing:
    """``transform`` as ``vectorizer.transform`` (a lowercasing ``char_wb`` one, no norm)."""

    def __init__(self, vectorizer: HashingVectorizer, max_words: int = MAX_WORDS) -> None:
        if vectorizer.analyzer != "char_wb" or not vectorizer.lowercase or vectorizer.norm:
            raise ValueError("word-by-word hashing needs a lowercasing char_wb vectorizer")
        self.n_features = vectorizer.n_features
        self._ngrams = vectorizer.build_analyzer()  # of one word: its padded n-grams
        self._hasher = FeatureHasher(
            n_features=vectorizer.n_features,
            input_type="string",
            alternate_sign=vectorizer.alternate_sign,
        )
        self._columns: dict[str, _Columns] = {}
        self._max_words = max_words

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """One row of n-gram counts per text."""
        words_of = [text.lower().split() for text in texts]  # as scikit-learn reads them
        known = self._known({word for words in words_of for word in words})
        indices: list[np.ndarray] = []
        counts: list[np.ndarray] = []
        row_ends, end = [0], 0
        for words in words_of:
            for word in words:
                columns, values = known[word]
                indices.append(columns)
                counts.append(values)
                end += len(columns)
            row_ends.append(end)
        matrix = sp.csr_matrix(
            (
                np.concatenate(counts) if counts else np.zeros(0),
                np.concatenate(indices) if indices else np.zeros(0, dtype=np.int32),
                np.array(row_ends),
            ),
            shape=(len(texts), self.n_features),
        )
        matrix.sum_duplicates()
        return matrix

    def _known(self, words: set[str]) -> dict[str, _Columns]:
        """The columns of each of ``words``, hashing (and keeping) the ones not seen yet."""
        found = {word: self._columns.get(word) for word in words}
        unseen = [word for word, columns in found.items() if columns is None]
        if unseen:
            if len(self._columns) + len(unseen) > self._max_words:
                self._columns = {}
            hashed = self._hasher.transform(self._ngrams(word) for word in unseen).tocsr()
            for row, word in enumerate(unseen):
                start, end = hashed.indptr[row], hashed.indptr[row + 1]
                columns = (hashed.indices[start:end].copy(), hashed.data[start:end].copy())
                self._columns[word] = found[word] = columns
        return found  # type: ignore[return-value]  # every word now has its columns
