"""The security headers on every answer the app gives: pages, the JSON API, webhooks,
static files and every error.

- ``Content-Security-Policy``: scripts, styles, images, fonts and fetches from this site
  only; no inline script or style (the templates have none: hark.js binds every handler,
  login.css styles the login pages), no plugins, no ``<base>``, forms post only here, and
  no page may be framed (``frame-ancestors 'none'``).
- ``X-Frame-Options: DENY`` for browsers that predate ``frame-ancestors``.
- ``X-Content-Type-Options: nosniff``: a JSON answer or an uploaded text is never run as
  script or style.
- ``Referrer-Policy: same-origin``: links out (GitHub, PagerDuty, X) carry no Hark URL.
  Not ``no-referrer``: Flask-WTF checks over HTTPS that a form's ``Referer`` is this site.

A small ``after_request`` hook rather than a library: the values are constants, and the
one library for it (flask-talisman) last shipped in 2023 and would also redirect to HTTPS
and set the session cookie's flags, which ``web.login`` already owns.
"""

from __future__ import annotations

from flask import Flask, Response

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def register_security_headers(app: Flask) -> None:
    """Add the headers to every response of ``app``, errors included."""
    app.after_request(_add_headers)


def _add_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response
