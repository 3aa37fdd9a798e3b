"""Reply drafts: template selection, the shipped templates, X's weighted length, the tone
check, broken template files, redaction and the refusal of destructive commands.

Each file in ``tests/data/replies/broken/`` is a template file with one kind of problem (one
has several). It opens with the problems it must produce, one comment line each::

    # expect: <line>: <template-id>: <field>: <message substring>

and loading must report exactly those: every expected problem, and nothing else.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from desk.drafts import (
    CHANNELS,
    X_LIMIT,
    Draft,
    ReplyTemplates,
    TemplateProblem,
    TemplatesError,
    UnsafeReplyError,
    draft_reply,
    fit_to_x,
    load_templates,
    parse_templates,
    shipped_templates_path,
    tone_problems,
    x_weighted_length,
)
from desk.drafts.template_set import RESERVED_IDS, sample_context
from desk.drafts.tone import destructive_command
from desk.drafts.x_length import find_urls
from tests.broken_files import assert_exactly, expectations

BROKEN = sorted((Path(__file__).resolve().parent.parent / "data" / "replies" / "broken").glob("*"))
FALLBACK = "- id: fallback\n  text: Thanks for reaching out!\n"


@pytest.fixture(scope="module")
def shipped() -> ReplyTemplates:
    return load_templates()


def templates(yaml_text: str, *, with_fallback: bool = False) -> ReplyTemplates:
    text = textwrap.dedent(yaml_text) + (FALLBACK if with_fallback else "")
    return parse_templates(text, "<test>")


def triage(priority: str = "P3", category: str = "other", kind: str = "other") -> dict:
    return {"priority": priority, "category": category, "kind": kind, "score": 1.0, "rules": []}


# ---------------------------------------------------------------------------------------------
# Selection
# ---------------------------------------------------------------------------------------------

SELECTION = """\
- id: any-p0
  when: {priorities: [P0]}
  text: a
- id: p0-safety
  when: {priorities: [P0], categories: [safety]}
  text: b
- id: p0-safety-again
  when: {priorities: [P0], categories: [safety]}
  text: c
- id: p0-safety-x
  when: {priorities: [P0], categories: [safety], channels: [x]}
  text: d
- id: questions
  when: {kinds: [question]}
  text: e
- id: early-questions
  when: {kinds: [question], priorities: [P2, P3]}
  text: f
- id: fallback
  text: g
