"""Reply templates' file: the team-editable YAML (``desk/data/replies.yaml``) and its
translations, validated and compiled at load into ``ReplyTemplates`` (``template_set.py``,
which also chooses the template for a triaged message; its names are importable from here).

A file is a list of templates, each with an ``id``, a ``when`` (any of ``priorities``,
``categories``, ``kinds``, ``channels``; missing or empty means any), a Jinja2 ``text`` and an
optional shorter ``x_text`` for X; a ``fallback`` with no ``when`` must exist. Templates may
use only ``VARIABLES``.

Loading reports every problem at once as ``path:line: template-id: field: message``: YAML and
schema errors, Jinja syntax errors, unknown variables, the playbook's forbidden phrases
(``tone.py``), destructive commands, render errors and an ``x_text`` too long for X.
"""

from __future__ import annotations

import difflib
import os
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

import jinja2
import yaml
from jinja2 import StrictUndefined, meta, nodes
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from desk.drafts.facts import EVERYTHING
from desk.drafts.language import LANGUAGE_NAMES, TEMPLATE_LANGUAGES
from desk.drafts.template_set import (
    FIXED_IN_ID,
    NO_REPLY_ID,
    RESERVED_IDS,
    VARIABLES,
    ReplyTemplate,
    ReplyTemplates,
    sample_context,
)
from desk.drafts.tone import destructive_command, find_tone_problems
from desk.drafts.x_length import X_LIMIT, x_weighted_length
from rules.yaml_lines import BoundedLoader, field_name, index_lines, locate
from vocabulary.channels import CHANNELS, Channel
from vocabulary.redact import find_pii

# This module's names, and the ``template_set`` names callers import from here.
__all__ = [
    "CHANNELS",
    "FIXED_IN_ID",
    "NO_REPLY_ID",
    "RESERVED_IDS",
    "VARIABLES",
    "ReplyTemplate",
    "ReplyTemplates",
    "TemplateProblem",
    "TemplateSpec",
    "TemplatesError",
    "When",
    "load_templates",
    "parse_templates",
    "sample_context",
    "shipped_templates_path",
]

TEXT_FIELDS = ("text", "x_text")
_SAMPLE_URL = "https://github.com/wildcard/caro/issues/1234"
_Path = tuple[str | int, ...]


class When(BaseModel):
    model_config = ConfigDict(extra="forbid")
    priorities: list[Literal["P0", "P1", "P2", "P3"]] = []
    categories: list[
        Literal["command-generation", "safety", "installation", "documentation", "privacy", "other"]
    ] = []
    kinds: list[Literal["bug", "feature", "question", "praise", "other"]] = []
    channels: list[Channel] = []


class TemplateSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)
    when: When = Field(default_factory=When)
    text: str = Field(min_length=1)
    x_text: str | None = Field(default=None, min_length=1)


@dataclass(frozen=True, order=True)
class TemplateProblem:
    source: str
    line: int
    template_id: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.template_id}: {self.field}: {self.message}"


