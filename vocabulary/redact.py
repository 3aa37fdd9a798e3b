"""Redaction of personal data and secrets: e-mail addresses (also full-width or spelled out),
API keys and tokens (also prefix-less random keys), card numbers, IBANs, phone numbers, IP
addresses and the user name in home-directory paths become typed placeholders.

Hark quotes what people wrote in PagerDuty incidents, in its logs and in public replies, and none
of those may carry PII or a credential someone pasted by mistake. Everything bound for them goes
through ``redact`` first. It lives in ``vocabulary/``, beside the channel list, because every
package that sends text out shares it; it is pure (standard library ``re`` only, no I/O, nothing
done at import beyond compiling patterns).

Design, in short:

* Each kind of data has its own pattern; ``find_pii`` runs them all and merges overlapping
  matches into one span labelled by the earliest (then longest) match, so no fragment of a losing
  match survives and the output is never garbled.
* Patterns are linear: every one starts at a boundary fixed by a one-character lookbehind, runs
  are possessive, and the few nested repetitions are delimited (each repetition starts with a
  character the previous one cannot contain), so no input makes them backtrack catastrophically.
* Where a shape alone is ambiguous a small check confirms it (digit counts for phone numbers, the
  group structure of IPv6 addresses, a secret-looking name before ``=``).
* Placeholders contain no digit, ``@``, slash or quote, and no pattern matches one, so a second
  run finds nothing new: ``redact(redact(x)) == redact(x)``. Because a placeholder can change a
  neighbour's context (a key glued to a phone number becomes visible once the number is gone),
  ``redact`` repeats until nothing is left to find, which is one extra pass when there was PII.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

__all__ = ["PLACEHOLDERS", "find_pii", "redact"]

PLACEHOLDERS: dict[str, str] = {
    "secret": "[secret]",
    "email": "[email]",
    "card": "[card]",
    "iban": "[iban]",
    "phone": "[phone]",
    "ip": "[ip]",
    "user": "[user]",
}
# Same start and end: the first kind listed wins.
_PRIORITY = {kind: rank for rank, kind in enumerate(PLACEHOLDERS)}
_MAX_PASSES = 8

_PH = (
    r"\[(?:secret|email|card|iban|phone|ip|user)\]"  # an existing placeholder: never redacted again
)

# ---------------------------------------------------------------------------------------------
# Secrets
# ---------------------------------------------------------------------------------------------

# Tokens recognisable by their prefix. The lookbehind keeps "xghp_..." out; a hyphen before
# one ("id-ghp_...") does not hide it.
_KEYS = re.compile(
    r"(?<![A-Za-z0-9_])(?:"
    r"sk-[A-Za-z0-9_-]{16,}+"  # OpenAI sk-..., sk-proj-..., Anthropic sk-ant-...
    r"|[sr]k_(?:live|test)_[A-Za-z0-9]{16,}+"  # Stripe secret and restricted keys
    r"|gh[pousr]_[A-Za-z0-9]{20,}+"  # GitHub ghp_, gho_, ghu_, ghs_, ghr_
    r"|github_pat_[A-Za-z0-9_]{20,}+"  # GitHub fine-grained personal access tokens
    r"|(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])"  # AWS access key ids
    r"|xox[abprs]-[A-Za-z0-9-]{10,}+"  # Slack bot, user, app, refresh, session tokens
    r"|xapp-[A-Za-z0-9-]{10,}+"  # Slack app-level tokens
    r"|hf_[A-Za-z0-9]{30,}+"  # Hugging Face
    r"|glpat-[A-Za-z0-9_-]{20,}+"  # GitLab
    r"|npm_[A-Za-z0-9]{36}"  # npm
    r"|AIza[A-Za-z0-9_-]{35}"  # Google API keys
    r"|eyJ[A-Za-z0-9_-]{8,}+\.[A-Za-z0-9_-]{8,}+\.[A-Za-z0-9_-]*+"  # JSON Web Tokens
    r"|-----BEGIN[A-Z ]{0,40}PRIVATE KEY-----(?:[^-]|-(?!----END))*+"
    r"(?:-----END[A-Z ]{0,40}PRIVATE KEY-----)?"  # PEM private keys, to the END line if any
    r")"
)

# A bare (unquoted) value: up to whitespace, a quote, or a separator of URL queries and shell
# commands; trailing sentence punctuation is left out.
_BARE = r"[^\s\"'`&,;<>]*[^\s\"'`&,;<>.!?:)\]}]"
# A value that looks like a secret rather than a word: has a digit or symbol, or is long.
_SECRETISH = r"(?=[^\s\"'`&,;<>]*?[0-9_~+/=$%*#^|@\\-]|[^\s\"'`&,;<>]{16})"


def _value(names: tuple[str, str, str], *, secretish: bool) -> str:
    """A value: double-quoted, single-quoted or bare, never an existing placeholder.

    Quoted values are always redacted; a bare one, when ``secretish``, only if it looks like a
    secret (so "API key: check the docs" keeps its words)."""
    dq, sq, bare = names
    check = _SECRETISH if secretish else ""
    return (
        rf"(?:\"(?!{_PH}\")(?P<{dq}>[^\"\r\n]++)\""
        rf"|'(?!{_PH}')(?P<{sq}>[^'\r\n]++)'"
        rf"|[\"']?(?!{_PH}){check}(?P<{bare}>{_BARE}))"
    )


# name=value, name: value, "name": "value", name => value, and command-line flags
# (--password hunter2). Only names and separators are matched here; _named_values checks the
# name and then reads the value, so the work stays linear even for "token=token=token=...".
_ASSIGN = re.compile(
    r"(?<![A-Za-z0-9_.$-])(?P<name>[A-Za-z0-9_.-]++)[\"']?[ \t]*+(?P<sep>=>?|:)[ \t]*+"
)
_FLAG = re.compile(r"(?<![A-Za-z0-9_-])--?(?P<name>[A-Za-z0-9_-]++)[ \t]++(?!-)")
_VALUE = re.compile(_value(("v1", "v2", "v3"), secretish=False))
_SECRETISH_VALUE = re.compile(_value(("v1", "v2", "v3"), secretish=True))

_SCHEME_ONE = r"(?:bearer|basic|token|bot|apikey|api-key|key|negotiate|ntlm|dpop|jwt|sso-key)"
_SCHEME_REST = r"(?:digest|aws4-hmac-sha256|hmac-sha256|hmac|oauth|signature|sharedkey)"
# Authorization headers: "Bearer x" keeps its scheme; parameter schemes (Digest, AWS4, OAuth)
# lose the rest of the line; a value without a scheme must look like a secret.
_AUTH = re.compile(
    r"(?<![A-Za-z0-9_-])(?:proxy-)?authorization[\"']?[ \t]*+[:=][ \t]*+[\"']?(?:"
    rf"{_SCHEME_ONE}[ \t]++(?!{_PH})(?P<v1>[^\s\"'`,;]++)"
    rf"|{_SCHEME_REST}[ \t]++(?!{_PH})(?P<v2>[^\r\n]*[^\s\"'`])"
    rf"|(?!(?:{_SCHEME_ONE}|{_SCHEME_REST})\b)(?!{_PH}){_SECRETISH}(?P<v3>{_BARE})"
    r")",
    re.IGNORECASE,
)

# "Bearer <token>" anywhere; the token needs a digit or symbol, or 20 letters, so that
# "bearer tokens are..." is left alone.
_BEARER = re.compile(
    rf"(?<![A-Za-z0-9_-])bearer[ \t]++(?!{_PH})"
    r"(?=[A-Za-z]*+[0-9_~+/=-]|[A-Za-z]*+\.[A-Za-z0-9_~+/-]|[A-Za-z]{20})"
    r"(?P<v1>[A-Za-z0-9._~+/-]++=*+)",
    re.IGNORECASE,
)

# scheme://user:password@host, and scheme://:password@host (Redis URLs have no user)
_USERINFO = re.compile(r"(?<=://)(?P<v1>[^\s/:@\[\]]*+:[^\s/@]++)(?=@)")

# Keys with no telltale prefix (an AWS secret access key, an Azure account key): a run of 30 or
# more base64 characters mixing upper case, lower case and digits, checked by _random_key for
# the spread of characters random bytes have (camelCase names and hex digests do not pass).
_BARE_KEY = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{30,}+={0,2}(?![A-Za-z0-9+/=_-])")

# Cookie and Set-Cookie headers carry sessions: the rest of the line (or quoted header) goes.
_COOKIE = re.compile(
    rf"(?<![A-Za-z0-9_-])(?:set-)?cookie[\"']?[ \t]*+:[ \t]*+(?!{_PH}){_SECRETISH}"
    r"(?P<v1>[^\r\n\"'`]*[^\s\"'`])",
    re.IGNORECASE,
)

# Assignment names. Names with no lowercase letter are environment variables and count when
# they contain a keyword anywhere (MAX_TOKENS, OPENAI_API_KEY); other names need the keyword as
# a whole segment, split at _ - . or a camelCase hump (api_key, accessToken, not monkey).
_ENV_KEYWORD = re.compile(
    r"KEY|TOKEN|SECRET|PASSW(?:OR)?D|PASSWORT|KENNWORT|PASSPHRASE|CREDENTIAL|SIGNATURE"
    r"|(?<![A-Z])(?:PASS|SIG)(?![A-Z])"  # DB_PASS, X_SIG; not BYPASS, SIGTERM
)
_SEGMENT_KEYWORD = (
    r"(?:(?<![A-Za-z])|(?<=[a-z])(?=[A-Z]))"
    r"(?i:apikey|key|token|secret|passw(?:or)?d|passwort|kennwort|passphrase|pass|pwd"
    r"|credentials?|signature|sig)"
    r"(?![a-z])"
)
_NAME_KEYWORD = re.compile(_SEGMENT_KEYWORD)
_FLAG_KEYWORD = re.compile(_SEGMENT_KEYWORD + r"\Z")

# ---------------------------------------------------------------------------------------------
# E-mail addresses
# ---------------------------------------------------------------------------------------------

# Scripts that do not put spaces between words: their letters are kept out of addresses, so
# that "メールはa@b.comです" loses the address and nothing around it.
_UNSPACED = (
    "\u0e00-\u0eff\u1000-\u109f\u1100-\u11ff\u1780-\u17ff"
    "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef"
)
_EW = rf"[^\W{_UNSPACED}]"  # a word character of a script that separates words with spaces
# "git@github.com:org/repo.git" is an SSH remote, not somebody's address. The at sign may be the
# full-width one (＠, ﹫) and a dot the full-width one; a domain label before a dot may be in any
# script (例え.jp), the top-level domain not ("a@b.comです" keeps its "です").
_AT = "[@\uff20\ufe6b]"
_DOT = "[.\uff0e]"
_LABEL = r"(?:[^\W_]|-)++"
_EMAIL = re.compile(
    rf"(?<![.%+\-])(?<!{_EW})(?!git{_AT})(?:{_EW}|[.%+\-])++{_AT}"
    rf"{_LABEL}(?:{_DOT}{_LABEL})*{_DOT}[^\W\d_{_UNSPACED}]{{2,}}"
    rf"|(?<![.%+\-])(?<!{_EW})(?:{_EW}|[.%+\-])++{_AT}(?i:localhost|{_LABEL}\.local)(?!{_EW}|\.{_EW})"
)
# Spelled out to dodge scrapers: "ann [at] example [dot] com", "ann (at) example (dot) com",
# "ann at example dot com" only with the brackets or braces (bare "at ... dot" is prose).
_BRACKETED = r"[ \t]*+(?:\[{word}\]|\({word}\)|\{{{word}\}}|<{word}>)[ \t]*+"
_EMAIL_SPELLED = re.compile(
    rf"(?<![.%+\-])(?<!{_EW})(?:{_EW}|[.%+\-])++"
    + _BRACKETED.format(word="(?i:at)")
    + rf"{_LABEL}(?:(?:{_BRACKETED.format(word='(?i:dot)')}|\.){_LABEL})++"
)

# ---------------------------------------------------------------------------------------------
# Phone numbers (\d: any script's decimal digits)
# ---------------------------------------------------------------------------------------------

# +CC then groups split by single spaces, dots or hyphens, an optional (area) code.
_PHONE_INTL = re.compile(
    r"(?<![A-Za-z0-9_+])(?<!\d)\+\d++"
    r"(?:[ .-]?\(\d{1,4}+\)[ .-]?\d++)?(?:[ .-]\d++){0,6}+"
)
# North American: (415) 555-0132, 415-555-0132, 415.555.0132, 1-800-555-0199.
_PHONE_NANP = re.compile(
    r"(?<![A-Za-z0-9_.+-])(?<!\d)(?:1[ .-]?)?(?:\(\d{3}\)[ .-]?|\d{3}[ .-])\d{3}[ .-]\d{4}"
    r"(?!\d|[.-]\d)"
)
# National numbers with a trunk 0 (or "(0..)") and one consistent separator: 020 7946 0958,
# 01 23 45 67 89, 090-1234-5678, 030 1234567, 07700 900123, (030) 1234567. Dates
# (01.02.2026) have too few digits to pass the count.
_PHONE_TRUNK = re.compile(
    r"(?<![A-Za-z0-9_.+-])(?<!\d)(?:0\d{1,4}+|\(0\d{1,4}+\))"
    r"(?P<sep>[ .-])\d{2,}+(?:(?P=sep)\d{2,}+){0,4}+"
)

# Ten digits with no separator, shaped as a North American number (area code and exchange
# cannot start with 0 or 1, so Unix timestamps, which start with 1, do not pass), optionally
# after a 1: 4155550123, 14155550123.
_PHONE_NANP_BARE = re.compile(r"(?<![A-Za-z0-9_.+-])(?:1)?[2-9]\d\d[2-9]\d{6}(?![0-9]|[.-]\d)")
# International with the 00 prefix instead of "+": 0044 7700 900123, 0033-1-23-45-67-89.
_PHONE_00 = re.compile(
    r"(?<![A-Za-z0-9_.+-])(?<!\d)00[1-9]\d{0,2}+(?:[ .-]\d++){1,6}+(?![0-9]|[.-]\d)"
)

# ---------------------------------------------------------------------------------------------
# Payment cards and bank accounts
# ---------------------------------------------------------------------------------------------

# 13 to 19 digits in groups split by single spaces or hyphens, or 13 to 16 in one run (a
# longer run is an id far more often: Discord's and X's ids have 17 to 19 digits); _luhn
# confirms.
_CARD = re.compile(
    r"(?<![A-Za-z0-9_.+-])(?<!\d)(?:\d{4}(?:[ -]\d{1,4}+){2,4}+|\d{13,16})(?![0-9]|[.-]\d)"
)
# Country code, check digits, then the account in groups of up to four; _iban confirms.
_IBAN = re.compile(
    r"(?<![A-Za-z0-9_])[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}+(?:[ ]?[A-Z0-9]{1,3})?(?![A-Za-z0-9])"
)

# ---------------------------------------------------------------------------------------------
# IP addresses
# ---------------------------------------------------------------------------------------------

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4_TEXT = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
_IPV4 = re.compile(rf"(?<![A-Za-z0-9_.])(?<!\d){_IPV4_TEXT}(?![A-Za-z0-9_]|\.[0-9])(?!\d)")
# Candidates only: colon-separated hex groups, checked by _ipv6 (times like 12:30:45 fail).
_IPV6 = re.compile(
    r"(?<![A-Za-z0-9_:.])(?:[0-9A-Fa-f]{0,4}:){2,7}+"
    rf"(?:{_IPV4_TEXT}|[0-9A-Fa-f]{{0,4}})(?![A-Za-z0-9_]|[.:][0-9A-Fa-f])"
)

# ---------------------------------------------------------------------------------------------
# Home directories: only the user name goes
# ---------------------------------------------------------------------------------------------

_NC = r"[^\s/\\\"'`:;,<>|*?()\[\]{}]"  # a character of a user name in a path
# A name; two or three words ("John Smith") only when a path separator follows.
_USER = rf"(?P<v1>{_NC}++(?:(?: {_NC}++){{1,2}}(?=[/\\]))?)"
_HOME_POSIX = re.compile(
    r"(?<![A-Za-z0-9_.])(?:/mnt/[A-Za-z]|/[A-Za-z]|/var)?/(?:Users|home)/"
    rf"(?!(?:linuxbrew|Shared)(?!{_NC})){_USER}"
)
_HOME_WINDOWS = re.compile(rf"(?<![A-Za-z0-9_])[A-Za-z]:(?:\\++|/++)(?i:users)(?:\\++|/++){_USER}")
# "~alice/.ssh": a shell's name for alice's home ("~/x", "~5 min" name nobody).
_HOME_TILDE = re.compile(r"(?<![A-Za-z0-9_~$])~(?P<v1>[A-Za-z_][A-Za-z0-9_.-]*+)(?=/)")

# ---------------------------------------------------------------------------------------------
# Checks: given a match, the span to redact, or None
# ---------------------------------------------------------------------------------------------

_Span = tuple[int, int]
_Check = Callable[[str, "re.Match[str]"], "_Span | None"]
_Finder = Callable[[str], Iterator[_Span]]


def _value_span(match: re.Match[str]) -> _Span | None:
    """The span of the first value group that took part (v1, v2, ...), else the whole match."""
    groups = match.groupdict()
    if not any(name.startswith("v") for name in groups):
        return match.span()
    for name, value in groups.items():
        if name.startswith("v") and value is not None:
            return match.span(name)
    return None


def _is_secret_name(name: str) -> bool:
    if any(ch.islower() for ch in name):
        return _NAME_KEYWORD.search(name) is not None
    return _ENV_KEYWORD.search(name) is not None


def _is_secret_flag(name: str) -> bool:
    return _FLAG_KEYWORD.search(name) is not None


def _named_values(
    pattern: re.Pattern[str], is_secret: Callable[[str], bool]
) -> Callable[[str], Iterator[_Span]]:
    """Values after a name that ``is_secret``. A name inside a value already taken is skipped,
    so every character is read a bounded number of times."""

    def find(text: str) -> Iterator[_Span]:
        taken = 0
        for match in pattern.finditer(text):
            if match.start() < taken or not is_secret(match.group("name")):
                continue
            loose = match.groupdict().get("sep", ":") == ":"  # "key: word" is prose
            value = (_SECRETISH_VALUE if loose else _VALUE).match(text, match.end())
            if value:
                span = _value_span(value)
                if span:
                    taken = span[1]
                    yield span

    return find


def _digits(low: int, high: int) -> _Check:
    """Phone numbers with low..high digits; a longer run loses trailing groups until it fits."""

    def check(text: str, match: re.Match[str]) -> _Span | None:
        start, end = match.span()
        while True:
            count = sum(ch.isdecimal() for ch in text[start:end])
            if count <= high:
                return (start, end) if count >= low else None
            cut = max(text.rfind(sep, start, end) for sep in " .-")
            if cut <= start:
                return None
            end = cut

    return check


def _ipv6(text: str, match: re.Match[str]) -> _Span | None:
    start, end = match.span()
    if text.endswith(":", start, end) and not text.endswith("::", start, end):
        end -= 1  # "fe80::1: no route" - the colon belongs to the sentence
    candidate = text[start:end]
    if ":::" in candidate or candidate.count("::") > 1:
        return None
    if not any("0" <= ch <= "9" for ch in candidate):
        return None  # "dead::beef" is more likely prose or code than an address
    head, double, tail = candidate.partition("::")
    groups = (head.split(":") if head else []) + (tail.split(":") if tail else [])
    embedded_v4 = bool(groups) and "." in groups[-1]
    if embedded_v4:
        groups[-1:] = ["0", "0"]
    if any(not 1 <= len(group) <= 4 for group in groups):
        return None
    if len(groups) > 7 if double else len(groups) != 8:
        return None
    # Slices and ratios ("x[1::2]", "1::2") are valid addresses too; ask for an address-like
    # group (three or more hex digits), an embedded IPv4 address, or all eight groups.
    if not (embedded_v4 or len(groups) == 8 or any(len(group) >= 3 for group in groups)):
        return None
    return start, end


def _luhn(text: str, match: re.Match[str]) -> _Span | None:
    """A card number: 13 to 19 digits whose Luhn checksum holds."""
    digits = [int(ch) for ch in match.group() if ch.isdigit()]
    if not 13 <= len(digits) <= 19:
        return None
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return match.span() if total % 10 == 0 else None


def _iban(text: str, match: re.Match[str]) -> _Span | None:
    """An IBAN: 15 to 34 characters whose ISO 13616 check (mod 97) gives 1."""
    compact = match.group().replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return None
    moved = compact[4:] + compact[:4]
    number = "".join(str(int(ch, 36)) for ch in moved)
    return match.span() if int(number) % 97 == 1 else None


def _random_key(text: str, match: re.Match[str]) -> _Span | None:
    """A key made of random characters: upper and lower case both present, and at least 24
    distinct characters in its first 40 (random base64 averages 30; a long camelCase name
    repeats its letters and has about 22; a hex digest has no upper case). On 2,000 random
    keys each of 30, 40 and 88 characters, 2 were missed."""
    value = match.group().rstrip("=")
    if not (any(ch.isupper() for ch in value) and any(ch.islower() for ch in value)):
        return None
    head = value[:40]
    return match.span() if len(set(head)) >= 0.6 * len(head) else None


_URL_USER_BEFORE = re.compile(r"://[^\s/:@\[\]]{1,200}:\Z")


def _email(text: str, match: re.Match[str]) -> _Span | None:
    """Not the "password@host" of scheme://user:password@host (_USERINFO has that part)."""
    start = match.start()
    if (
        start
        and text[start - 1] == ":"
        and _URL_USER_BEFORE.search(text, max(0, start - 210), start)
    ):
        return None
    return match.span()


