"""``make bench``: classify throughput against the naive baseline and the automaton floor.

Prints messages per second for each, and the ratios the goals are stated in:
engine / naive >= 10 and floor / engine <= 3 at 1,000 rules, and throughput at 1,000
rules >= half of that at the shipped rulebook's size.
"""

from __future__ import annotations

import argparse
import random
import time

from bench.references import NaiveClassifier, floor_automaton, floor_pass
from bench.workload import generated_rulebook, message_mix
from hark.rulebook_files import read_rulebook, shipped_rulebook_path
from rules import Engine, normalize, parse_rulebook
from rules.normalize import normalize_reference


def _rate(count: int, run, repeat: int = 3) -> float:
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


def _reference_all(engine: Engine, mix: list[tuple[str, str]]) -> None:
    for text, channel in mix:  # the same work in Python: what the C fast path replaces
        engine.classify_reference(normalize_reference(text), channel)


def _naive_all(naive: NaiveClassifier, sample: list[tuple[str, str]]) -> None:
    for text, _ in sample:
        naive.fired(text)


def measure(engine: Engine, mix: list[tuple[str, str]], naive_sample: int) -> dict[str, float]:
    texts = [text for text, _ in mix]
    sample = random.Random(3).sample(mix, naive_sample)
    naive = NaiveClassifier(engine.rulebook)
    automaton = floor_automaton(engine.rulebook)
    return {
        "engine": _rate(len(mix), lambda: _classify_all(engine, mix)),
        "python": _rate(len(mix), lambda: _reference_all(engine, mix), repeat=1),
        "naive": _rate(len(sample), lambda: _naive_all(naive, sample), repeat=1),
        "floor": _rate(len(texts), lambda: floor_pass(automaton, texts)),
    }


def stages(engine: Engine, mix: list[tuple[str, str]]) -> dict[str, float]:
    """Microseconds a message for the stages that can be timed apart from the C core."""
    encoded = [normalize(text).encode() for text, _ in mix]
    regex_pass = engine._regex_hits.set.matching if engine._regex_hits else bytes
    per_message = {
        "normalization": _rate(len(mix), lambda: [normalize(text) for text, _ in mix]),
        "regex set pass": _rate(len(mix), lambda: [regex_pass(text) for text in encoded]),
        "whole classification": _rate(len(mix), lambda: _classify_all(engine, mix)),
    }
    return {stage: 1e6 / rate for stage, rate in per_message.items()}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--messages", type=int, default=100_000)
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
        f"on average; naive baseline on a random sample of {args.naive_sample:,}"
    )
    engines = {
        "shipped": read_rulebook(shipped_rulebook_path()),
        "generated-1000": Engine(parse_rulebook(generated_rulebook(1000), "<generated>")),
    }
    fast = all(engine._core is not None for engine in engines.values())
    print("engine: the C fast path" if fast else "engine: the Python path (no C extension)")
    print("python: the same classification by the engine's Python reference path")
    results = {}
    for name, engine in engines.items():
        rates = measure(engine, mix, args.naive_sample)
        results[name] = rates
        rules = len(engine.rulebook.rules)
        fired = sum(len(engine.classify(t, c).rules) for t, c in mix[:5000]) / min(len(mix), 5000)
        print(f"\n{name} ({rules} rules, {fired:.1f} fire per message), messages per second:")
        for label, rate in rates.items():
            print(f"  {label:<8}{rate:>12,.0f}")
        speedup, gap = rates["engine"] / rates["naive"], rates["floor"] / rates["engine"]
        print(f"  engine / naive  {speedup:8.1f}x   (goal >= 10x at 1,000 rules)")
        print(f"  floor / engine  {gap:8.2f}x   (goal <= 3x at 1,000 rules)")
    ratio = results["generated-1000"]["engine"] / results["shipped"]["engine"]
    print(f"\nthroughput at 1,000 rules / at the shipped size: {ratio:.2f}   (goal >= 0.5)")
    print("\nat 1,000 rules, microseconds a message:")
    for stage, micros in stages(engines["generated-1000"], mix).items():
        print(f"  {stage:<22}{micros:6.2f}")


if __name__ == "__main__":
    main()
