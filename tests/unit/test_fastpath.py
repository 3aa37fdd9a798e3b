"""The C fast path (rules/_fastpath_src) against the Python reference it must equal.

``Engine.classify`` runs in C; ``Engine.classify_reference`` and
``normalize.normalize_reference`` say in Python what it computes. These tests hold the two
equal, field for field, on the corpora, on a generated rulebook that uses every kind of
condition, and on generated text; and check that the fast path is really the one in use.
"""

from __future__ import annotations

import gc
import json
import threading
import weakref
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.workload import generated_rulebook, message_mix
from hark import rulebook_files
from hark.rulebook_files import read_rulebook, shipped_rulebook_path
from rules import Engine, engine, normalize, parse_rulebook
from rules.normalize import normalize_reference
from rules.result import FiredRule, Match, Triage
from tests.conftest import SHARED

ROOT = Path(__file__).resolve().parents[2]
CORPORA = [
    ROOT / "tests" / "data" / "corpus" / "caro-support.jsonl",
    SHARED / "corpus" / "real-github-issues.dev.jsonl",
]
CHANNELS = [None, "x", "github", "discord", "email"]


def _corpus_texts() -> list[str]:
    texts = []
    for path in CORPORA:
        texts += [json.loads(line)["text"] for line in path.read_text().splitlines() if line]
    return texts


def _assert_same(engine_: Engine, text: str, channel: str | None) -> None:
    fast = engine_.classify(text, channel)
    reference = engine_.classify_reference(normalize(text), channel)
    assert fast == reference
    assert fast.to_dict() == reference.to_dict()  # the same record types, not bare tuples
    assert type(fast) is type(reference)


@pytest.fixture(scope="module")
def generated() -> Engine:
    """Keywords, phrases, regexes, requirements, exclusions and negations, many firing."""
    return Engine(parse_rulebook(generated_rulebook(300, seed=5, real_words=0.3), "<generated>"))


def test_the_fast_path_is_built_and_used(shipped):
    # Without a C compiler at install time Hark falls back to Python, 3 to 6x slower: the
    # test environment must have built it, or the speed figures are not what ships.
    assert engine._fastpath is not None
    assert shipped._core is not None
    assert shipped.accelerated
    assert normalize is engine._fastpath.normalize


def test_without_the_extension_the_python_path_classifies_and_says_so(monkeypatch, caplog):
    monkeypatch.setattr(engine, "_fastpath", None)
    rulebook_files._warn_slow_path.cache_clear()
    slow = read_rulebook(shipped_rulebook_path())
    assert not slow.accelerated
    assert slow.classify("Caro crashes on launch", "x").priority == "P0"
    assert "C fast path (rules._fastpath) is not built" in caplog.text
    assert "install a C compiler" in caplog.text


def test_corpora_classify_identically(shipped):
    texts = _corpus_texts()
    assert len(texts) == 255 + 29
    for text in texts:
        for channel in CHANNELS:
            _assert_same(shipped, text, channel)


def test_the_benchmark_mix_classifies_identically(shipped, generated):
    for text, channel in message_mix(2000, seed=13):
        _assert_same(shipped, text, channel)
        _assert_same(generated, text, channel)


# Text made of the rulebooks' own words, negations, clause breaks and the characters
# normalization rewrites, so that rules fire, are negated and are excluded.
_WORDS = (
    "crash|crashes|crashed on launch|not|no longer|doesn't|every command|fails|brew install|"
    "rm -rf ~|api key|docs|README|wrong|term12 3|caro|shell|command|崩溃|stürzt ab|вылетает|"
    "CRASH|cr\u200bash|ｃｒａｓｈ"
).split("|")
_REWRITTEN = ["\u2019", "`", "\u2028", "\ud800", " ", "  ", "\n", "\t", ", ", ". ", "("]
_PIECES = _WORDS + _REWRITTEN
text_strategy = st.lists(st.sampled_from(_PIECES) | st.text(max_size=3), max_size=25).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=text_strategy, channel=st.sampled_from(CHANNELS))
def test_generated_text_classifies_identically(shipped, generated, text, channel):
    _assert_same(shipped, text, channel)
    _assert_same(generated, text, channel)


@settings(max_examples=500, deadline=None)
@given(st.text() | text_strategy)
def test_normalize_equals_its_reference(text):
    assert normalize(text) == normalize_reference(text)


def test_normalize_spacing_apostrophes_and_width():
    text = "  It DOESN\u2019T\t\twork \n\n  at  all `caro`  "
    assert normalize(text) == "it doesnt work\nat all caro"
    assert normalize("ｃｒ\u200bash\ufeff") == "crash"
    assert normalize("\ud800") == "\ufffd"
    assert normalize("") == ""


