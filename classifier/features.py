"""How a message becomes the model's input: scikit-learn's ``HashingVectorizer`` over
character n-grams, then ``TfidfTransformer`` for sublinear term frequencies and unit length.

The hashing vectorizer is stateless (an n-gram's column is its hash), so a model file stores
these settings and no vocabulary. Only the first ``max_chars`` characters of a message are
read: a title and the start of the body decide a priority, and a 1 MB paste then costs what
a tweet does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, NamedTuple

import scipy.sparse as sp  # type: ignore[import-untyped]
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sklearn.feature_extraction import FeatureHasher  # type: ignore[import-untyped]
from sklearn.feature_extraction.text import (  # type: ignore[import-untyped]
    HashingVectorizer,
    TfidfTransformer,
)

from classifier.word_hashing import WordHashing

Analyzer = Literal["char_wb", "char", "word"]
READABLE_WORD = 16  # longer space-free runs are shown as their n-grams
TITLE_CHARS = 200  # at most this much of the first line is read again as the title
PUNCTUATION = ".,;:!?()[]{}<>\"'`“”‘’«»。，、！？：；（）"
MAX_N_FEATURES = 2**20  # a model's coefficients are held dense: 4 levels x 8 bytes x this


class FeatureSettings(BaseModel):
    """Everything needed to rebuild the vectorizer: a model file's ``features`` object.

    The two constant fields name what the settings are for, so that a file written for
    another kind of vectorizer is refused rather than misread.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    vectorizer: Literal["HashingVectorizer"] = "HashingVectorizer"
    weighting: Literal["TfidfTransformer(sublinear_tf, l2)"] = "TfidfTransformer(sublinear_tf, l2)"
    analyzer: Analyzer = "char_wb"
    # 2- and 3-grams: as good as 2-5 cross-validated, better on P0 in other languages, and
    # half the time (see classifier/README.md).
    ngram_range: tuple[int, int] = (2, 3)
    n_features: int = Field(default=2**18, ge=2, le=MAX_N_FEATURES)
    max_chars: int = Field(default=2_000, ge=1, le=1_000_000)
    # How many times the first line (the title of an issue or an e-mail's subject, up to
    # TITLE_CHARS characters) is read: 2 counts it twice, which the priority mostly hangs
    # on (cross-validated: P0 AUC 0.855 -> 0.863, exact 0.554 -> 0.574; classifier/README).
    title_copies: int = Field(default=1, ge=1, le=5)

    @model_validator(mode="after")
    def _ngram_range_in_order(self) -> FeatureSettings:
        low, high = self.ngram_range
        if not 1 <= low <= high <= 10:
            raise ValueError(f"ngram_range {list(self.ngram_range)} is not 1 <= min <= max <= 10")
        return self


class Features:
    """The vectorizer and weighting a model was trained with, rebuilt from its settings."""

    def __init__(self, settings: FeatureSettings) -> None:
        self.settings = settings
        self.vectorizer = HashingVectorizer(
            analyzer=settings.analyzer,
            ngram_range=settings.ngram_range,
            n_features=settings.n_features,
            lowercase=True,
            alternate_sign=False,
            norm=None,
            # Words of one letter count (a CJK character is one); unused by char analyzers.
            token_pattern=r"(?u)\b\w+\b" if settings.analyzer == "word" else None,
        )
        # Without idf the transformer learns nothing: fitting it on an empty row only tells
        # scikit-learn it is ready.
        self.weighting = TfidfTransformer(use_idf=False, sublinear_tf=True, norm="l2")
        self.weighting.fit(sp.csr_matrix((1, settings.n_features)))
        self._analyze = self.vectorizer.build_analyzer()
        self._by_word = WordHashing(self.vectorizer) if settings.analyzer == "char_wb" else None
        self._hasher = FeatureHasher(
            n_features=settings.n_features, input_type="string", alternate_sign=False
        )

    def clip(self, text: str) -> str:
        """The part of ``text`` the model reads: its first ``max_chars`` characters, after
        ``title_copies - 1`` more copies of its first line (at most ``TITLE_CHARS``
        characters) when more lines follow; a lone surrogate (from JSON's "\\ud800") made
        "?", as scikit-learn's hashing encodes UTF-8."""
        clipped = text[: self.settings.max_chars]
        title, newline, _ = clipped.partition("\n")
        if self.settings.title_copies > 1 and newline:  # one line (a tweet): no title
            clipped = (title[:TITLE_CHARS] + "\n") * (self.settings.title_copies - 1) + clipped
        return clipped.encode("utf-8", "replace").decode("utf-8")

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """One row per text: weighted n-gram counts, each row of unit length."""
        clipped = [self.clip(text) for text in texts]
        by_word = self._by_word
        counts = by_word.transform(clipped) if by_word else self.vectorizer.transform(clipped)
        return self.weighting.transform(counts)

    def ngrams(self, text: str) -> list[str]:
        """The n-grams the model sees in ``text``, as many times as they occur."""
        return list(self._analyze(self.clip(text)))

    def pieces(self, text: str) -> list[Piece]:
        """``text`` cut into pieces a person can read, each with the n-grams it gives the
        model; together, every n-gram of ``ngrams(text)`` once.

        With ``char_wb`` a piece is a word (lowercased, surrounding punctuation dropped):
        its n-grams never cross into the next word. A "word" longer than
        ``READABLE_WORD`` characters (a run of Chinese or Japanese, which spaces do not
        split, or a URL) shows its n-grams one by one instead; so do the other analyzers.
        """
        if self.settings.analyzer != "char_wb":
            return [_ngram_piece(ngram) for ngram in self.ngrams(text)]
        found: list[Piece] = []
        for word in self.clip(text).lower().split():
            ngrams = list(self._analyze(word))
            if len(word) <= READABLE_WORD:
                found.append(Piece(word.strip(PUNCTUATION) or word, ngrams, is_word=True))
            else:
                found.extend(_ngram_piece(ngram) for ngram in ngrams)
        return found

    def columns(self, ngrams: Sequence[str]) -> list[int]:
        """Each n-gram's column, hashed exactly as the vectorizer hashes it."""
        if not ngrams:
            return []
        hashed = self._hasher.transform([[ngram] for ngram in ngrams]).tocsr()
        return [int(column) for column in hashed.indices]


class Piece(NamedTuple):
    """A readable piece of a text and the n-grams it gives the model."""

    shown: str
    ngrams: list[str]
    is_word: bool


def _ngram_piece(ngram: str) -> Piece:
    """An n-gram shown as itself, without the spaces that pad words in ``char_wb``."""
    return Piece(ngram.strip() or ngram, [ngram], is_word=False)
