"""Training: deterministic, refuses rows it cannot learn from, and the shipped model is what
training on the repository's corpora gives (so it cannot drift from them unnoticed)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from classifier.model_file import RulebookVocabulary, load_model, shipped_model_path
from classifier.train import TrainingError, train
from hark.corpus import LabelledMessage, read_corpus
from hark.rulebook_files import read_rulebook, shipped_rulebook_path
from rules.schema import LEVELS

ROOT = Path(__file__).resolve().parents[2]
CORPORA = ROOT / "tests" / "data" / "corpus"
# What the shipped model is trained on: every labelled corpus in the repository (the blind
# set of the day is gathered outside it and measured once; classifier/README.md).
SHIPPED_TRAINING = [
    "caro-support.jsonl",
    "real-dev.jsonl",
    "real-heldout.jsonl",
    "real-heldout-2.jsonl",
    "real-heldout-3.jsonl",
    "real-heldout-4.jsonl",
    "real-heldout-5.jsonl",
    "real-train-6.jsonl",
]
# Texts no corpus holds, to compare predictions beyond the training rows too.
UNSEEN = [
    "caro ran rm -rf on my project folder without asking, everything is gone",
    "Installation via Homebrew fails on macOS 15 with a 404 for the bottle",
    "How do I change the default model? Love the tool btw",
    "fish: the completion script prints an error on startup",
    "安装后一启动就闪退，什么命令都用不了",
]
VOCABULARY = RulebookVocabulary(tuple(LEVELS), ("safety", "other"))


def _row(text: str, priority: str) -> LabelledMessage:
    return LabelledMessage(id=text, text=text, priority=priority, channel=None, category=None)


def test_a_level_without_examples_is_refused():
    rows = [_row("crash", "P0"), _row("broken install", "P1"), _row("typo", "P2")]
    with pytest.raises(TrainingError, match="no training example of P3"):
        train(rows, vocabulary=VOCABULARY)


def test_a_priority_the_rulebook_lacks_is_refused():
    rows = [_row(text, level) for text, level in zip("abcd", LEVELS, strict=True)]
    with pytest.raises(TrainingError, match="priorities not in the rulebook: P9"):
        train([*rows, _row("e", "P9")], vocabulary=VOCABULARY)


def test_the_shipped_model_is_what_the_repository_corpora_train():
    """Retrain exactly as classifier/README.md says: the same corpora (by content hash) and
    the same predictions. If a corpus changed, retrain the shipped model with that command."""
    engine = read_rulebook(shipped_rulebook_path())
    categories = tuple(engine.rulebook.categories)
    shipped = load_model(shipped_model_path(), levels=LEVELS, categories=categories)
    paths = [CORPORA / name for name in SHIPPED_TRAINING]
    assert [(c.name, c.sha256) for c in shipped.training.corpora] == [
        (path.name, hashlib.sha256(path.read_bytes()).hexdigest()) for path in paths
    ]
    rows = [row for path in paths for row in read_corpus(path)]
    retrained = train(
        rows,
        vocabulary=RulebookVocabulary(tuple(LEVELS), categories),
        corpora=shipped.training.corpora,
    )
    texts = [row.text for row in rows] + UNSEEN
    expected = shipped.probabilities_batch(texts)
    for got, want in zip(retrained.probabilities_batch(texts), expected, strict=True):
        assert max(got, key=got.__getitem__) == max(want, key=want.__getitem__)
        assert got == pytest.approx(want, abs=1e-6)