"""


@pytest.mark.parametrize(
    ("priority", "category", "kind", "channel", "expected"),
    [
        ("P0", "other", "bug", "github", "any-p0"),
        ("P0", "safety", "bug", "github", "p0-safety"),  # two fields beat one; first of a tie
        ("P0", "safety", "bug", "x", "p0-safety-x"),  # three fields beat two
        ("P1", "other", "question", "discord", "questions"),
        ("P3", "other", "question", "discord", "early-questions"),
        ("P0", "other", "question", "email", "any-p0"),  # tie at one field: the earlier one
        ("P2", "privacy", "praise", "email", "fallback"),
        ("P3", "security", "other", "github", "fallback"),  # a category no template names
    ],
)
def test_the_most_specific_matching_template_wins(priority, category, kind, channel, expected):
    chosen = templates(SELECTION).select(
        priority=priority, category=category, kind=kind, channel=channel
    )
    assert chosen.id == expected


def test_draft_uses_the_selected_template_and_x_text_on_x():
    replies = templates(
        """\
        - id: praise
          when: {kinds: [praise]}
          text: Thank you{% if author %}, {{ author }}{% endif %}, this made our day!
          x_text: Thank you, this made our day!
        """,
        with_fallback=True,
    )
    github = draft_reply(replies, triage=triage(kind="praise"), channel="github", author="Ana")
    x = draft_reply(replies, triage=triage(kind="praise"), channel="x", author="@ana")
    assert (github.template_id, github.text) == ("praise", "Thank you, Ana, this made our day!")
    assert (x.template_id, x.text) == ("praise", "Thank you, this made our day!")
    assert (github.x_length, x.x_length) == (None, len(x.text))
    assert github.fits_x and x.fits_x
    with pytest.raises(FrozenInstanceError):
        x.text = "changed"  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------
# The shipped templates
# ---------------------------------------------------------------------------------------------


def test_shipped_templates_cover_the_playbook(shipped):
    ids = [template.id for template in shipped]
    for required in (
        "p0-dangerous-command",
        "p0-privacy",
        "p0",
        "p1-installation",
        "command-not-found",
        "generated-command",
        "privacy-question",
        "feature-request",
        "question",
        "praise",
        "documentation-error",
        "fallback",
    ):
        assert required in ids
    chosen_by_triage = [template for template in shipped if template.id not in RESERVED_IDS]
    assert all(template.x_text is not None for template in chosen_by_triage), "all have X texts"
    assert shipped_templates_path().name == "replies.yaml"


def _representative(template) -> dict:
    context = sample_context(template.when, "github")
    return triage(context["priority"], context["category"], context["kind"])


SHIPPED_IDS = [template.id for template in load_templates() if template.id not in RESERVED_IDS]


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("template_id", SHIPPED_IDS)
def test_every_shipped_template_renders_on_every_channel(shipped, template_id, channel):
    """Chosen for its own kind of message, in the playbook's voice, and short enough on X."""
    template = shipped[template_id]
    for incident_url in ("", "https://github.com/wildcard/caro/issues/1234"):
        draft = draft_reply(
            shipped,
            triage=_representative(template),
            channel=channel,
            author="@ana_dev" if channel == "x" else "Ana",
            incident_url=incident_url,
        )
        assert draft.template_id == template_id
        assert draft.tone == []
        assert draft.text and "{{" not in draft.text and "{%" not in draft.text
        assert not re.search(r"\[(secret|email|phone|ip|user)\]", draft.text), "redact mangled it"
        assert destructive_command(draft.text) is None
        if channel == "x":
            assert draft.fits_x and draft.x_length == x_weighted_length(draft.text) <= X_LIMIT
            assert (
                draft.text
                == template.x_text.render(  # X texts fit whole: nothing dropped
                    sample_context(template.when, "x", author="@ana_dev", incident_url=incident_url)
                ).strip()
            )
        if incident_url and "{{ incident_url" in _source(template_id, channel):
            assert incident_url in draft.text


def _source(template_id: str, channel: str) -> str:
    text = shipped_templates_path().read_text(encoding="utf-8")
    block = text.split(f"- id: {template_id}\n", 1)[1].split("\n- id: ", 1)[0]
    if channel == "x":
        return block.split("  x_text:", 1)[1]
    return block.split("  x_text:", 1)[0]


def test_p0_replies_move_to_a_private_channel_and_say_what_to_do_now(shipped):
    dangerous = triage("P0", "safety", "bug")
    for channel in ("github", "discord", "x"):
        text = draft_reply(shipped, triage=dangerous, channel=channel, author="").text
        assert "please don't run it" in text
        assert "support@caro-cli.dev" in text and "DM" in text
        assert "critical" in text
    leak = draft_reply(shipped, triage=triage("P0", "privacy", "bug"), channel="github", author="")
    assert "caro config telemetry --disable" in leak.text and "rotate" in leak.text
    email = draft_reply(shipped, triage=triage("P0", "other", "bug"), channel="email", author="")
    assert "reply with" in email.text  # already private: no need to move


def test_installation_and_troubleshooting_replies_ask_the_playbook_questions(shipped):
    install = draft_reply(
        shipped, triage=triage("P1", "installation", "bug"), channel="github", author=""
    ).text
    assert "cat /etc/os-release" in install and "uname -a" in install and "which curl" in install
    fallback = draft_reply(shipped, triage=triage(), channel="discord", author="").text
    for asked in ("caro --version", "uname -a", "query", "generated", "error"):
        assert asked in fallback
    bsd = draft_reply(
        shipped, triage=triage("P2", "command-generation", "bug"), channel="github", author=""
    ).text
    assert "BSD" in bsd and "GNU" in bsd and "uname -s" in bsd  # the why, not only the how