class TemplatesError(ValueError):
    """A template file that cannot be used, with every problem found in it."""

    def __init__(self, problems: list[TemplateProblem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


def shipped_templates_path() -> Path:
    return Path(str(resources.files("desk") / "data" / "replies.yaml"))


def load_templates(path: str | os.PathLike[str] | None = None) -> ReplyTemplates:
    """Read and validate a template file (default: the shipped ``desk/data/replies.yaml``)
    and its translations beside it, ``<name>-<language>.yaml`` (``replies-de.yaml``).
    Every problem of every file is reported at once."""
    path = Path(path) if path is not None else shipped_templates_path()
    english = parse_templates(path.read_text(encoding="utf-8"), str(path))
    translations, problems = {}, []
    for language in TEMPLATE_LANGUAGES:
        translated = path.with_name(f"{path.stem}-{language}{path.suffix}")
        if language == "en" or not translated.exists():
            continue
        text = translated.read_text(encoding="utf-8")
        try:
            translations[language] = parse_templates(text, str(translated), language, english)
        except TemplatesError as error:
            problems += error.problems
    if problems:
        raise TemplatesError(problems)
    return ReplyTemplates(list(english), english.source, "en", translations)


def parse_templates(
    text: str,
    source: str = "<replies>",
    language: str = "en",
    english: ReplyTemplates | None = None,
) -> ReplyTemplates:
    """Validate and compile template YAML; raise ``TemplatesError`` listing every problem.

    A translation (``language`` other than "en") gives ids of ``english`` templates and no
    ``when``: it is chosen as the English template is, then shown in the writer's language.
    It needs no fallback (an untranslated template is drafted in English)."""
    try:
        root = yaml.compose(text, Loader=BoundedLoader)  # aliases cannot nest forever
        data = yaml.load(text, Loader=BoundedLoader)
    except yaml.YAMLError as error:
        mark, context = getattr(error, "problem_mark", None), getattr(error, "context_mark", None)
        message = f"not valid YAML: {getattr(error, 'problem', None) or error}"
        if context and mark and context.line != mark.line:
            message += f" ({getattr(error, 'context', '')} that starts on line {context.line + 1})"
        line = min(mark.line + 1, text.count("\n") or 1) if mark else 1  # not past the end
        raise TemplatesError([TemplateProblem(source, line, "-", "yaml", message)]) from None
    if not isinstance(data, list) or root is None:  # an empty file has no root node
        kind = type(data).__name__ if data is not None else "an empty file"
        message = f"a template file is a list of templates; found {kind}"
        raise TemplatesError([TemplateProblem(source, 1, "-", "-", message)])

    locate = _Locator(source, root, data)
    env = SandboxedEnvironment(  # no autoescape; an undefined name is an error
        autoescape=False, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    problems = [
        locate.problem(path, f"duplicate key {path[-1]!r}: the later one would silently win", line)
        for path, line in locate.duplicates
    ]
    specs: list[tuple[int, TemplateSpec]] = []
    compiled: dict[tuple[int, str], jinja2.Template] = {}
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            problems.append(locate.problem((index,), "a template is a mapping with id and text"))
            continue
        try:
            specs.append((index, TemplateSpec.model_validate(item)))
        except ValidationError as error:
            problems += _validation_problems(error, index, locate)
        for field in TEXT_FIELDS:
            if isinstance(item.get(field), str):
                body, body_problems = _compile(env, item[field], (index, field), locate)
                problems += body_problems
                if body is not None:
                    compiled[(index, field)] = body

    ids = Counter(spec.id for _, spec in specs)
    templates = []
    for index, spec in specs:
        if ids[spec.id] > 1:
            problems.append(locate.problem((index, "id"), f"duplicate template id {spec.id!r}"))
        if spec.id == "fallback" and any(dict(spec.when).values()):
            message = "the fallback must match every message: remove its 'when'"
            problems.append(locate.problem((index, "when"), message))
        when = {key: frozenset(values) for key, values in spec.when.model_dump().items()}
        if english is not None:
            problems += _translation_problems(spec, index, locate, english, language)
            base = english.get(spec.id)
            when = base.when if base else when
        if (index, "text") in compiled and (spec.x_text is None or (index, "x_text") in compiled):
            literal = spec.text + "\n" + (spec.x_text or "")
            keep = frozenset(literal[start:end] for _, start, end in find_pii(literal))
            body, x_body = compiled[(index, "text")], compiled.get((index, "x_text"))
            reply = ReplyTemplate(spec.id, when, body, x_body, keep, locate.lines[(index,)])
            problems += _try_rendering(reply, index, locate)
            templates.append(reply)
    has_fallback = any(isinstance(item, dict) and item.get("id") == "fallback" for item in data)
    if english is None and not has_fallback:
        message = "no template has the id 'fallback' (the reply when nothing else matches)"
        problems.append(TemplateProblem(source, 1, "-", "-", message))
    if problems:
        raise TemplatesError(problems)
    return ReplyTemplates(templates, source, language)


def _translation_problems(
    spec: TemplateSpec, index: int, locate: _Locator, english: ReplyTemplates, language: str
) -> list[TemplateProblem]:
    """A translation translates an English template, and takes its ``when`` from it."""
    problems = []
    if language not in LANGUAGE_NAMES or language == "en":
        message = f"{language!r} is not a language templates are translated into"
        problems.append(locate.problem((index, "id"), message))
    if english.get(spec.id) is None:
        message = f"no English template {spec.id!r} to translate: translations use its ids"
        problems.append(locate.problem((index, "id"), message))
    if any(dict(spec.when).values()):
        message = "a translation is chosen as its English template is: remove its 'when'"
        problems.append(locate.problem((index, "when"), message))
    return problems


class _Locator:
    """The line of every key, list item and line of text; problems built from data paths."""

    def __init__(self, source: str, root: yaml.Node, data: list) -> None:
        self.source, self.data = source, data
        self.scalars: dict[_Path, yaml.ScalarNode] = {}
        self.lines, self.duplicates = index_lines(root, scalars=self.scalars)

    def text_line(self, path: _Path, line_in_text: int) -> int:
        """The file line of line ``line_in_text`` (0-based) of the string at ``path``: exact
        for block scalars (``|``), the first line of the value for other styles."""
        node = self.scalars.get(path)
        if node is None:
            return self.lines.get(path, 1)
        if node.style in ("|", ">"):  # the text starts on the line after the indicator
            return node.start_mark.line + 2 + line_in_text
        return node.start_mark.line + 1

    def problem(self, path: _Path, message: str, line: int | None = None) -> TemplateProblem:
        found_line, path = locate(path, self.lines)
        template_id = "-"
        if path and isinstance(path[0], int):
            raw = self.data[path[0]].get("id") if isinstance(self.data[path[0]], dict) else None
            template_id = raw if isinstance(raw, str) and raw else f"templates[{path[0]}]"
        return TemplateProblem(
            self.source, line or found_line, template_id, field_name(path[1:]), message
        )


def _compile(
    env: SandboxedEnvironment, body: str, path: _Path, locate: _Locator
) -> tuple[jinja2.Template | None, list[TemplateProblem]]:
    """The compiled template, or None with the problems of its text."""
    problems = []
    for found in find_tone_problems(body):
        line = locate.text_line(path, body.count("\n", 0, found.start))
        problems.append(locate.problem(path, f"tone: {found}", line))
    kind = destructive_command(body)
    if kind:
        message = f"shows a destructive command ({kind}): a reply must never show one"
        problems.append(locate.problem(path, message))
    try:
        tree = env.parse(body)
    except jinja2.TemplateSyntaxError as error:
        line = locate.text_line(path, (error.lineno or 1) - 1)
        problems.append(locate.problem(path, f"Jinja syntax error: {error.message}", line))
        return None, problems
    for name in sorted(meta.find_undeclared_variables(tree) - set(VARIABLES)):
        first = min((n.lineno for n in tree.find_all(nodes.Name) if n.name == name), default=1)
        close = difflib.get_close_matches(name, VARIABLES, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        message = f"unknown variable {name!r}: {hint}templates may use {', '.join(VARIABLES)}"
        problems.append(locate.problem(path, message, locate.text_line(path, first - 1)))
    if problems:  # rendering would only repeat what the author must fix first
        return None, problems
    return env.from_string(body), problems


def _try_rendering(template: ReplyTemplate, index: int, locate: _Locator) -> list[TemplateProblem]:
    """Render each text for every channel it serves, with and without the optional values."""
    problems = []
    channels = sorted(template.when["channels"]) or list(CHANNELS)
    if template.x_text is not None and "x" not in channels:
        message = "never used: x_text is the text for X, and this template's channels exclude x"
        problems.append(locate.problem((index, "x_text"), message))
    for field in TEXT_FIELDS:
        body = getattr(template, field)
        contexts = [
            sample_context(template.when, channel, **overrides)
            for channel in (channels if field == "text" else ["x"])
            for overrides in (
                {},
                {"author": "@" + "x" * 15, "incident_url": _SAMPLE_URL, "gave": EVERYTHING},
            )
        ]
        rendered = (_render_problem(body, context, field) for context in contexts)
        problem = next(filter(None, rendered), None) if body is not None else None
        if problem:
            problems.append(locate.problem((index, field), problem))
    return problems


def _render_problem(body: jinja2.Template, context: dict, field: str) -> str | None:
    try:
        rendered = body.render(context)
    except Exception as error:  # a Jinja error, or a filter failing on the sample values
        return f"cannot be rendered ({type(error).__name__}): {error}"
    kind = destructive_command(rendered)
    if kind:
        return f"renders a destructive command ({kind}): a reply must never show one"
    length = x_weighted_length(rendered) if field == "x_text" else 0
    if length > X_LIMIT:
        return f"renders to {length} weighted characters on X, which allows {X_LIMIT}"
    return None


def _validation_problems(
    error: ValidationError, index: int, locate: _Locator
) -> list[TemplateProblem]:
    problems, seen = [], set()
    for detail in error.errors():
        path = (index, *detail["loc"])
        message = detail["msg"]
        if detail["type"] == "extra_forbidden":
            allowed = list((When if "when" in path[1:-1] else TemplateSpec).model_fields)
            close = difflib.get_close_matches(str(path[-1]), allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            message = f"unknown key {path[-1]!r}: {hint}allowed keys are {', '.join(allowed)}"
        elif detail["type"] == "missing":
            message = f"required field {path[-1]!r} is missing"
        problem = locate.problem(path, message)
        if (problem.line, problem.field) not in seen:
            seen.add((problem.line, problem.field))
            problems.append(problem)
    return problems