def test_a_dropped_engine_is_freed(shipped):
    # The C core is not tracked by the garbage collector: a reference cycle through it
    # (an engine method handed to the core) would keep every reloaded rulebook alive.
    rulebook = read_rulebook(shipped_rulebook_path()).rulebook
    dropped = Engine(rulebook)
    dropped.classify("caro crashes on launch, even caro --version 12")
    alive = weakref.ref(dropped)
    del dropped
    gc.collect()
    assert alive() is None


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


_FIELDS = ("r", "d", ("P0",), 1.0, "crash", "bug")


def _tables(**overrides) -> dict:
    tables = {
        "literals": [("crash", ((True, True, 0),))],
        "group_pairs": [[0, 0]],
        "group_rules": [[0]],
        "slot_count": 1,
        "regexes": None,
        "rules": [(None, (0,), (), (), -1, 24, ("r", "d", ("P0",), 1.0, "crash", "bug"))],
        "targets": [("match[0].keyword", "crash")],
        "scoring": (("P0", "P1", "P2", "P3"), 1.0, "P3", "other", "other", (True,) * 4),
        "types": (Match, FiredRule, Triage),
    }
    return {**tables, **overrides}


def _core(**overrides):
    return engine._fastpath.Core(**_tables(**overrides))


def test_the_core_from_hand_written_tables():
    triage = _core().classify("Caro:  CRASH, then a ｃｒａｓｈ", "x")
    assert (triage.priority, triage.category, triage.pages) == ("P0", "crash", True)
    assert [(m.text, m.start) for m in triage.rules[0].matches] == [("crash", 6), ("crash", 20)]
    assert _core().classify("a crashpad, crashes").rules == ()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"literals": [("", ())]}, "non-empty"),
        ({"literals": [("crash", ((True, True, 7),))]}, "outside the tables"),
        ({"literals": [("crash", ()), ("crash", ())]}, "given twice"),
        ({"group_rules": []}, "same length"),
        ({"scoring": (("P0",), 1.0, "P3", "o", "o", (True,))}, "4 levels"),
        ({"rules": [(None, (), (), (), -1, 24, ("r", "d", ("P9",), 1.0, None, None))]}, "P9"),
        ({"group_pairs": [[1, 0]]}, "group's slot or target is outside"),
        ({"group_pairs": [[0, -3]]}, "group's slot or target is outside"),
        ({"group_rules": [[-(2**31), 1]]}, "group's rule is outside"),
        ({"rules": [(None, (5,), (), (), -1, 24, _FIELDS)]}, "rule's slot is outside"),
        ({"rules": [(None, (0,), (), (-1,), -1, 24, _FIELDS)]}, "rule's slot is outside"),
        ({"rules": [(None, (0,), (), (), 9, 24, _FIELDS)]}, "negation slot is outside"),
        ({"rules": [(None, (0,), (), (), -1, -(2**63), _FIELDS)]}, "window is negative"),
        ({"slot_count": -1}, "must not be negative"),
    ],
)
def test_malformed_tables_are_refused_not_crashed(overrides, message):
    with pytest.raises(ValueError, match=message):
        _core(**overrides)


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"types": (object, object, object)}, TypeError),
        ({"types": (Match, FiredRule, int)}, TypeError),
        ({"rules": [(["x"], (0,), (), (), -1, 24, _FIELDS)]}, TypeError),
        ({"group_pairs": [[2**32, 0]]}, OverflowError),
    ],
)
def test_tables_of_the_wrong_type_are_refused(overrides, error):
    with pytest.raises(error):
        _core(**overrides)


def test_a_core_whose_set_up_failed_cannot_classify():
    core = engine._fastpath.Core.__new__(engine._fastpath.Core)
    with pytest.raises(RuntimeError, match="not initialised"):
        core.classify("crash")
    with pytest.raises(ValueError, match="given twice"):
        core.__init__(**_tables(literals=[("é", ()), ("é", ())]))
    with pytest.raises(RuntimeError, match="not initialised"):
        core.classify("héllo")
    with pytest.raises(RuntimeError, match="initialised once"):
        core.__init__(**_tables())


def test_a_str_subclass_is_read_as_plain_text():
    class Sneaky(str):
        def casefold(self):
            return 42

    assert normalize(Sneaky("Él")) == "él"
    assert _core().classify(Sneaky("CRASH é")).priority == "P0"


def test_a_reference_cycle_through_the_core_is_collected():
    class Owner:  # hands its own methods to the core: owner -> core -> method -> owner
        def matching(self, encoded: bytes) -> list[int]:
            return []

        def spans(self, *args) -> list:
            return []

    owner = Owner()
    owner.core = _core(regexes=(owner.matching, owner.spans))
    alive = weakref.ref(owner)
    del owner
    gc.collect()
    assert alive() is None


def test_the_core_takes_text_only():
    with pytest.raises(TypeError):
        _core().classify(b"bytes")
    with pytest.raises(TypeError):
        normalize(None)
