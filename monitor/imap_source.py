"""The support mailbox over IMAPS (stdlib ``imaplib``): new messages by UID into the intake.

The cursor is ``<UIDVALIDITY>:<last UID>`` in Redis and moves after each message is
enqueued; if the server's UIDVALIDITY changes, the mailbox is read again from the start and
the intake's dedup (by Message-ID) drops what was already seen. Messages are fetched with
``BODY.PEEK[]`` so Hark never marks them read for the humans using the same mailbox.
"""

from __future__ import annotations

import imaplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from monitor.mention import MentionSink
from monitor.sources.email import mention_from_email
from monitor.store import MonitorState
from monitor.x_poller import PollReport

SOURCE = "email"


@dataclass
class ImapSettings:
    host: str
    port: int
    user: str
    password: str
    mailbox: str = "INBOX"
    cafile: str | None = None  # a private CA (tests, on-premises servers); else system CAs
    timeout_s: float = 30.0


class ImapPoller:
    source = SOURCE

    def __init__(
        self,
        settings: ImapSettings,
        intake: MentionSink,
        state: MonitorState,
        clock: Callable[[], datetime],
        interval_s: float = 60.0,
        batch: int = 200,
    ) -> None:
        self.settings, self.intake, self.state = settings, intake, state
        self.clock, self.interval_s, self.batch = clock, interval_s, batch

    def poll_once(self) -> PollReport:
        report = PollReport()
        try:
            with self._connect() as imap:
                self._poll(imap, report)
        except imaplib.IMAP4.error as error:
            self._failed(
                report,
                f"IMAP refused: {_text(error)} (check HARK_IMAP_USER, "
                "HARK_IMAP_PASSWORD and HARK_IMAP_MAILBOX)",
            )
        except (TimeoutError, OSError, ssl.SSLError) as error:
            self._failed(
                report,
                f"cannot reach {self.settings.host}:{self.settings.port}: "
                f"{type(error).__name__}: {error}",
            )
        if not report.errors:
            self.state.record_success(SOURCE, self.clock(), self.interval_s)
        return report

    def _connect(self) -> imaplib.IMAP4_SSL:
        context = ssl.create_default_context(cafile=self.settings.cafile)
        imap = imaplib.IMAP4_SSL(
            self.settings.host,
            self.settings.port,
            ssl_context=context,
            timeout=self.settings.timeout_s,
        )
        imap.login(self.settings.user, self.settings.password)
        return imap

    def _poll(self, imap: imaplib.IMAP4_SSL, report: PollReport) -> None:
        status, _ = imap.select(self.settings.mailbox, readonly=True)
        if status != "OK":
            raise imaplib.IMAP4.error(f"cannot open mailbox {self.settings.mailbox!r}")
        _, values = imap.response("UIDVALIDITY")
        validity = values[0].decode() if values and values[0] else "0"
        feed = f"email:{self.settings.mailbox}"
        saved_validity, _, saved_uid = (self.state.cursor(feed) or "").partition(":")
        last_uid = int(saved_uid) if saved_validity == validity and saved_uid else 0
        status, data = imap.uid("SEARCH", f"UID {last_uid + 1}:*")
        uids = sorted(int(uid) for uid in (data[0] or b"").split() if int(uid) > last_uid)
        for uid in uids[: self.batch]:
            status, parts = imap.uid("FETCH", str(uid), "(BODY.PEEK[])")
            raw = next((part[1] for part in parts if isinstance(part, tuple)), None)
            if status != "OK" or raw is None:
                raise imaplib.IMAP4.error(f"cannot fetch UID {uid}")
            mention = mention_from_email(raw, f"uid-{validity}-{uid}", self.clock())
            if self.intake.submit(mention):
                report.submitted += 1
            else:
                report.duplicates += 1
            self.state.save_cursor(feed, f"{validity}:{uid}")  # only after the enqueue

    def _failed(self, report: PollReport, message: str) -> None:
        report.errors.append(message)
        self.state.record_error(SOURCE, self.clock(), self.interval_s, message)


def _text(error: Exception) -> str:
    message = error.args[0] if error.args else error
    return message.decode(errors="replace") if isinstance(message, bytes) else str(message)
