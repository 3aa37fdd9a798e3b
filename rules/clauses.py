"""How far a counter-signal to P0 reaches: its clause, unless its rule says the message.

A P0 signal (a destructive command run, data lost, a secret leaked) is undone only by a
counter-signal about the same thing: a negation, a hypothetical, a question, a quotation or a
joke in its clause. One elsewhere in the message (a feature request under a report that
``rm -rf ~`` ran) is *set aside*: the P0 stands, at low urgency. The engine scores with
what ``counters_elsewhere`` sets aside.
"""

from __future__ import annotations

import re
from bisect import bisect_right

from rules.result import FiredRule

TOP = "P0"  # the level whose signals only a counter-signal in the same clause undoes
# Where a clause ends: a period, comma or colon only before a space or the end, so that
# "~/.ssh", "v1.2" and "C:\\" stay inside their clause, and not after "e.g", "i.e" or
# "for example" (an example belongs to the clause it illustrates).
CLAUSE_END = re.compile(r"[;!?()\n]|(?<!e\.g)(?<!i\.e)(?<!for example)[,.:](?=\s|$)")


def is_model(rule: FiredRule) -> bool:
    return rule.matches[0].condition == "model" if rule.matches else False


def counters_elsewhere(
    fired: list[FiredRule], text: str, clause_counters: frozenset[str]
) -> set[str]:
    """The counter-signals to P0 that reach only their clause (``clause_counters``) and
    are set aside: all of them when some P0 signal has a clause no such counter-signal is
    in (that signal stands); otherwise those that share no clause with a P0 signal.

    Clauses are located by what a rule matched (``match[...]``), not by its requirements,
    which the explanation lists too. Only located signals count: the model's opinion is
    about the whole message, so against it every counter-signal stands."""
    counters = [r for r in fired if r.id in clause_counters]
    if not counters:
        return set()
    signals = [r for r in fired if r.weight > 0 and TOP in r.levels and not is_model(r)]
    if not signals:
        return set()
    ends = [found.start() for found in CLAUSE_END.finditer(text)]

    def clauses(rule: FiredRule) -> set[int]:
        return {
            bisect_right(ends, m.start) for m in rule.matches if m.condition.startswith("match[")
        }

    signal_clauses = set().union(*map(clauses, signals))
    countered = set().union(*map(clauses, counters))
    if signal_clauses - countered:  # a signal no counter-signal speaks to
        return {r.id for r in counters}
    return {r.id for r in counters if not clauses(r) & signal_clauses}
