"""Properties of normalization and of the engine, on generated text and on every corpus line.

Normalization is held to a character-by-character statement of its rules; the engine's
negation to a brute-force search; and every classification, of the shipped rulebook and of
a generated one that uses every kind of condition, to the invariants a reader of an
explanation relies on: spans that point at the quoted text, the conditions of each fired
rule present, and a priority, score and category that follow from the fired rules.
"""

from __future__ import annotations

import gc
import json
import re
import threading
import unicodedata
import weakref

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.workload import generated_rulebook, message_mix
from rules import LEVELS, Engine, Rule, Triage, normalize, parse_rulebook
from tests.conftest import DATA, RULEBOOK_HEADER

CHANNELS = [None, "x", "github", "discord", "email"]

# ---------------------------------------------------------------- normalization

_INVISIBLE = set(
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u200e\u200f\u202a"
    "\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\u206a"
    "\u206b\u206c\u206d\u206e\u206f\ufeff"
)


def _normalize_spec(text: str) -> str:
    """The rules of normalization, one character at a time (slow and plain)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    out: list[str] = []
    pending = ""  # the whitespace seen since the last character kept: "", " " or "\n"
    for char in text:
        if char in _INVISIBLE:
            continue
        if char in "\u2018\u2019\u02bc\u2032\uff07":
            char = "'"
        elif char in "\x85\u2028\u2029\n":
            pending = "\n"
            continue
        elif char == "`" or char.isspace():
            pending = pending or " "
            continue
        elif "\ud800" <= char <= "\udfff":
            char = "\ufffd"
        if pending and out:
            out.append(pending)
        pending = ""
        out.append(char)
    return "".join(out).replace("n't", "nt")


# Text made of rulebook words, negations, clause breaks and the characters normalization
# rewrites, so that rules fire, are negated and are excluded.
_WORDS = (
    "crash|crashes|crashed on launch|not|no longer|doesn't|every command|fails|brew install|"
    "rm -rf ~|sudo rm -rf /|api key|docs|README|wrong|term12 3|caro|shell|command|崩溃|"
    "stürzt ab|вылетает|CRASH|cr\u200bash|ｃｒａｓｈ|every single invocation panics|"
    "after the update|how do i|?"
).split("|")
_REWRITTEN = [
    *"\u2019`\u2028\ud800\u00a0\x85\u200d\x0b\x1c\u3000\u1680ﬁİß",
    *[" ", "  ", "\n", "\t", "\r\n", ", ", ". ", "(", "n't", "N\u2019T", "n\u200b't"],
]
text_strategy = st.lists(
    st.sampled_from(_WORDS + _REWRITTEN) | st.text(max_size=3), max_size=30
).map("".join)


@settings(max_examples=1000, deadline=None)
@given(st.text() | text_strategy)
def test_normalize_follows_its_rules_character_by_character(text):
    assert normalize(text) == _normalize_spec(text)


def test_normalize_spacing_apostrophes_width_and_broken_unicode():
    text = "  It DOESN\u2019T\t\twork \n\n  at  all `caro`  "
    assert normalize(text) == "it doesnt work\nat all caro"
    assert normalize("ｃｒ\u200bash\ufeff") == "crash"
    assert normalize("line one\u2028\r\n line two") == "line one\nline two"
    assert normalize("\ud800") == "\ufffd"
    assert normalize("") == ""


def test_normalize_reads_a_str_subclass_as_plain_text_and_refuses_other_types():
    class Sneaky(str):
        def casefold(self):
            return 42

    assert normalize(Sneaky("Él")) == "él"
    assert type(normalize(Sneaky("CRASH"))) is str
    with pytest.raises(TypeError):
        normalize(b"bytes")
    with pytest.raises(TypeError):
        normalize(None)


# ---------------------------------------------------------------- invariants


@pytest.fixture(scope="module")
def generated() -> Engine:
    """Keywords, phrases, regexes, requirements, exclusions and negations, many firing."""
    return Engine(parse_rulebook(generated_rulebook(300, seed=5, real_words=0.3), "<generated>"))


_CONDITION = re.compile(r"(match|require)\[(\d+)\]\.(keyword|phrase|regex|shell)")


def _patterns_of(rule: Rule, condition: str) -> list[str]:
    """The patterns of the condition an explanation names, as ``match[0].keyword``."""
    found = _CONDITION.fullmatch(condition)
    assert found, f"not a condition name: {condition}"
    role, position, matcher = found[1], int(found[2]), found[3]
    return getattr(getattr(rule, role)[position], matcher) or []


def assert_consistent(engine: Engine, text: str, channel: str | None, triage: Triage) -> None:
    """What a reader of the explanation relies on, for one classification."""
    book = engine.rulebook
    normalized = normalize(text)
    order = {rule.id: index for index, rule in enumerate(book.rules)}
    rules = {rule.id: rule for rule in book.rules}
    assert [order[fired.id] for fired in triage.rules] == sorted(
        order[fired.id] for fired in triage.rules
    ), "rules are reported once each, in rulebook order"
    scores = dict.fromkeys(LEVELS, 0.0)
    for fired in triage.rules:
        rule = rules[fired.id]
        assert not rule.channels or channel in rule.channels
        assert (fired.levels, fired.weight) == (rule.levels, rule.weight)
        for level in fired.levels:
            if level != "P0" or fired.id not in triage.set_aside:
                scores[level] += fired.weight
        assert fired.id not in triage.set_aside or (fired.weight < 0 and "P0" in fired.levels)
        if rule.model is not None:  # the second opinion: its probability, quoted
            (match,) = fired.matches
            assert (match.condition, match.start, match.end) == ("model", 0, 0)
            probability = triage.model[rule.model.priority]
            assert probability >= rule.model.min_probability
            assert match.text == f"P({rule.model.priority}) = {probability:.2f}"
            continue
        assert any(match.condition.startswith("match[") for match in fired.matches)
        for match in fired.matches:
            assert match.pattern in _patterns_of(rule, match.condition)
        spans = [(match.start, match.end) for match in fired.matches]
        assert len(spans) == len(set(spans)), "one match shown per span"
        for match in fired.matches:
            assert 0 <= match.start < match.end <= len(normalized)
            assert normalized[match.start : match.end] == match.text
    assert triage.scores == {level: round(score, 3) for level, score in scores.items()}
    reached = [level for level in LEVELS if triage.scores[level] >= book.threshold]
    assert triage.priority == (reached[0] if reached else book.defaults.priority)
    assert triage.score == triage.scores[triage.priority]
    assert triage.pages == book.priorities[triage.priority].pages
    assert (triage.urgency is not None) == (triage.priority == "P0")
    if triage.priority == "P0" and triage.set_aside and triage.urgency == "high":
        # only evidence strong enough, or backed by the model, outweighs a set-aside
        located = sum(
            f.weight
            for f in triage.rules
            if "P0" in f.levels and not rules[f.id].model and f.id not in triage.set_aside
        )
        model_agrees = any(rules[f.id].model and "P0" in f.levels for f in triage.rules)
        assert located >= book.urgency.strong_evidence or model_agrees
    categories = {fired.category for fired in triage.rules if fired.weight > 0}
    assert triage.category in categories | {book.defaults.category}
    kinds = {fired.kind for fired in triage.rules if fired.weight > 0}
    assert triage.kind in kinds | {book.defaults.kind}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=text_strategy, channel=st.sampled_from(CHANNELS))
def test_generated_text_classifies_consistently(shipped, generated, text, channel):
    for engine in (shipped, generated):
        assert_consistent(engine, text, channel, engine.classify(text, channel))


def _corpus_texts() -> list[str]:
    texts = []
    for path in sorted((DATA / "corpus").glob("*.jsonl")):
        lines = path.read_text(encoding="utf-8").splitlines()
        texts += [json.loads(line)["text"] for line in lines if line.strip()]
    return texts


def test_every_corpus_line_classifies_consistently_on_every_channel(shipped, generated):
    texts = _corpus_texts()
    assert len(texts) > 250
    messages = [(text, channel) for text in texts for channel in CHANNELS]
    for engine in (shipped, generated):  # in batches, as `hark classify` from a file runs
        for (text, channel), triage in zip(messages, engine.classify_batch(messages), strict=True):
            assert_consistent(engine, text, channel, triage)


def test_the_benchmark_mix_classifies_consistently(shipped, generated):
    for text, channel in message_mix(1000, seed=13):
        for engine in (shipped, generated):
            assert_consistent(engine, text, channel, engine.classify(text, channel))


# ---------------------------------------------------------------- negation, brute force

_NEGATIONS = ["not", "no longer", "never"]
_PIECES = ["crash", "crashes", "crashed", "not", "no longer", "never", "it", "really", "caro"]
_BREAKS = [" ", " ", " ", ", ", ". ", "\n", "! ", " (", ") "]


def _occurrences(words: list[str], text: str) -> list[tuple[int, int]]:
    pattern = "|".join(map(re.escape, sorted(words, key=len, reverse=True)))
    return [m.span() for m in re.finditer(rf"(?<![a-z0-9_])(?:{pattern})(?![a-z0-9_])", text)]


def _fires_by_brute_force(negations: list[str], window: int, text: str) -> bool:
    """Some 'crash' that no negation ends before, within the window, in the same clause."""
    text = normalize(text)
    negated = _occurrences(negations, text)
    for start, _ in _occurrences(["crash", "crashes", "crashed", "crashing"], text):
        if not any(
            start - window <= n_start
            and n_end <= start
            and not re.search(r"[,.;:!?()\n]", text[n_end:start])
            for n_start, n_end in negated
        ):
            return True
    return False


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    negations=st.lists(st.sampled_from(_NEGATIONS), min_size=1, max_size=3, unique=True),
    window=st.integers(min_value=1, max_value=30),
    parts=st.lists(st.tuples(st.sampled_from(_PIECES), st.sampled_from(_BREAKS)), max_size=12),
)
def test_negation_agrees_with_brute_force(negations, window, parts):
    rule = {
        "id": "crash",
        "description": "d",
        "match": {"keyword": ["crash"]},
        "negated_by": negations,
        "negation_window": window,
        "priority": "P0",
        "weight": 1,
    }
    engine = Engine(parse_rulebook(RULEBOOK_HEADER + "rules:\n  - " + json.dumps(rule), "t"))
    text = "".join(piece + brk for piece, brk in parts)
    fired = engine.classify(text).rules != ()
    assert fired == _fires_by_brute_force(negations, window, text)


# ---------------------------------------------------------------- the engine as an object


def test_classify_from_many_threads_gives_the_same_results(shipped):
    mix = message_mix(400, seed=21)
    expected = [shipped.classify(text, channel) for text, channel in mix]
    results: list[list] = [[] for _ in range(4)]

    def work(index: int) -> None:
        results[index] = [shipped.classify(text, channel) for text, channel in mix]

    threads = [threading.Thread(target=work, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(result == expected for result in results)


def test_a_dropped_engine_is_freed(shipped):
    # A reloaded rulebook replaces its engine; the old one (its RE2 set may hold tens of
    # megabytes) must not be kept alive by a reference cycle.
    dropped = Engine(shipped.rulebook, shipped.second_opinion)
    dropped.classify("caro crashes on launch, even caro --version 12")
    alive = weakref.ref(dropped)
    del dropped
    gc.collect()
    assert alive() is None


def test_results_are_fresh_records_a_caller_may_keep(shipped):
    first = shipped.classify("caro crashes on launch")
    first.scores["P0"] = -1.0  # a caller's change stays its own
    assert shipped.classify("caro crashes on launch").scores["P0"] > 0
    quoted = [match["text"] for rule in first.to_dict()["rules"] for match in rule["matches"]]
    assert "crashes" in quoted
