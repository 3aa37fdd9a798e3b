"""``hark rules check | explain | test``: work on rulebooks like code."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import click

from hark.cli_errors import fail, say_error
from hark.corpus import CorpusError, LabelledMessage, read_corpus
from hark.rulebook_files import RulebookNotFound, read_rulebook, shipped_rulebook_path
from hark.settings import Settings
from rules import Engine, RulebookError, Triage
from rules.evaluation import Evaluation, Judge, Outcome, judges
from rules.schema import LEVELS
from vocabulary.channels import CHANNELS

CHANNEL_CHOICE = click.Choice(CHANNELS)
rules_option = click.option(
    "--rules",
    "rules_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Rulebook to use (default: $HARK_RULES, else the shipped rulebook).",
)


def default_rules_path() -> Path:
    configured = Settings().rules
    return Path(configured) if configured else shipped_rulebook_path()


def load_engine(path: Path | None) -> Engine:
    """The engine for a CLI command; a bad rulebook exits 2 with every problem listed (and,
    when the rulebook came from HARK_RULES, that variable named)."""
    try:
        return read_rulebook(path or default_rules_path())
    except RulebookNotFound as error:
        fail(error.briefly if path else str(error))
    except RulebookError as error:
        if path is None and Settings().rules:
            say_error("the rulebook HARK_RULES names does not load:")
        click.echo(str(error), err=True)
        sys.exit(2)


@click.group()
def rules() -> None:
    """Check, explain and test rulebooks."""


@rules.command()
@click.argument("paths", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@rules_option
def check(paths: tuple[Path, ...], rules_path: Path | None) -> None:
    """Validate rulebooks (PATHs, or --rules, or the default); print each problem as
    path:line: rule-id: field: message."""
    failed = False
    chosen = (*paths, *([rules_path] if rules_path else []))
    for path in chosen or (default_rules_path(),):
        try:
            engine = read_rulebook(path)
        except RulebookNotFound as error:
            failed = True
            click.echo(error.briefly if chosen else str(error))
            continue
        except RulebookError as error:
            failed = True
            click.echo(str(error))
            continue
        click.echo(f"{path}: ok, {len(engine.rulebook.rules)} rules")
    sys.exit(2 if failed else 0)


@rules.command()
@click.argument("text")
@click.option(
    "--channel", type=CHANNEL_CHOICE, default=None, help="The channel the text came from."
)
@click.option("--json", "as_json", is_flag=True, help="Print the triage as JSON.")
@rules_option
def explain(text: str, channel: str | None, as_json: bool, rules_path: Path | None) -> None:
    """Show the priority of TEXT and every rule that fired, with what it matched."""
    engine = load_engine(rules_path)
    triage = engine.classify(text, channel)
    if as_json:
        click.echo(json.dumps(triage.to_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(format_explanation(engine, triage, text))


def format_explanation(engine: Engine, triage: Triage, text: str = "") -> str:
    level = engine.rulebook.priorities[triage.priority]
    urgency = f" at {triage.urgency} urgency" if triage.urgency else ""
    lines = [
        f"{triage.priority} ({level.label})  category: {triage.category}  kind: {triage.kind}"
        f"  score: {triage.score:g}" + (f"  pages the on-call{urgency}" if triage.pages else ""),
        "scores: "
        + "  ".join(f"{name} {value:g}" for name, value in triage.scores.items())
        + f"  (threshold {engine.rulebook.threshold:g})",
    ]
    if not triage.rules:
        lines.append(f"no rule fired: the default priority {triage.priority} applies")
    for rule in triage.rules:
        lines.append(f"  {rule.weight:+g} {','.join(rule.levels):<9} {rule.id}: {rule.description}")
        for match in rule.matches:
            lines.append(
                f"      {match.condition} {match.pattern!r} matched {match.text!r}"
                f" at {match.start}-{match.end}"
            )
    for rule_id in triage.set_aside:
        lines.append(
            f"  set aside for P0: {rule_id} (a counter-signal in another clause than every"
            " P0 signal: it lowers the urgency, not the priority)"
        )
    if triage.model is not None:
        lines += _model_lines(engine, triage.model, text)
    return "\n".join(lines)


def _model_lines(engine: Engine, model: dict[str, float], text: str) -> list[str]:
    """The second opinion: each priority's probability, and for the most probable one
    (and P0, if it is not that) the n-grams of the text that moved it most."""
    lines = ["model: " + "  ".join(f"{level} {model.get(level, 0.0):.2f}" for level in LEVELS)]
    top = max(LEVELS, key=lambda level: model.get(level, 0.0))
    if engine.second_opinion is None or not text:
        return lines
    for level in dict.fromkeys((top, "P0")):
        moved = engine.second_opinion.reasons(text, level, 8)
        shown = ", ".join(f"{ngram!r} {weight:+.2f}" for ngram, weight in moved)
        lines.append(f"  moved {level}: {shown or '(nothing in this text)'}")
    return lines


@rules.command()
@click.argument(
    "corpora", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@rules_option
def test(corpora: tuple[Path, ...], as_json: bool, rules_path: Path | None) -> None:
    """Score labelled corpora; exit 1 when a P0 is missed.

    Each line of a corpus is a JSON object with text, priority and optionally id,
    channel and category.
    """
    engine = load_engine(rules_path)
    ways = judges(engine)
    reports: dict[str, dict[str, Evaluation]] = {}
    for corpus in corpora:
        try:
            rows = list(read_corpus(corpus))
        except CorpusError as error:
            say_error(f"{error}")
            sys.exit(2)
        if not rows:
            say_error(f"{corpus}: no labelled messages in it")
            sys.exit(2)
        reports[str(corpus)] = {name: evaluate(judge, rows) for name, judge in ways.items()}
    trained = {str(corpus) for corpus in corpora if trained_on(engine, corpus)}
    if as_json:
        click.echo(json.dumps(_json_report(reports, trained), indent=2, ensure_ascii=False))
    else:
        for name, by_judge in reports.items():
            click.echo(format_report(name, by_judge["combined"]))
            if len(by_judge) > 1:
                click.echo(format_judges(by_judge))
            if name in trained:
                click.echo(TRAINED_NOTE)
    missed = any(by_judge["combined"].missed_p0() for by_judge in reports.values())
    sys.exit(1 if missed else 0)


TRAINED_NOTE = (
    "note: the model was trained on this corpus: its model-only and combined figures are"
    " training figures, not a measure (`hark model evaluate` cross-validates)"
)


def trained_on(engine: Engine, corpus: Path) -> bool:
    """Whether ``engine``'s model was trained on this very file (by content)."""
    training = getattr(engine.second_opinion, "training", None)  # a TriageModel's record
    if training is None:
        return False
    digest = hashlib.sha256(corpus.read_bytes()).hexdigest()
    return any(trained.sha256 == digest for trained in training.corpora)


