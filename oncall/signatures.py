"""What a report says about its problem beyond its words: the Caro version it is about, the
platform, and a cause it names. Grouping uses the version and the cause to keep different
problems apart (``oncall.grouping``); the escalation uses the version and the platform.

Every function reads the text after redaction (``vocabulary.redact``), so nothing it returns
can carry personal data, and takes only version-shaped text as a version: three numbers
("1.2.0", "v1.2.2"), not part of a longer dotted run (an IP address, "203.0.113.7", is
redacted first and would not match anyway), with a major of at most two digits, and not
an operating system's version ("Ubuntu 22.04.4", "macOS 14.4.1").

Causes are the failures that on launch day looked alike (the same rule fired: "crashes on
launch") but were different bugs, each known by what its report quotes:

- ``killed``: the process killed by the system at launch ("zsh: killed", SIGKILL, a code
  signature refused), as a binary built for the wrong CPU is on Apple Silicon;
- ``illegal-instruction``: SIGILL, a binary using instructions the CPU lacks;
- ``missing-library``: the dynamic loader cannot find a library;
- ``config``: a panic or error reading the configuration file (an unknown field, the config
  loader in the backtrace);
- ``platform-detection``: a panic parsing the OS version (``sw_vers``, the platform detector);
- ``model-checksum``: the model's checksum refused.

A segmentation fault or a panic without one of these is the generic crash: it names no cause.
"""

from __future__ import annotations

import re

from vocabulary.redact import redact

_VERSION = re.compile(r"(?<![\w.])v?(\d{1,2}\.\d{1,3}\.\d{1,3})(?![\d.]*\d)(?!\.\d)")
_CARO_VERSION = re.compile(
    r"(?:caro(?:\s+version)?|version|versão|versión|версия|版本|バージョン)\W{0,12}?v?"
    r"(\d{1,2}\.\d{1,3}\.\d{1,3})(?![\d.]*\d)",
    re.IGNORECASE,
)
_OS_BEFORE = re.compile(
    r"(?:ubuntu|debian|fedora|macos|mac os|os x|sonoma|ventura|sequoia|windows|kernel|"
    r"linux|arch|centos|rhel|alpine|mint|pop!_os|wsl|node|python|rustc|cargo|zsh|bash|fish)"
    r"\W{0,3}(?:\w+\W{0,2})?$",
    re.IGNORECASE,
)
_PLATFORMS: tuple[tuple[str, str], ...] = (
    (r"apple silicon|\barm64\b|\bm[1-4]\b(?:\s+(?:pro|max|mac))", "macOS (Apple Silicon)"),
    (r"\bmacos\b|\bmac os\b|\bos x\b|\bsonoma\b|\bventura\b|\bsequoia\b", "macOS"),
    (r"\bubuntu\b", "Linux (Ubuntu)"),
    (r"\bdebian\b", "Linux (Debian)"),
    (r"\bfedora\b", "Linux (Fedora)"),
    (r"\barch linux\b|\barchlinux\b", "Linux (Arch)"),
    (r"\bfreebsd\b", "FreeBSD"),
    (r"\bwsl2?\b", "Windows (WSL)"),
    (r"\bwindows\b|\bpowershell\b", "Windows"),
    (r"\blinux\b", "Linux"),
    (r"\bmac\b|\bhomebrew\b|\bbrew\b", "macOS"),
)
_CAUSES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "platform-detection",
        re.compile(r"\bsw_vers\b|platform/detect", re.IGNORECASE),
    ),
    (
        "config",
        re.compile(
            r"config/loader|unknown field|config(?:uration)? file .{0,30}(?:invalid|parse)"
            r"|failed to (?:parse|load) (?:the )?config",
            re.IGNORECASE,
        ),
    ),
    (
        "killed",
        re.compile(r"\b(?:zsh|bash|fish):\s*killed\b|\bsigkill\b|killed:\s*9", re.IGNORECASE),
    ),
    ("illegal-instruction", re.compile(r"illegal instruction|\bsigill\b", re.IGNORECASE)),
    (
        "missing-library",
        re.compile(r"library not loaded|error while loading shared librar", re.IGNORECASE),
    ),
    ("model-checksum", re.compile(r"checksum mismatch", re.IGNORECASE)),
)


def caro_version(text: str) -> str | None:
    """The Caro version the report is about: one named as Caro's ("caro 1.2.0", "Caro
    Version 1.2.0", "v1.2.0"), else the first version-shaped text that is not an operating
    system's; None when there is none."""
    clean = redact(text)
    named = _CARO_VERSION.search(clean)
    if named:
        return named.group(1)
    for found in _VERSION.finditer(clean):
        if not _OS_BEFORE.search(clean[max(0, found.start() - 24) : found.start()]):
            return found.group(1)
    return None


def platform(text: str) -> str | None:
    """The platform the report names, the most specific first; None when it names none."""
    lowered = redact(text).lower()
    return next((name for pattern, name in _PLATFORMS if re.search(pattern, lowered)), None)


def named_cause(text: str) -> str | None:
    """The known cause the report quotes (see the module), or None for the generic crash."""
    clean = redact(text)
    return next((name for name, pattern in _CAUSES if pattern.search(clean)), None)
