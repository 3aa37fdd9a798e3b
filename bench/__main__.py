"""``make bench``: classify throughput against the naive baseline, in the same run.

Prints messages per second of the engine (one thread, so one core), of the naive baseline
and, as information only, of the automaton floor, for the shipped rulebook and a generated
1,000-rule one; then the ratios the goals are stated in: at least 14,000 messages a second
on the shipped rulebook, engine / naive >= 10 at 1,000 rules, and throughput at 1,000 rules
at least half that at the shipped rulebook's size.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from typing import Any

from bench.references import NaiveClassifier, floor_automaton, floor_pass
from bench.workload import generated_rulebook, message_mix
from hark.rulebook_files import read_rulebook, shipped_rulebook_path
from rules import Engine, normalize, parse_rulebook
from rules.evaluation import rules_only

SHIPPED_GOAL = 14_000  # messages a second on one core, shipped rulebook, this mix
WITH_MODEL_GOAL = 5_000  # the same with the learned second opinion, batching allowed
BATCH = 256  # what ``hark classify`` batches from a file
MEGABYTE_GOAL_MS = 100


def _rate(count: int, run: Callable[[], object], repeat: int) -> float:
    """Messages per second, best of ``repeat`` runs (the least disturbed by the machine)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return count / best


def _classify_all(engine: Engine, mix: list[tuple[str, str]]) -> None:
    for text, channel in mix:  # results are dropped, as a worker stores and forgets them
        engine.classify(text, channel)


def _classify_batched(engine: Engine, mix: list[tuple[str, str]]) -> None:
    for start in range(0, len(mix), BATCH):
        engine.classify_batch(list(mix[start : start + BATCH]))


def with_model(engine: Engine, mix: list[tuple[str, str]], repeat: int) -> None:
    """The shipped rulebook with its second opinion: batched and one at a time, beside the
    rules alone, and one 1 MB message (the model reads only the start of a text)."""
    if not engine.rulebook.model_rules():
        print("\nthe shipped rulebook asks no model: no second-opinion figures")
        return
    sample = mix[: max(len(mix) // 5, BATCH)]
    plain = rules_only(engine)
    rates = {
        "rules only": _rate(len(sample), lambda: _classify_all(plain, sample), repeat),
        f"rules + model, batches of {BATCH}": _rate(
            len(sample), lambda: _classify_batched(engine, sample), repeat
        ),
        "rules + model, one at a time": _rate(
            len(sample), lambda: _classify_all(engine, sample), repeat
        ),
    }
    print(f"\nshipped rulebook with its model, {len(sample):,} messages, messages per second:")
    for label, rate in rates.items():
        print(f"  {label:<34}{rate:>10,.0f}")
    print(f"  (goal >= {WITH_MODEL_GOAL:,} with the model, batching allowed)")
    line = "caro crashed and deleted my files, please help " * 30
    megabyte = (line * (1_000_000 // len(line) + 1))[:1_000_000]
    seconds = 1 / _rate(1, lambda: engine.classify(megabyte, "github"), repeat)
    print(f"  one 1 MB message: {seconds * 1000:,.0f} ms   (goal < {MEGABYTE_GOAL_MS} ms)")


def _naive_all(naive: NaiveClassifier, sample: list[tuple[str, str]]) -> None:
    for text, _ in sample:
        naive.fired(text)


def measure(
    engine: Engine, mix: list[tuple[str, str]], naive_sample: int, repeat: int
) -> dict[str, float]:
    texts = [text for text, _ in mix]
    sample = random.Random(3).sample(mix, naive_sample)
    naive = NaiveClassifier(engine.rulebook)
    automaton = floor_automaton(engine.rulebook)
    return {
        "engine": _rate(len(mix), lambda: _classify_all(engine, mix), repeat),
        "naive": _rate(len(sample), lambda: _naive_all(naive, sample), repeat=1),
        "floor": _rate(len(texts), lambda: floor_pass(automaton, texts), repeat),
    }


def _each(step: Callable[[Any], object], items: list[Any]) -> Callable[[], None]:
    """A run of ``step`` over ``items`` that keeps no result: a growing list of results
    would make the garbage collector's passes, not the stage, the thing measured."""

    def run() -> None:
        for item in items:
            step(item)

    return run


def stages(engine: Engine, mix: list[tuple[str, str]], repeat: int) -> dict[str, float]:
    """Microseconds a message for the stages that can be timed on their own."""
    texts = [text for text, _ in mix]
    normalized = [normalize(text) for text in texts]
    per_message = {
        "normalization": _each(normalize, texts),
        "hits, all": _each(lambda text: engine._hits(text, frozenset()), normalized),
    }
    if (regexes := engine._regexes) is not None:
        per_message["  hits of regexes"] = _each(
            lambda text: regexes.add_hits(text, [], set()), normalized
        )
        encoded = [text.encode() for text in normalized]
        per_message["    RE2 set pass"] = _each(regexes.set.matching, encoded)
    per_message["whole classification"] = lambda: _classify_all(engine, mix)
    return {stage: 1e6 / _rate(len(mix), run, repeat) for stage, run in per_message.items()}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5, help="runs of each; the best counts")
    parser.add_argument(
        "--naive-sample",
        type=int,
        default=3_000,
        help="messages the (slow) naive baseline classifies; a random sample",
    )
    args = parser.parse_args()
    mix = message_mix(args.messages)
    print(
        f"workload: {len(mix):,} messages, {sum(len(t) for t, _ in mix) / len(mix):.0f} chars "
        f"on average; best of {args.repeat} runs; naive baseline once, on a random sample "
        f"of {args.naive_sample:,}; floor: one automaton pass over the raw texts, no more"
    )
    shipped_engine = read_rulebook(shipped_rulebook_path())
    engines = {  # the rules alone: the second opinion is measured on its own below
        "shipped": rules_only(shipped_engine),
        "generated-1000": Engine(parse_rulebook(generated_rulebook(1000), "<generated>")),
    }
    results = {}
    for name, engine in engines.items():
        rates = measure(engine, mix, args.naive_sample, args.repeat)
        results[name] = rates
        rules = len(engine.rulebook.rules)
        fired = sum(len(engine.classify(t, c).rules) for t, c in mix[:5000]) / min(len(mix), 5000)
        print(f"\n{name} ({rules} rules, {fired:.1f} fire per message), messages per second:")
        for label, rate in rates.items():
            print(f"  {label:<8}{rate:>12,.0f}")
        print(f"  engine / naive  {rates['engine'] / rates['naive']:8.1f}x", end="")
        print("   (goal >= 10x at 1,000 rules)" if name != "shipped" else "")
    with_model(shipped_engine, mix, args.repeat)
    shipped = results["shipped"]["engine"]
    print(f"\nshipped rulebook: {shipped:,.0f} messages/s   (goal >= {SHIPPED_GOAL:,})")
    ratio = results["generated-1000"]["engine"] / shipped
    print(f"throughput at 1,000 rules / at the shipped size: {ratio:.2f}   (goal >= 0.5)")
    for name, engine in engines.items():
        print(f"\n{name}, microseconds a message:")
        for stage, micros in stages(engine, mix, args.repeat).items():
            print(f"  {stage:<22}{micros:6.2f}")


if __name__ == "__main__":
    main()
