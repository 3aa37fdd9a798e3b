"""The channels Hark reads: the one list, used by the rulebook, the desk and the API."""

from __future__ import annotations

from typing import Literal, get_args

Channel = Literal["x", "github", "discord", "email"]
CHANNELS: tuple[str, ...] = get_args(Channel)