def _json_report(reports: dict[str, dict[str, Evaluation]], trained: set[str]) -> dict:
    """Per corpus: the combined judgement's full report, each way's headline figures and
    per-priority precision and recall under ``by_judge``, and whether the model was
    trained on it (``model_trained_on_it``: then its figures are not a measure)."""
    return {
        name: by_judge["combined"].to_dict()
        | {"model_trained_on_it": name in trained}
        | {
            "by_judge": {
                way: ev.headline() | {"per_priority": ev.per_level()}
                for way, ev in by_judge.items()
            }
        }
        for name, by_judge in reports.items()
    }


def evaluate(judge: Judge, rows: list[LabelledMessage]) -> Evaluation:
    evaluation = Evaluation()
    for row in rows:
        verdict = judge(row.text, row.channel)
        evaluation.add(
            Outcome(
                row.id,
                row.priority,
                verdict.priority,
                row.category,
                verdict.category,
                verdict.rules,
                row.text,
                verdict.urgency,
            )
        )
    return evaluation


def format_judges(by_judge: dict[str, Evaluation]) -> str:
    """One line per way of judging: P0 caught (either urgency), high-urgency P0
    precision, exact accuracy, and each priority's precision/recall."""

    def figure(value: float | int | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    lines = ["judged three ways (P0 caught at either urgency; precision of high-urgency P0s)"]
    lines.append(
        f"  {'':<12}{'P0 caught':>10}{'high prec':>10}{'low':>5}{'exact':>7}  "
        + "  ".join(f"{level} p/r" for level in LEVELS)
    )
    for way, ev in by_judge.items():
        per = ev.per_level()
        lines.append(
            f"  {way:<12}{figure(ev.p0_caught()):>10}{figure(ev.high_urgency_precision()):>10}"
            f"{ev.low_urgency():>5}{ev.accuracy():>7.3f}  "
            + "  ".join(
                f"{figure(per[level]['precision'])}/{figure(per[level]['recall'])}"
                for level in LEVELS
            )
        )
    return "\n".join(lines)


def format_report(name: str, evaluation: Evaluation) -> str:
    lines = [
        f"{name}: {evaluation.total} messages, exact priority accuracy {evaluation.accuracy():.1%}"
    ]
    category = evaluation.category_accuracy()
    if category is not None:
        lines.append(f"category accuracy {category:.1%}")
    lines.append("confusion (rows: expected, columns: predicted)")
    lines.append("        " + "".join(f"{level:>6}" for level in LEVELS))
    for expected, row in evaluation.confusion().items():
        lines.append(f"  {expected:<6}" + "".join(f"{row[level]:>6}" for level in LEVELS))
    lines.append("priority  precision  recall  support")
    for level, stats in evaluation.per_level().items():
        precision = "-" if stats["precision"] is None else f"{stats['precision']:.2f}"
        recall = "-" if stats["recall"] is None else f"{stats['recall']:.2f}"
        lines.append(f"  {level:<8}{precision:>9}{recall:>8}{stats['support']:>9}")
    misses = evaluation.misses()
    if misses:
        lines.append(f"misses ({len(misses)}):")
        for miss in misses:
            flag = "  MISSED P0" if miss.expected == "P0" else ""
            snippet = " ".join(miss.text.split())[:70]
            lines.append(
                f"  {miss.id}: expected {miss.expected}, got {miss.predicted}{flag}"
                f"  [{', '.join(miss.rules) or 'no rule'}]  {snippet}"
            )
    return "\n".join(lines)
