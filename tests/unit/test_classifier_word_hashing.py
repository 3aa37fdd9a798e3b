"""Hashing word by word gives exactly scikit-learn's ``HashingVectorizer`` counts: on every
labelled corpus, on text shapes that split or lowercase in surprising ways, and after the
kept words were forgotten."""

from __future__ import annotations

import json

import pytest
from sklearn.feature_extraction.text import HashingVectorizer  # type: ignore[import-untyped]

from classifier.features import Features, FeatureSettings
from classifier.word_hashing import WordHashing
from tests.conftest import DATA

ODD_TEXTS = [
    "",
    "   \n\t ",
    "ΣΑΣ ΟΔΟΣ",  # a final sigma lowercases by its place in the word
    "İstanbul",  # lowercases to two code points
    "a\u00a0b\u2003c\u3000d",  # spaces that are not ASCII
    "tab\there\nnew line\r\n",
    "😀 🙏 ✅",
    "ß ﬁ ﬀ",
    "caro 启动就闪退 error: 段错误",
    "A" * 5000,
    "x?y",
]


def _vectorizer(n_features: int = 2**18) -> HashingVectorizer:
    return HashingVectorizer(
        analyzer="char_wb",
        ngram_range=(2, 3),
        n_features=n_features,
        lowercase=True,
        alternate_sign=False,
        norm=None,
    )


def _same(vectorizer: HashingVectorizer, by_word: WordHashing, texts: list[str]) -> bool:
    expected, got = vectorizer.transform(texts), by_word.transform(texts)
    return expected.shape == got.shape and (expected != got).nnz == 0


def _corpus_texts() -> list[str]:
    texts = []
    for path in sorted((DATA / "corpus").glob("*.jsonl")):
        texts += [json.loads(line)["text"] for line in path.read_text("utf-8").splitlines()]
    return texts


def test_every_corpus_gives_the_vectorizers_counts():
    texts = _corpus_texts()
    assert len(texts) > 1000
    vectorizer = _vectorizer()
    by_word = WordHashing(vectorizer)
    assert _same(vectorizer, by_word, texts)
    assert _same(vectorizer, by_word, texts[::-1])  # the second time, from kept words


@pytest.mark.parametrize("text", ODD_TEXTS)
def test_odd_texts_give_the_vectorizers_counts(text):
    vectorizer = _vectorizer()
    assert _same(vectorizer, WordHashing(vectorizer), [text, text + " " + text])


def test_forgetting_the_kept_words_changes_nothing():
    vectorizer = _vectorizer(n_features=2**10)  # collisions too
    by_word = WordHashing(vectorizer, max_words=50)
    texts = _corpus_texts()[:300]
    for text in texts:  # one at a time, as a worker asks: the memory holds at most 50 more
        assert _same(vectorizer, by_word, [text])
        assert len(by_word._columns) <= 50 + len(set(text.lower().split()))


def test_the_models_features_use_it_for_char_wb_only():
    assert Features(FeatureSettings())._by_word is not None
    assert Features(FeatureSettings(analyzer="char"))._by_word is None
    with pytest.raises(ValueError, match="char_wb"):
        WordHashing(HashingVectorizer(analyzer="word"))
