"""The rulebook and its learned second opinion: ``model`` rules, urgency, and the model file
loaded beside the rulebook (a bad file is one line; a running worker keeps the last good)."""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass

import pytest

from classifier.model_file import RulebookVocabulary, save_model
from classifier.train import train
from hark.rulebook_files import RulebookReloader, read_rulebook
from rules import LEVELS, Engine, RulebookError, parse_rulebook
from rules.engine import MissingSecondOpinion
from tests.conftest import RULEBOOK_HEADER

CATEGORIES = ("command-generation", "safety", "installation", "documentation", "privacy", "other")
RULES = """\
model_file: model.json.gz
rules:
  - id: deleted
    description: a destructive command ran
    match: {phrase: ["deleted my home"]}
    priority: P0
    weight: 1.0
  - id: wish
    description: a feature-request phrase, a counter-signal in its clause only
    match: {phrase: ["would be great"]}
    priority: P0
    weight: -0.5
  - id: model-p0
    description: the model thinks P0
    model: {priority: P0, min_probability: 0.5}
    priority: P0
    weight: 0.5
  - id: model-p3
    description: the model thinks P3
    model: {priority: P3, min_probability: 0.5}
    priority: P3
    weight: 1.0
"""


@dataclass(frozen=True)
class Row:
    text: str
    priority: str


TRAINING = [
    Row("it deleted my home directory with rm -rf", "P0"),
    Row("rm -rf wiped my disk, all data gone", "P0"),
    Row("my api key leaked in the logs", "P0"),
    Row("the git commands are all broken", "P1"),
    Row("homebrew install fails on macos", "P1"),
    Row("odd output with emoji in file names", "P2"),
    Row("find -printf does not work on bsd", "P2"),
    Row("love this tool, thank you", "P3"),
    Row("how do I change the model?", "P3"),
    Row("feature request: fish completions", "P3"),
]


def _write(path, data: bytes, bump: int) -> None:
    path.write_bytes(data)
    os.utime(path, ns=(bump, bump))  # mtime resolution must not hide a quick change


@pytest.fixture
def model_bytes(tmp_path_factory) -> bytes:
    vocabulary = RulebookVocabulary(LEVELS, CATEGORIES)
    path = tmp_path_factory.mktemp("model") / "model.json.gz"
    save_model(train(TRAINING, vocabulary=vocabulary), path)
    return path.read_bytes()


@pytest.fixture
def rulebook(tmp_path, model_bytes):
    _write(tmp_path / "model.json.gz", model_bytes, 1_000_000_000)
    path = tmp_path / "rules.yaml"
    path.write_text(RULEBOOK_HEADER + RULES)
    return path


def test_the_model_rule_fires_on_the_models_opinion_and_says_why(rulebook):
    engine = read_rulebook(rulebook)
    triage = engine.classify("thank you, love this tool")
    assert triage.model is not None and abs(sum(triage.model.values()) - 1) < 1e-6
    fired = {rule.id: rule for rule in triage.rules}
    assert triage.priority == "P3" and "model-p3" in fired
    (match,) = fired["model-p3"].matches
    assert match.condition == "model" and match.text.startswith("P(P3) = ")


def test_a_p0_the_model_agrees_with_is_high_urgency_and_one_it_doubts_is_low(rulebook):
    engine = read_rulebook(rulebook)
    agreed = engine.classify("it deleted my home directory with rm -rf")
    assert (agreed.priority, agreed.urgency) == ("P0", "high")
    assert "model-p0" in {rule.id for rule in agreed.rules}
    doubted = engine.classify("deleted my home? love this tool, thank you, how do I")
    assert "model-p0" not in {rule.id for rule in doubted.rules}
    assert (doubted.priority, doubted.urgency) == ("P0", "low")


def test_a_set_aside_counter_signal_does_not_lower_a_p0_the_model_agrees_with(rulebook):
    engine = read_rulebook(rulebook)
    triage = engine.classify("it deleted my home directory with rm -rf. A prompt would be great")
    assert triage.set_aside == ("wish",)
    assert "model-p0" in {rule.id for rule in triage.rules}
    assert (triage.priority, triage.urgency) == ("P0", "high")


def test_batch_and_single_classification_agree(rulebook):
    engine = read_rulebook(rulebook)
    texts = [(row.text, None) for row in TRAINING]
    assert engine.classify_batch(texts) == [engine.classify(text) for text, _ in texts]


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (None, "No such file"),
        (b"not a model at all", "gzip"),
        (gzip.compress(b'{"format": "something else"}'), "model"),
    ],
    ids=["missing", "not-gzip", "other-format"],
)
def test_a_bad_model_file_is_one_line_naming_the_rulebook_line_and_the_file(
    rulebook, damage, expected
):
    model = rulebook.parent / "model.json.gz"
    if damage is None:
        model.unlink()
    else:
        model.write_bytes(damage)
    with pytest.raises(RulebookError) as raised:
        read_rulebook(rulebook)
    message = str(raised.value)
    assert "\n" not in message
    line = 1 + RULEBOOK_HEADER.count("\n")  # model_file is the first line after the header
    assert message.startswith(f"{rulebook}:{line}: -: model_file: {model}")
    assert expected.lower() in message.lower()
    assert "hark model train" in message


def test_a_model_trained_for_other_categories_is_refused(tmp_path):
    vocabulary = RulebookVocabulary(LEVELS, ("crash", "other"))
    save_model(train(TRAINING, vocabulary=vocabulary), tmp_path / "model.json.gz")
    path = tmp_path / "rules.yaml"
    path.write_text(RULEBOOK_HEADER + RULES)
    with pytest.raises(RulebookError, match="trained for another rulebook"):
        read_rulebook(path)


def test_an_engine_for_model_rules_needs_a_model():
    rulebook = parse_rulebook(RULEBOOK_HEADER + RULES, "<test>")
    with pytest.raises(MissingSecondOpinion, match="model-p0, model-p3"):
        Engine(rulebook)


def test_a_retrained_model_is_picked_up_and_a_broken_one_refused(rulebook, model_bytes):
    reloader = RulebookReloader(rulebook)
    before = reloader.engine
    assert reloader.reload_if_changed() is False

    _write(rulebook.parent / "model.json.gz", model_bytes, 2_000_000_000)  # retrained
    assert reloader.reload_if_changed() is True
    assert reloader.engine is not before

    working = reloader.engine
    _write(rulebook.parent / "model.json.gz", b"garbage", 3_000_000_000)
    assert reloader.reload_if_changed() is False
    assert reloader.engine is working  # the last good rulebook and model keep working
    assert [problem.field for problem in reloader.last_problems] == ["model_file"]
    assert working.classify("it deleted my home directory with rm -rf").priority == "P0"