# ---------------------------------------------------------------------------------------------
# X's weighted length
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("hello", 5),
        ("https://example.com/" + "a" * 180, 23),  # a 200-character URL
        ("see http://example.com and https://caro-cli.dev/docs?q=1", 4 + 23 + 5 + 23),
        ("docs at caro-cli.dev/docs.", 8 + 23 + 1),  # a bare domain; the full stop is text
        ("github.com/wildcard/caro", 23),
        ("(see example.com/a_(b)).", 5 + 23 + 2),
        ("support@caro-cli.dev", 20),  # an e-mail address is not a URL
        ("readthedocs.io", 23),
        ("https://localhost/x", 19),  # no known top-level domain: plain text
        ("日本語", 6),  # CJK: 2 each
        ("한국어", 6),
        ("café", 4),
        ("👍", 2),
        ("👩\u200d👩\u200d👧", 2),  # ZWJ family
        ("🇺🇸", 2),  # flag: two regional indicators
        ("👍🏽", 2),  # skin tone
        ("1️⃣", 2),  # keycap
        ("#️⃣ and 1", 2 + 6),
        ("🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f", 2),  # Scotland's flag
        ("🏳️\u200d⚧️", 2),  # newer ZWJ sequences count 2 too
        ("❤️\u200d🔥", 2),
        ("e\u0301", 1),  # combining acute: NFC makes it é
        ("\u1112\u1161\u11ab", 2),  # decomposed Hangul: NFC makes one syllable
        ("‘quoted’ — “yes”", 16),  # these quotes weigh 1; the em dash U+2014 too
        ("a\r\nb", 3),  # CRLF counts as one
    ],
)
def test_weighted_length(text, length):
    assert x_weighted_length(text) == length


def test_combining_characters_count_like_their_composed_form():
    decomposed = "Cafe\u0301 cre\u0300me bru\u0302le\u0301e"
    assert x_weighted_length(decomposed) == x_weighted_length(
        unicodedata.normalize("NFC", decomposed)
    )
    assert x_weighted_length(decomposed) == len("Café crème brûlée")


def test_fit_to_x_drops_trailing_sentences_and_never_cuts_a_url():
    url = "https://github.com/wildcard/caro/issues/" + "9" * 60
    text = ("This sentence is filler text. " * 9) + f"Tracking: {url} and more words here."
    assert x_weighted_length(text) > X_LIMIT
    fitted = fit_to_x(text)
    assert x_weighted_length(fitted) <= X_LIMIT
    assert text.startswith(fitted) and fitted.endswith(".")
    for start, end in find_urls(fitted):
        assert fitted[start:end] in (url,)
    assert fit_to_x(text) == fitted  # deterministic

    one_sentence = "word " * 100 + url
    fitted = fit_to_x(one_sentence)
    assert x_weighted_length(fitted) <= X_LIMIT and fitted.endswith("…")
    assert url not in fitted and "https" not in fitted  # the URL went whole

    one_word = "x" * 500  # longer than a post and no URL: cut inside the word
    assert fit_to_x(one_word) == "x" * 278 + "…"  # "…" (U+2026) weighs 2


def test_long_x_draft_without_x_text_is_shortened_at_a_sentence(shipped):
    long_text = " ".join(f"Sentence number {n} says something useful." for n in range(12))
    replies = templates(f"- id: fallback\n  text: |\n    {long_text}\n    https://caro-cli.dev\n")
    draft = draft_reply(replies, triage=triage(), channel="x", author="")
    assert draft.fits_x and draft.x_length <= X_LIMIT
    assert draft.text.endswith("useful.") and long_text.startswith(draft.text)
    github = draft_reply(replies, triage=triage(), channel="github", author="")
    assert github.x_length is None and not github.fits_x and "https://caro-cli.dev" in github.text


# ---------------------------------------------------------------------------------------------
# Tone
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("This is documented in the README.", "this is documented"),
        ("That’s already documented.", "this is documented"),
        ("You could read the docs.", "read the docs"),
        ("Read the fine manual", "read the docs"),
        ("RTFM", "RTFM"),
        ("Please read the documentation before asking.", "please read the documentation before"),
        ("Try reinstalling.", "try reinstalling"),
        ("Just reinstall it and see.", "try reinstalling"),
        ("This obviously fails on macOS.", "obviously"),
        ("Just read the FAQ.", 'just + "read"'),
        ("just google it", 'just + "read"'),
        ("As I said, it's opt-in.", "as I said"),
        ("Like I already mentioned, no.", "as I said"),
    ],
)
def test_tone_flags_the_playbooks_forbidden_phrases(text, phrase):
    problems = tone_problems(text)
    assert len(problems) == 1, problems
    assert "playbook" in problems[0]
    found = problems[0].split('"')[1]
    assert found.lower() in text.lower()
    if found.lower() != phrase.lower():
        assert f"({phrase})" in problems[0]


