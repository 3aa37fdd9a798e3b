"""The model file: what a trained model says, and every kind of bad file refused in one line
that names the file and says how to get a good one."""

from __future__ import annotations

import copy
import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from classifier.model_file import (
    ModelFileError,
    RulebookVocabulary,
    TriageModel,
    load_model,
    save_model,
)
from classifier.train import train
from hark.corpus import read_corpus
from rules.schema import LEVELS

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "data" / "corpus" / "caro-support.jsonl"
CATEGORIES = ("command-generation", "safety", "installation", "documentation", "privacy", "other")
VOCABULARY = RulebookVocabulary(tuple(LEVELS), CATEGORIES)


@pytest.fixture(scope="module")
def model() -> TriageModel:
    """A model trained on the project corpus (training data: fine for smoke tests)."""
    return train(list(read_corpus(CORPUS)), vocabulary=VOCABULARY)


@pytest.fixture(scope="module")
def document(model: TriageModel) -> dict[str, Any]:
    return model.to_document()


def _load(path: Path) -> TriageModel:
    return load_model(path, levels=LEVELS, categories=CATEGORIES)


def _corpus_text(line_id: str) -> str:
    return next(row.text for row in read_corpus(CORPUS) if row.id == line_id)


def test_probabilities_cover_every_level_and_sum_to_one(model):
    probabilities = model.probabilities("caro crashes on launch, even caro --version")
    assert list(probabilities) == list(LEVELS)
    assert sum(probabilities.values()) == pytest.approx(1.0)
    assert all(0.0 <= value <= 1.0 for value in probabilities.values())


def test_the_same_text_gets_the_same_probabilities_alone_or_in_a_batch(model):
    texts = ["brew install caro fails on macOS 14", "love this tool", "程序一启动就崩溃了"]
    batch = model.probabilities_batch(texts)
    assert batch == model.probabilities_batch(texts)
    for text, probabilities in zip(texts, batch, strict=True):
        assert model.probabilities(text) == pytest.approx(probabilities)


def test_an_empty_batch_is_an_empty_list(model):
    assert model.probabilities_batch([]) == []


@pytest.mark.parametrize(
    ("p0_line", "praise_line"),
    [
        ("discord-crash-launch-zh-01", "x-explosive-praise-zh-01"),
        ("discord-panic-launch-es-01", "email-praise-es-01"),
    ],
)
def test_a_p0_in_chinese_or_spanish_is_more_likely_p0_than_praise(model, p0_line, praise_line):
    p0_text, praise_text = _corpus_text(p0_line), _corpus_text(praise_line)
    assert model.probabilities(p0_text)["P0"] > model.probabilities(praise_text)["P0"]


def test_reasons_are_ngrams_of_the_text_strongest_first(model):
    text = "Caro generated rm -rf ~ and ran it: my home directory is gone"
    reasons = model.reasons(text, "P0", limit=5)
    assert 0 < len(reasons) <= 5
    for ngram, _ in reasons:
        assert ngram in text.lower()
    strengths = [abs(contribution) for _, contribution in reasons]
    assert strengths == sorted(strengths, reverse=True)


def test_the_words_contributions_add_up_to_the_levels_score(model):
    text = "@CaroCLI since 1.2.0 caro crashes on launch, even caro --version"
    matrix = model.features.transform([text])
    for row, level in enumerate(LEVELS):
        score = model.classifier.decision_function(matrix)[0][row]
        reasons = model.reasons(text, level, limit=1_000)
        assert {word for word, _ in reasons} <= {
            "@carocli",
            "since",
            "1.2.0",
            "caro",
            "crashes",
            "on",
            "launch",
            "even",
            "--version",
        }
        total = sum(contribution for _, contribution in reasons)
        assert total == pytest.approx(score - model.classifier.intercept_[row])


def test_a_chinese_report_is_explained_by_its_ngrams(model):
    """Spaces do not split Chinese: a long run is explained by n-grams of it, each once."""
    text = _corpus_text("x-rm-rf-usr-zh-01")
    reasons = model.reasons(text, "P0", limit=20)
    assert any(len(ngram) <= 3 and ngram in text for ngram, _ in reasons)
    assert len({ngram for ngram, _ in reasons}) == len(reasons)


def test_only_the_first_max_chars_of_a_long_text_are_read(model):
    start = "caro crashes on launch, every command fails. "
    long_text = start * 50 + "thanks, great tool! " * 50_000  # about 1 MB
    clipped = long_text[: model.settings.max_chars]
    assert model.probabilities(long_text) == model.probabilities(clipped)


def test_a_saved_model_loads_with_the_same_answers(model, tmp_path):
    for name in ("model.json.gz", "model.json"):
        path = tmp_path / name
        save_model(model, path)
        loaded = _load(path)
        text = "la instalación falla en Ubuntu"
        assert loaded.probabilities(text) == pytest.approx(model.probabilities(text))
        assert loaded.reasons(text, "P1") == model.reasons(text, "P1")


def test_saving_is_byte_for_byte_repeatable(model, tmp_path):
    save_model(model, tmp_path / "a.json.gz")
    save_model(_retrained(), tmp_path / "b.json.gz")
    assert (tmp_path / "a.json.gz").read_bytes() == (tmp_path / "b.json.gz").read_bytes()


