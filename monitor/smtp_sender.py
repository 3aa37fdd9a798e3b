"""Sends mail through the support mailbox's SMTP server; the one module that talks SMTP.

The connection is always encrypted and the server's certificate checked (``starttls`` on the
submission port, or ``tls`` from the first byte), except ``none``, which is refused for
any host but a loopback one (a test server on the same machine). A server that does not
offer STARTTLS is an error, never a silent fall back to plain text. Failures are sorted
for the caller: ``SmtpUnavailable`` may pass on a later try (the network, a 4xx answer),
``SmtpRejected`` will not (a 5xx answer, a refused login).
"""

from __future__ import annotations

import ipaddress
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal

TlsMode = Literal["starttls", "tls", "none"]
SMTP_TIMEOUT_S = 10.0
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


class SmtpSettingsError(ValueError):
    """The SMTP settings cannot work; the message names the variable to change."""


class SmtpUnavailable(RuntimeError):
    """Sending failed in a way a later try may not (retry it)."""


class SmtpRejected(RuntimeError):
    """The server refused the message or the login: trying again will not help."""


def is_loopback(host: str) -> bool:
    name = host.strip().strip("[]").lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    tls: TlsMode = "starttls"
    user: str | None = None
    password: str | None = None
    cafile: str | None = None  # a private CA; the system's trust store otherwise

    def __post_init__(self) -> None:
        if self.tls == "none" and not is_loopback(self.host):
            raise SmtpSettingsError(
                f"HARK_SMTP_TLS=none sends mail, and the login, in clear text: it is allowed "
                f"only for a loopback host (localhost, 127.0.0.1, ::1), not {self.host!r}; "
                "use starttls (port 587) or tls (port 465)"
            )
        if self.tls not in ("starttls", "tls", "none"):
            raise SmtpSettingsError(f"HARK_SMTP_TLS: {self.tls!r} is not starttls, tls or none")
        if self.password and not self.user:
            raise SmtpSettingsError("HARK_SMTP_PASSWORD is set without HARK_SMTP_USER")


class SmtpSender:
    """Sends one message per call over a fresh connection (a confirmation is rare; a kept
    connection would go stale between them)."""

    def __init__(self, settings: SmtpSettings, timeout_s: float = SMTP_TIMEOUT_S) -> None:
        self.settings = settings
        self.timeout_s = timeout_s

    def send(self, message: EmailMessage) -> None:
        """Hand ``message`` to the server, envelope sender ``settings.sender``; raises
        ``SmtpUnavailable`` or ``SmtpRejected``."""
        try:
            with self._connect() as smtp:
                if self.settings.user:
                    smtp.login(self.settings.user, self.settings.password or "")
                smtp.send_message(message, from_addr=self.settings.sender)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            if codes and all(400 <= code < 500 for code in codes):
                raise SmtpUnavailable(f"recipient deferred ({codes[0]})") from None
            raise SmtpRejected(f"recipient refused ({codes[0] if codes else '?'})") from None
        except smtplib.SMTPAuthenticationError as error:
            raise SmtpRejected(
                f"login refused ({error.smtp_code}): check HARK_SMTP_USER and HARK_SMTP_PASSWORD"
            ) from None
        except smtplib.SMTPNotSupportedError as error:
            raise SmtpRejected(f"the server does not support it: {error}") from None
        except smtplib.SMTPResponseException as error:
            kind = SmtpUnavailable if 400 <= error.smtp_code < 500 else SmtpRejected
            raise kind(f"the server answered {error.smtp_code}") from None
        except ssl.SSLCertVerificationError as error:
            raise SmtpRejected(
                f"the server's certificate does not verify ({error.verify_message}): "
                "HARK_SMTP_HOST must name the host its certificate is for"
            ) from None
        except (smtplib.SMTPException, ssl.SSLError, OSError) as error:
            raise SmtpUnavailable(f"{type(error).__name__}: {error}") from None

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        if settings.tls == "tls":
            return smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=self.timeout_s, context=self._context()
            )
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=self.timeout_s)
        try:
            if settings.tls == "starttls":
                smtp.ehlo()
                if not smtp.has_extn("starttls"):
                    raise smtplib.SMTPNotSupportedError(
                        "no STARTTLS offered (HARK_SMTP_TLS=starttls): mail is not sent in "
                        "clear text"
                    )
                smtp.starttls(context=self._context())
                smtp.ehlo()
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _context(self) -> ssl.SSLContext:
        """Certificate and host name checked (``create_default_context``)."""
        return ssl.create_default_context(cafile=self.settings.cafile)