@pytest.mark.parametrize(
    "text",
    [
        "Try reinstalling, because the 1.2.0 package was broken.",
        "Since the 1.2.0 package was broken, try reinstalling with brew.",
        "Try reinstalling to pick up the fixed binary.",
        "Our guides are on readthedocs.io.",
        "See https://caro.readthedocs.io/en/latest/",
        "I just read your report, thank you!",
        "We just released 1.1.1, which fixes it.",
        "Unjustly accused; obviousness is fine; a documentary.",
        "Thanks for reaching out! Could you share `uname -a`?",
        "The docs should have said this more clearly, sorry.",
    ],
)
def test_tone_leaves_good_replies_alone(text):
    assert tone_problems(text) == []


def test_tone_reports_every_problem_in_text_order():
    problems = tone_problems("Obviously this is documented. As I said, RTFM.")
    assert [p.split('"')[1] for p in problems] == [
        "Obviously",
        "this is documented",
        "As I said",
        "RTFM",
    ]


# ---------------------------------------------------------------------------------------------
# Broken template files
# ---------------------------------------------------------------------------------------------


def problems_of(path: Path) -> list[TemplateProblem]:
    """A file named ``<case>-<language>.yaml`` is a translation of the shipped templates."""
    language = path.stem.rsplit("-", 1)[-1] if "-" in path.stem else "en"
    english = load_templates() if language != "en" else None
    with pytest.raises(TemplatesError) as raised:
        parse_templates(path.read_text(encoding="utf-8"), str(path), language, english)
    return raised.value.problems


def test_every_kind_of_problem_has_a_broken_file():
    assert len(BROKEN) >= 25
    for path in BROKEN:
        assert path.suffix == ".yaml", path.name
        assert expectations(path.read_text(encoding="utf-8")), f"{path.name} expects nothing"


@pytest.mark.parametrize("path", BROKEN, ids=lambda path: path.stem)
def test_broken_file_reports_exactly_the_expected_problems(path: Path):
    expected = expectations(path.read_text(encoding="utf-8"))
    assert_exactly(expected, problems_of(path), str(path))


def test_several_problems_are_all_reported_in_one_run_in_file_order():
    path = next(path for path in BROKEN if path.stem == "several_problems")
    problems = problems_of(path)
    assert len(problems) == len(expectations(path.read_text(encoding="utf-8"))) >= 6
    assert problems == sorted(problems)


def test_problem_prints_as_path_line_id_field_message():
    path = next(path for path in BROKEN if path.stem == "unknown_variable")
    with pytest.raises(TemplatesError) as raised:
        parse_templates(path.read_text(encoding="utf-8"), str(path))
    (problem,) = raised.value.problems
    assert str(problem) == (
        f"{path}:7: praise: text: unknown variable 'autor': did you mean 'author'? "
        "templates may use author, channel, priority, category, kind, incident_url, version_hint, "
        "gave, fixed_version, no_reply_reason"
    )
    assert str(raised.value) == str(problem)


def test_jinja_runs_sandboxed():
    """Reaching into Python objects is refused, and found when the template is loaded."""
    with pytest.raises(TemplatesError, match=r"SecurityError.*'__class__'.*unsafe"):
        templates(
            """\
            - id: fallback
              text: "{{ author.__class__.__mro__ }}"
            """
        )


# ---------------------------------------------------------------------------------------------
# Personal data and destructive commands
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("author", "greeting"),
    [
        ("maria@example.com", "Thanks for reaching out!"),
        ("Maria Lopez <maria@example.com>", "Thanks for reaching out!"),  # a display name
        ("Ana +1 (415) 555-0132", "Thanks for reaching out, Ana!"),
        ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", "Thanks for reaching out!"),
        ("Bo https://evil.example.com/x @everyone", "Thanks for reaching out, Bo!"),
        ("/home/maria", "Thanks for reaching out!"),
        ("Cy ~maria/.ssh", "Thanks for reaching out, Cy!"),
        ("Di C:\\Users\\maria", "Thanks for reaching out, Di!"),
        ("Ed\u202e!tnaw uoy", "Thanks for reaching out!"),
    ],
)
def test_pii_in_the_author_never_reaches_the_draft(shipped, author, greeting):
    for channel in ("email", "github", "discord"):
        draft = draft_reply(shipped, triage=triage(), channel=channel, author=author)
        assert draft.text.startswith(greeting)
        for secret in ("maria", "example.com", "555", "ghp_", "evil", "@everyone", "\u202e"):
            assert secret not in draft.text
        assert "/home/," not in draft.text
    # Redaction keeps the team's own address, which a template writes on purpose.
    p0 = draft_reply(
        shipped, triage=triage("P0", "privacy", "bug"), channel="github", author=author
    )
    assert "support@caro-cli.dev" in p0.text and "maria" not in p0.text