def _retrained() -> TriageModel:
    return train(list(read_corpus(CORPUS)), vocabulary=VOCABULARY)


def _gz(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "model.json.gz"
    path.write_bytes(gzip.compress(json.dumps(document).encode("utf-8")))
    return path


def _changed(document: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> Any:
    changed = copy.deepcopy(document)
    change(changed)
    return changed


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for key in parents:
            document = document[key]
        document[last] = value

    return change


def _shorten_a_row(document: dict[str, Any]) -> None:
    document["classifier"]["coefficients"]["values"][2].pop()


BAD_DOCUMENTS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "not a model": (_set("format", "something-else"), "not a Hark model file"),
    "another format version": (_set("format_version", 2), "format version 2"),
    "a short coefficient row": (_shorten_a_row, "coefficients must be 4 rows"),
    "a missing intercept": (_set("classifier.intercept", [0.1, 0.2, 0.3]), "3 intercepts"),
    "a column past the end": (
        _set("features.n_features", 16),
        "coefficient columns must be in 0..15",
    ),
    "an unknown analyzer": (_set("features.analyzer", "bytes"), "features.analyzer"),
    "a forged fingerprint": (_set("rulebook.fingerprint", "sha256:00"), "fingerprint"),
}


@pytest.mark.parametrize("case", sorted(BAD_DOCUMENTS))
def test_a_damaged_model_file_is_one_line_naming_it(document, tmp_path, case):
    change, expected = BAD_DOCUMENTS[case]
    path = _gz(tmp_path, _changed(document, change))
    _assert_refused(path, expected)


def test_a_model_for_other_categories_is_refused(document, tmp_path):
    other = RulebookVocabulary(tuple(LEVELS), ("crash", "other"))
    changed = _changed(document, _set("rulebook.categories", list(other.categories)))
    changed["rulebook"]["fingerprint"] = other.fingerprint
    _assert_refused(_gz(tmp_path, changed), "trained for another rulebook", rules=True)


def test_a_model_for_other_levels_is_refused(model, tmp_path):
    path = tmp_path / "model.json"
    save_model(model, path)
    with pytest.raises(ModelFileError) as refused:
        load_model(path, levels=("P0", "P1", "P2"), categories=CATEGORIES)
    assert "trained for another rulebook" in str(refused.value)


def test_nan_is_refused(document, tmp_path):
    changed = _changed(document, _set("classifier.intercept", [float("nan"), 0.0, 0.0, 0.0]))
    path = tmp_path / "model.json"
    path.write_text(json.dumps(changed), encoding="utf-8")  # Python writes NaN unquoted
    _assert_refused(path, "NaN is not a number")


def test_a_number_too_large_for_a_float_is_refused(document, tmp_path):
    text = json.dumps(_changed(document, _set("classifier.intercept", [7.5, 0, 0, 0])))
    path = tmp_path / "model.json"
    path.write_text(text.replace("7.5", "1e999", 1), encoding="utf-8")
    _assert_refused(path, "classifier.intercept.0: Input should be a finite number")


def test_a_missing_file_is_refused(tmp_path):
    _assert_refused(tmp_path / "absent.json.gz", "cannot read the model file")


def test_a_directory_is_refused(tmp_path):
    _assert_refused(tmp_path, "cannot read the model file")


def test_text_named_gz_is_refused(tmp_path):
    path = tmp_path / "model.json.gz"
    path.write_text("{}", encoding="utf-8")
    _assert_refused(path, "not a Hark model file (not gzip JSON)")


def test_gzip_of_something_else_is_refused(tmp_path):
    path = tmp_path / "model.json.gz"
    path.write_bytes(gzip.compress(b"\x00\x01 not json"))
    _assert_refused(path, "not a Hark model file (not gzip JSON)")


def test_a_truncated_gzip_file_is_refused(document, tmp_path):
    path = _gz(tmp_path, document)
    path.write_bytes(path.read_bytes()[:200])
    _assert_refused(path, "truncated gzip")


def test_plain_text_is_refused(tmp_path):
    path = tmp_path / "model.json"
    path.write_text("P0: 0.9\n", encoding="utf-8")
    _assert_refused(path, "not a Hark model file (not JSON)")


def test_json_that_is_not_an_object_is_refused(tmp_path):
    path = tmp_path / "model.json"
    path.write_text("[1, 2, 3]", encoding="utf-8")
    _assert_refused(path, "not a Hark model file")


def _assert_refused(path: Path, expected: str, rules: bool = False) -> None:
    with pytest.raises(ModelFileError) as refused:
        _load(path)
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "hark model train CORPUS..." in message
    assert f"--out {path}" in message
    assert ("--rules RULEBOOK" in message) == rules


def test_the_classifier_package_never_uses_pickle():
    """A model file is data: nothing in ``classifier/`` may unpickle (joblib does too)."""
    sources = sorted((ROOT / "classifier").rglob("*.py"))
    assert sources
    for source in sources:
        text = source.read_text(encoding="utf-8").lower()
        assert "pickle" not in text, source
        assert "joblib" not in text, source
