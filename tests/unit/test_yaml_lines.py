"""Every YAML file Hark reads (rulebook, on-call schedule, reply templates) goes through
``rules.yaml_lines``: alias tricks and characters YAML refuses are reported with a line,
whichever file it is."""

from __future__ import annotations

import pytest

from desk.drafts.templates import TemplatesError, parse_templates
from oncall.schedule import ScheduleError, parse_schedule
from rules import RulebookError, parse_rulebook

NESTS_FOREVER = "timezone: UTC\nlayers: &a\n  - *a\n"
LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(5)
)
NUL = "timezone: UTC\n\nlayers: [\x00]\n"


@pytest.mark.parametrize(
    ("parse", "error"),
    [(parse_rulebook, RulebookError), (parse_schedule, ScheduleError)],
)
@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        (NESTS_FOREVER, 3, "the alias *a is inside its own anchor &a"),
        (LAUGHS, 5, "aliases expand this to over 100,000 values"),
        (NUL, 3, "character U+0000 is not allowed"),
    ],
)
def test_alias_tricks_and_refused_characters_name_their_line(parse, error, text, line, says):
    with pytest.raises(error) as raised:
        parse(text, "f.yaml")
    (message,) = str(raised.value).splitlines()
    assert message.startswith(f"f.yaml:{line}: -: yaml: not valid YAML: ") and says in message


def test_reply_templates_refuse_an_alias_that_nests_forever():
    with pytest.raises(TemplatesError, match="inside its own anchor"):
        parse_templates("- &a\n  - *a\n", "replies.yaml")
