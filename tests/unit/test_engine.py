"""The engine's matching, negation, scoring and explanation, on small rulebooks."""

from __future__ import annotations

import pytest

CRASH_RULE = """
- id: crash-on-launch
  description: crash on launch
  match: {keyword: [crash]}
  require: {phrase: [on launch, at startup], keyword: [startup]}
  unless: {phrase: [crash course]}
  negated_by: [no longer, not]
  priority: P0
  weight: 1
  category: command-generation
  kind: bug
"""


@pytest.fixture
def crash_engine(make_engine):
    return make_engine(CRASH_RULE)


@pytest.mark.parametrize(
    "text",
    [
        "Caro crashes on launch",
        "caro CRASHED at startup",
        "it keeps crashing on launch",
        "crash on launch!!",
        "Caro cr\u200bashes on launch",  # zero-width space inside the word
        "Caro ｃｒａｓｈｅｓ on launch",  # fullwidth letters
        "Caro CRA\u00adSHES on\u00a0launch",  # soft hyphen, no-break space
        "startup crash",
    ],
)
def test_keyword_with_inflections_and_obfuscation_fires(crash_engine, text):
    triage = crash_engine.classify(text)
    assert triage.priority == "P0"
    assert [rule.id for rule in triage.rules] == ["crash-on-launch"]


@pytest.mark.parametrize(
    "text",
    [
        "a crash course on launch strategy",  # unless
        "it no longer crashes on launch",  # negation right before the hit
        "it does not crash on launch",
        "crashpad on launch",  # word boundary: crash inside another word
        "Caro crashes when I pipe a 2 GB file",  # require not met
    ],
)
def test_counter_signals_keep_the_rule_quiet(crash_engine, text):
    triage = crash_engine.classify(text)
    assert triage.priority == "P3"
    assert triage.rules == ()


def test_negation_does_not_reach_into_another_clause(crash_engine):
    triage = crash_engine.classify("It does not work, it crashes on launch")
    assert triage.priority == "P0"


def test_explanation_names_rule_weight_and_spans(crash_engine):
    triage = crash_engine.classify("Oh no: Caro crashed on launch")
    (fired,) = triage.rules
    assert (fired.id, fired.weight, fired.levels) == ("crash-on-launch", 1.0, ("P0",))
    by_condition = {match.condition: match for match in fired.matches}
    crash = by_condition["match[0].keyword"]
    assert (crash.pattern, crash.text) == ("crash", "crashed")
    normalized = "oh no: caro crashed on launch"
    assert normalized[crash.start : crash.end] == "crashed"
    launch = by_condition["require[0].phrase"]
    assert normalized[launch.start : launch.end] == "on launch"
    assert triage.to_dict()["rules"][0]["matches"][0]["text"] == "crashed"


def test_weights_add_up_and_the_most_urgent_level_reaching_threshold_wins(make_engine):
    engine = make_engine(
        """
        - {id: weak-a, description: a, match: {keyword: [alpha]}, priority: P1, weight: 0.5}
        - {id: weak-b, description: b, match: {keyword: [beta]}, priority: P1, weight: 0.5}
        - {id: minor, description: c, match: {keyword: [gamma]}, priority: P2, weight: 1,
           category: documentation, kind: bug}
        """
    )
    assert engine.classify("alpha gamma").priority == "P2"
    both = engine.classify("alpha beta gamma")
    assert (both.priority, both.score) == ("P1", 1.0)
    assert both.scores == {"P0": 0.0, "P1": 1.0, "P2": 1.0, "P3": 0.0}
    assert engine.classify("nothing here").priority == "P3"


def test_counter_signal_with_negative_weight_demotes(make_engine):
    engine = make_engine(
        """
        - {id: crash, description: c, match: {keyword: [crash]}, priority: P0, weight: 1,
           category: command-generation, kind: bug}
        - {id: crash-minor, description: c, match: {keyword: [crash]}, priority: P2, weight: 1,
           kind: bug}
        - {id: feature, description: f, match: {phrase: [it would be great]}, priority: P3,
           weight: 1, kind: feature}
        - {id: feature-not-defect, description: f, match: {phrase: [it would be great]},
           priority: [P0, P1, P2], weight: -1}
        """
    )
    assert engine.classify("it crashes").priority == "P0"
    request = engine.classify("it would be great to upload crash dumps")
    assert (request.priority, request.kind) == ("P3", "feature")
    assert request.scores["P0"] == 0.0


def test_category_and_kind_come_from_the_rule_behind_the_decision(make_engine):
    engine = make_engine(
        """
        - {id: leak, description: l, match: {keyword: [leak]}, priority: P0, weight: 1,
           category: privacy, kind: bug}
        - {id: question, description: q, match: {phrase: ["?"]}, priority: P3, weight: 0.5,
           kind: question}
        - {id: docs, description: d, match: {keyword: [docs]}, priority: P3, weight: 0.5,
           category: documentation}
        """
    )
    leak = engine.classify("does it leak? see the docs")
    assert (leak.priority, leak.category, leak.kind) == ("P0", "privacy", "bug")
    question = engine.classify("where are the docs?")
    assert (question.priority, question.category, question.kind) == (
        "P3",
        "documentation",
        "question",
    )


