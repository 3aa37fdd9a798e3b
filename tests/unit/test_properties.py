"""Property tests (hypothesis): the engine against a brute-force reference, normalization's
invariants, and the loader and classifier on arbitrary input."""

from __future__ import annotations

import re

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules import Engine, RulebookError, normalize, parse_rulebook
from rules.matchers import english_forms
from tests.conftest import RULEBOOK_HEADER

WORDS = ["crash", "launch", "fail", "docs", "brew", "panic", "stop", "leak", "key", "safe"]
SEPARATORS = [" ", ", ", ". ", "\n", "-", "!", "x", ""]  # "x" and "" glue words together

rule_strategy = st.fixed_dictionaries(
    {
        "match": st.lists(st.sampled_from(WORDS), min_size=1, max_size=3),
        "require": st.lists(st.sampled_from(WORDS), max_size=2),
        "unless": st.lists(st.sampled_from(WORDS), max_size=1),
        "channels": st.sampled_from([[], ["x"], ["github", "email"]]),
    }
)


def _rulebook(rules: list[dict]) -> str:
    lines = [RULEBOOK_HEADER, "rules:"]
    for index, rule in enumerate(rules):
        body = {
            "id": f"r{index}",
            "description": "generated",
            "match": {"keyword": rule["match"]},
            "priority": "P1",
            "weight": 1,
        }
        if rule["require"]:
            body["require"] = [{"keyword": [word]} for word in rule["require"]]
        if rule["unless"]:
            body["unless"] = {"keyword": rule["unless"]}
        if rule["channels"]:
            body["channels"] = rule["channels"]
        lines.append("  - " + yaml.safe_dump(body, default_flow_style=True).strip())
    return "\n".join(lines) + "\n"


def _found(word: str, text: str) -> bool:
    forms = "|".join(map(re.escape, english_forms(word)))
    return re.search(rf"(?<![a-z0-9_])(?:{forms})(?![a-z0-9_])", text) is not None


def _reference(rules: list[dict], text: str, channel: str) -> list[str]:
    """What should fire, computed the slow and obvious way."""
    text = text.lower()
    fired = []
    for index, rule in enumerate(rules):
        if rule["channels"] and channel not in rule["channels"]:
            continue
        if not any(_found(word, text) for word in rule["match"]):
            continue
        if not all(_found(word, text) for word in rule["require"]):
            continue
        if any(_found(word, text) for word in rule["unless"]):
            continue
        fired.append(f"r{index}")
    return fired


text_strategy = st.lists(
    st.tuples(
        st.sampled_from([*WORDS, "crashes", "stopped", "crashpad", "failing", "keys", "CRASH"]),
        st.sampled_from(SEPARATORS),
    ),
    max_size=12,
).map(lambda parts: "".join(word + sep for word, sep in parts))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    rules=st.lists(rule_strategy, min_size=1, max_size=6),
    text=text_strategy,
    channel=st.sampled_from(["x", "github", "discord", "email"]),
)
def test_engine_fires_exactly_what_brute_force_fires(rules, text, channel):
    engine = Engine(parse_rulebook(_rulebook(rules), "<generated>"))
    fired = [rule.id for rule in engine.classify(text, channel).rules]
    assert fired == _reference(rules, text, channel)


@given(st.text())
def test_normalize_is_idempotent(text):
    once = normalize(text)
    assert normalize(once) == once


@given(st.text())
def test_normalized_text_has_no_invisible_characters_or_runs_of_spaces(text):
    normalized = normalize(text)
    assert "\u200b" not in normalized and "\u200d" not in normalized
    assert "  " not in normalized
    assert normalized == normalized.strip()


@settings(deadline=None)
@given(st.text(max_size=2000), st.sampled_from([None, "x", "github", "discord", "email"]))
def test_shipped_engine_classifies_any_text(shipped, text, channel):
    triage = shipped.classify(text, channel)
    assert triage.priority in {"P0", "P1", "P2", "P3"}
    for rule in triage.rules:
        for match in rule.matches:
            if match.condition == "model":  # the second opinion quotes its probability
                assert match.text.startswith("P(") and (match.start, match.end) == (0, 0)
                continue
            assert normalize(text)[match.start : match.end] == match.text


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["priorities", "rules", "categories", "kinds", "threshold", "defaults"]),
        yaml_values,
    )
)
def test_loader_reports_problems_never_crashes(document):
    text = yaml.safe_dump(document)
    try:
        parse_rulebook(text, "fuzz.yaml")
    except RulebookError as error:
        assert error.problems
        for problem in error.problems:
            assert str(problem).startswith("fuzz.yaml:")
            assert problem.line >= 1


@given(st.binary(max_size=300))
def test_loader_on_arbitrary_bytes(data):
    try:
        parse_rulebook(data.decode("utf-8", errors="replace"), "bytes.yaml")
    except RulebookError as error:
        assert all(str(problem).startswith("bytes.yaml:") for problem in error.problems)