def test_pii_reaching_the_text_another_way_is_redacted():
    replies = templates(
        """\
        - id: fallback
          text: "Thanks! We'll follow up on {{ incident_url }}"
        """
    )
    draft = draft_reply(
        replies,
        triage=triage(),
        channel="github",
        author="",
        incident_url="https://bob:hunter2secret@tracker.example.com/issues/1",
    )
    assert "hunter2secret" not in draft.text and "[secret]" in draft.text


def test_incident_url_must_be_a_public_link(shipped):
    for bad in ("not a url", "https://caro.pagerduty.com/incidents/Q1ABC", "javascript:alert(1)"):
        with pytest.raises(ValueError, match="public"):
            draft_reply(shipped, triage=triage(), channel="github", author="", incident_url=bad)
    with pytest.raises(ValueError, match="channel"):
        draft_reply(shipped, triage=triage(), channel="slack", author="")


@pytest.mark.parametrize(
    "author",
    [
        "rm -rf /",
        "sudo rm -fr ~",
        "mkfs.ext4 /dev/sda",
        "dd if=/dev/zero of=/dev/sda",
        "chmod -R 777 /",
        ":(){ :|:& };:",
    ],
)
def test_a_destructive_command_as_the_author_name_is_not_repeated(shipped, author):
    """A joke display name is not greeted by name: the draft is made without it."""
    draft = draft_reply(shipped, triage=triage(), channel="discord", author=author)
    assert draft.text.startswith("Thanks for reaching out!")
    assert destructive_command(draft.text) is None


def test_a_template_rendering_rm_rf_is_refused():
    """At load (the template is tried with sample values) and, for a command that only
    appears with some values, when the draft is made."""
    with pytest.raises(TemplatesError, match=r"(renders|shows) a destructive command \(rm -rf\)"):
        templates(
            """\
            - id: fallback
              text: "Please run {{ 'rm' }} -rf / to clean up."
            """
        )
    replies = templates(
        """\
        - id: fallback
          text: "Please run {{ 'r' ~ 'm' if author == 'zed' else 'ls' }} -rf / to clean up."
        """
    )
    assert draft_reply(replies, triage=triage(), channel="github", author="Ana").text
    with pytest.raises(UnsafeReplyError):
        draft_reply(replies, triage=triage(), channel="github", author="zed")


@pytest.mark.parametrize(
    "text",
    [
        "rm -rf /",
        "rm -Rf ~/x",
        "rm -r -f x",
        "rm --recursive --force /",
        "mkfs /dev/sdb1",
        "dd if=x.iso of=/dev/disk2",
        "chmod -R 777 /",
        "chmod 777 -R /",
        ":(){ :|:& };:",
    ],
)
def test_destructive_command_patterns(text):
    assert destructive_command(text)


@pytest.mark.parametrize(
    "text", ["rm file.txt", "rm -i x", "chmod -R 755 ./dist", "perform -rf", "add dd to notes"]
)
def test_harmless_commands_are_not_destructive(text):
    assert destructive_command(text) is None


def test_draft_to_dict_is_json_ready(shipped):
    draft = draft_reply(
        shipped, triage=triage(kind="praise", priority="P3"), channel="x", author=""
    )
    assert isinstance(draft, Draft)
    assert draft.to_dict() == {
        "text": draft.text,
        "template_id": "praise",
        "x_length": x_weighted_length(draft.text),
        "fits_x": True,
        "tone": [],
        "language": "en",
        "reply_needed": True,
        "already_given": [],
        "note": "",
    }