def test_channel_filter(make_engine):
    engine = make_engine(
        """
        - {id: discord-only, description: d, match: {keyword: [help]}, channels: [discord],
           priority: P2, weight: 1}
        """
    )
    assert engine.classify("help", "discord").priority == "P2"
    assert engine.classify("help", "github").priority == "P3"
    assert engine.classify("help").priority == "P3"


def test_prefix_keywords_and_scripts_without_spaces(make_engine):
    engine = make_engine(
        """
        - {id: de, description: d, match: {keyword: ["abstürz*"]}, priority: P0, weight: 1}
        - {id: zh, description: z, match: {keyword: ["崩溃"]}, priority: P0, weight: 1}
        - {id: ru, description: r, match: {keyword: ["вылета*"]}, priority: P0, weight: 1}
        """
    )
    assert engine.classify("Caro ist beim Start abgestürzt").priority == "P3"  # prefix at start
    assert engine.classify("Caro: Absturz, dann Abstürze überall").priority == "P0"
    assert engine.classify("程序一启动就崩溃了").priority == "P0"
    assert engine.classify("Программа вылетает при запуске").priority == "P0"


def test_regex_conditions_run_on_re2(make_engine):
    engine = make_engine(
        r"""
        - {id: rm, description: r, match: {regex: ['\brm\s+-rf\b']}, priority: P0, weight: 1}
        - {id: evil, description: e, match: {regex: ['(a+)+$']}, priority: P2, weight: 1}
        """
    )
    rm = engine.classify("Caro gave me `RM  -rf /` !")
    assert rm.priority == "P0"
    assert rm.rules[0].matches[0].text == "rm -rf"
    # The classic catastrophic-backtracking input finishes at once on a linear-time engine.
    assert engine.classify("a" * 200_000 + "b").priority == "P3"
    assert engine.classify("a" * 200_000).priority == "P2"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t ",
        "🔥🔥🔥🚀",
        "كارو يتعطل عند التشغيل",  # right-to-left
        "\u202ecrash on launch\u202c",  # bidi override characters are removed before matching
        "x" * 1_000_000,
    ],
)
def test_unusual_text_is_classified_not_refused(crash_engine, text):
    triage = crash_engine.classify(text)
    assert triage.priority in {"P0", "P3"}


def test_bidi_override_cannot_hide_a_keyword(crash_engine):
    assert crash_engine.classify("\u202ecrash on launch\u202c").priority == "P0"


def test_one_megabyte_message_still_finds_a_late_signal(crash_engine):
    text = "lorem ipsum " * 90_000 + "and then it crashes on launch"
    assert len(text) > 1_000_000
    assert crash_engine.classify(text).priority == "P0"


def test_a_regex_shared_by_rules_explains_each_of_them(make_engine):
    # The engine runs each distinct regex once, however many rules and conditions use it.
    engine = make_engine(
        r"""
        - {id: wipe, description: w, match: {regex: ['\brm\s+-rf\b', 'sudo\s+rm\b']},
           priority: P0, weight: 1, category: safety}
        - {id: wipe-again, description: w, match: {keyword: [wiped]},
           require: {regex: ['\brm\s+-rf\b']}, priority: P1, weight: 1}
        - {id: quiet, description: q, match: {regex: ['\brm\s+-rf\b']}, unless: {phrase: [test]},
           priority: P2, weight: 1}
        """
    )
    triage = engine.classify("it ran sudo rm -rf / and wiped my disk, then rm -rf ~ again")
    assert [rule.id for rule in triage.rules] == ["wipe", "wipe-again", "quiet"]
    wipe, wipe_again, quiet = triage.rules
    assert sorted((m.condition, m.text, m.start) for m in wipe.matches) == [
        ("match[0].regex", "rm -rf", 12),
        ("match[0].regex", "rm -rf", 45),
        ("match[0].regex", "sudo rm", 7),
    ]
    assert [(m.condition, m.text, m.start) for m in wipe_again.matches] == [
        ("match[0].keyword", "wiped", 25),
        ("require[0].regex", "rm -rf", 12),
    ]
    assert [(m.text, m.start) for m in quiet.matches] == [("rm -rf", 12), ("rm -rf", 45)]
    assert [rule.id for rule in engine.classify("rm -rf in a test").rules] == ["wipe"]


def test_a_long_message_full_of_negations_is_classified(crash_engine):
    # 33,000 crashes, each after a negation in another clause: checking each crash against
    # every negation would take minutes; only the negations just before it are looked at.
    text = "it does not work, crashes on launch. " * 33_000
    triage = crash_engine.classify(text)
    assert triage.priority == "P0"
    assert len(triage.rules[0].matches) == 21  # the first 20 crashes, and the requirement
    quiet = crash_engine.classify("it does not crash on launch " * 33_000)
    assert quiet.rules == ()