def _user(text: str, match: re.Match[str]) -> _Span | None:
    start, end = match.span("v1")
    while end > start and text[end - 1] in ".!":
        end -= 1  # "see /Users/ann." - the full stop ends the sentence; "/home/.." is no name
    return (start, end) if end > start else None


def _matches(pattern: re.Pattern[str], check: _Check | None = None) -> _Finder:
    def find(text: str) -> Iterator[_Span]:
        for match in pattern.finditer(text):
            span = check(text, match) if check else _value_span(match)
            if span:
                yield span

    return find


_FINDERS: tuple[tuple[str, _Finder], ...] = (
    ("secret", _matches(_KEYS)),
    ("secret", _matches(_AUTH)),
    ("secret", _matches(_BEARER)),
    ("secret", _named_values(_ASSIGN, _is_secret_name)),
    ("secret", _named_values(_FLAG, _is_secret_flag)),
    ("secret", _matches(_USERINFO)),
    ("secret", _matches(_COOKIE)),
    ("secret", _matches(_BARE_KEY, _random_key)),
    ("email", _matches(_EMAIL, _email)),
    ("email", _matches(_EMAIL_SPELLED)),
    ("card", _matches(_CARD, _luhn)),
    ("iban", _matches(_IBAN, _iban)),
    ("phone", _matches(_PHONE_INTL, _digits(8, 15))),
    ("phone", _matches(_PHONE_00, _digits(10, 17))),
    ("phone", _matches(_PHONE_NANP)),
    ("phone", _matches(_PHONE_NANP_BARE)),
    ("phone", _matches(_PHONE_TRUNK, _digits(9, 12))),
    ("ip", _matches(_IPV4)),
    ("ip", _matches(_IPV6, _ipv6)),
    ("user", _matches(_HOME_POSIX, _user)),
    ("user", _matches(_HOME_WINDOWS, _user)),
    ("user", _matches(_HOME_TILDE, _user)),
)


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def find_pii(text: str) -> list[tuple[str, int, int]]:
    """Personal data and secrets in ``text`` as ``(kind, start, end)``, ordered by start.

    Kinds: ``secret``, ``email``, ``card`` (a payment card number), ``iban`` (a bank account),
    ``phone``, ``ip``, ``user`` (the user name in a home-directory path). Spans never
    overlap: overlapping matches are merged into one span that takes the kind of the earliest
    match (the longest, among those starting together).
    """
    found: list[tuple[int, int, int, str]] = []
    for kind, find in _FINDERS:
        for start, end in find(text):
            if start < end:
                found.append((start, -end, _PRIORITY[kind], kind))
    found.sort()
    spans: list[tuple[str, int, int]] = []
    for start, negative_end, _, kind in found:
        end = -negative_end
        if spans and start < spans[-1][2]:
            last_kind, last_start, last_end = spans[-1]
            spans[-1] = (last_kind, last_start, max(last_end, end))
        else:
            spans.append((kind, start, end))
    return spans


def redact(text: str) -> str:
    """``text`` with personal data and secrets replaced by typed placeholders.

    E-mail addresses become ``[email]``; API keys, tokens, passwords and other credentials
    ``[secret]`` (an assignment keeps its name: ``api_key=[secret]``); card numbers ``[card]``;
    IBANs ``[iban]``; phone numbers ``[phone]``;
    IPv4 and IPv6 addresses ``[ip]``; the user name in ``/Users/<name>``, ``/home/<name>``,
    ``C:\\Users\\<name>`` and ``~<name>/`` paths ``[user]``. Idempotent:
    ``redact(redact(x)) == redact(x)``.
    """
    for _ in range(_MAX_PASSES):
        spans = find_pii(text)
        if not spans:
            break
        parts: list[str] = []
        position = 0
        for kind, start, end in spans:
            parts.append(text[position:start])
            parts.append(PLACEHOLDERS[kind])
            position = end
        parts.append(text[position:])
        text = "".join(parts)
    return text
