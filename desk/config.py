"""What the desk needs to queue a message: the reply templates, and which messages need no
public answer."""

from __future__ import annotations

from dataclasses import dataclass, field

from desk.drafts import ReplyTemplates


@dataclass(frozen=True)
class DeskConfig:
    replies: ReplyTemplates | None = None  # None: no reply queue
    # (channel or "*", kind) pairs that need no answer: praise on X may need only a like.
    no_reply: frozenset[tuple[str, str]] = field(
        default_factory=lambda: frozenset({("x", "praise")})
    )

    def needs_reply(self, channel: str, kind: str) -> bool:
        return (channel, kind) not in self.no_reply and ("*", kind) not in self.no_reply
