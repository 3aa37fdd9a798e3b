"""Types for the ``hark`` commands' numeric options: a port is 1-65535, and a number of
seconds or a speed is finite and within a range that cannot overflow a clock (click's
FloatRange lets ``nan`` through, and ``inf`` where there is no maximum)."""

from __future__ import annotations

import math

import click

PORT = click.IntRange(1, 65_535)


class FiniteRange(click.FloatRange):
    name = "finite number range"

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number
