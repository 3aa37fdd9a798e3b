"""The shipped rulebook encodes the playbook: its SLA table, and its priorities in the
languages Caro's users write in. Sentences here are written for these tests, not taken
from the corpora."""

from __future__ import annotations

from datetime import timedelta

import pytest


def test_sla_table_is_the_playbooks(shipped):
    table = shipped.rulebook.priorities
    assert (table["P0"].first_response, table["P0"].resolution) == (
        timedelta(hours=1),
        timedelta(hours=24),
    )
    assert (table["P1"].first_response, table["P1"].resolution) == (
        timedelta(hours=4),
        timedelta(days=3),
    )
    assert (table["P2"].first_response, table["P2"].resolution) == (
        timedelta(hours=24),
        timedelta(weeks=1),
    )
    assert (table["P3"].first_response, table["P3"].resolution) == (
        timedelta(hours=48),
        "next-release",
    )
    assert shipped.rulebook.paging_levels() == ["P0"]
    assert table["P0"].clock == "always"  # the on-call rotation is 24/7
    assert {table[level].clock for level in ("P1", "P2", "P3")} == {"business-hours"}


def test_categories_and_kinds_are_the_playbooks(shipped):
    assert shipped.rulebook.categories == [
        "command-generation",
        "safety",
        "installation",
        "documentation",
        "privacy",
        "other",
    ]
    assert shipped.rulebook.kinds == ["bug", "feature", "question", "praise", "other"]


P0_REPORTS = {
    "crash-en": "After the 2.0 upgrade caro crashes on launch, I can't even run caro --help",
    "panic-en": "caro panics on every single command now: thread 'main' panicked at src/cli.rs",
    "all-fail-en": "Since this morning every command fails, Caro is completely unusable",
    "security-en": "I found a command injection vulnerability in how caro quotes file names",
    "leak-en": "caro sends my OPENAI_API_KEY to the telemetry endpoint in plain text",
    "dangerous-en": "Caro generated `rm -rf ~/` for 'clean my downloads' and it was not blocked",
    "wiped-en": "asked caro to tidy up and it wiped my home directory. thanks a lot.",
    "crash-es": "Caro se cierra al iniciar, con cualquier comando",
    "leak-es": "Fuga de datos: caro envía mis contraseñas al servidor remoto",
    "crash-pt": "O caro trava ao abrir, nenhum comando funciona",
    "security-pt": "Encontrei uma vulnerabilidade de execução de código no caro",
    "crash-fr": "Caro plante au démarrage, aucune commande ne fonctionne",
    "danger-fr": "caro m'a généré `sudo rm -rf /var/*` sans aucun avertissement",
    "agent-deleted-en": "The agent deleted my project files without asking",
    "title-en": "Caro stopped working after the last update\n\nNo output any more.",
    "title-cant-use-en": "Unable to use caro\n\nIt prints an error and exits.",
    "agent-deleted-wsl-en": "On WSL the agent deleted the entire project directory",
    "title-no-subject-en": "Not working after update\n\nEvery prompt prints nothing now.",
    "crashes-on-invocation-en": "caro crashes on invocation with a Python traceback",
    "danger-scoped-en": (
        "It only happens when I say 'clean up', but then caro generates `rm -rf ~` unblocked"
    ),
    "crash-de": "Caro stürzt beim Start sofort ab",
    "security-de": "Sicherheitslücke: caro überträgt den API-Schlüssel im Klartext",
    "crash-ru": "caro падает при запуске, ни одна команда не работает",
    "leak-ru": "Утечка: caro отправляет мои пароли на удалённый сервер",
    "crash-zh": "caro 一启动就崩溃，所有命令都失败",
    "danger-zh": "caro 生成了 `rm -rf /usr/*` 而且没有警告",
    "crash-ja": "caro が起動時にクラッシュします。すべてのコマンドが失敗します",
    "leak-ja": "caro が APIキー をテレメトリで送信しています",
}


@pytest.mark.parametrize("text", P0_REPORTS.values(), ids=P0_REPORTS.keys())
def test_p0_signals_in_every_language(shipped, text):
    triage = shipped.classify(text)
    assert triage.priority == "P0", [rule.id for rule in triage.rules]
    assert triage.pages


P1_REPORTS = {
    "git-category-en": "all git commands are wrong since 1.3, file commands still work",
    "brew-en": "brew install caro fails on macOS Sonoma with a SHA256 mismatch",
    "installer-linux-en": "the curl installer returns 404 on Ubuntu 24.04",
    "unsafe-en": "--dry-run executes the command anyway",
    "install-es": "Error al instalar caro en Ubuntu: la instalación falla siempre",
    "install-pt": "Não consigo instalar o caro no macOS, erro na instalação",
    "install-fr": "Impossible d'installer caro sur Debian",
    "install-de": "Installation schlägt fehl auf macOS 14",
    "install-ru": "caro не устанавливается на Ubuntu, ошибка установки",
    "install-zh": "在 Ubuntu 上安装失败",
    "install-ja": "macOS でインストールできない",
    "install-cargo-zh": "在 Ubuntu 上用 cargo 安装时候报错",
    # Regexes see "can't" and "doesn't" as "cant" and "doesnt" (the normalized text).
    "cant-install-en": "Can't install caro with Homebrew on macOS 14.1, the formula errors out",
    "mode-en": "The --execute option doesn't work: it prints the command and nothing runs",
    "regression-en": "After updating to 1.4 the shell mode stopped working for me",
    "install-version-en": "Installation on Ubuntu 25.04 fails with a missing libssl",
}


@pytest.mark.parametrize("text", P1_REPORTS.values(), ids=P1_REPORTS.keys())
def test_p1_signals_in_every_language(shipped, text):
    triage = shipped.classify(text)
    assert triage.priority == "P1", [rule.id for rule in triage.rules]


CLASSIFIED = {
    # text: (priority, category)
    "caro hangs forever on a directory with millions of files": ("P2", "other"),
    "on FreeBSD the generated ps command fails with an illegal option": (
        "P2",
        "command-generation",
    ),
    "caro uses find -printf on my mac and it errors: BSD find has no -printf": (
        "P2",
        "command-generation",
    ),
    "The README says --model but the flag is actually --backend-model, docs are wrong": (
        "P2",
        "documentation",
    ),
    "install fails on Windows 11 with a 404 from install.ps1": ("P2", "installation"),
    "Feature request: a crash reporter that asks before sending": ("P3", "other"),
    "Is there a crash course on writing good prompts for caro?": ("P3", "command-generation"),
    "It no longer crashes on launch since 1.0.3, thanks!": ("P3", "other"),
    "Does caro send any PII with telemetry? What data is collected?": ("P3", "privacy"),
    "Does caro block rm -rf / if I ask for it?": ("P3", "safety"),
    "This tool is the bomb, it killed my need to google find flags": ("P3", "other"),
    "caro: command not found after brew install, how do I fix my PATH?": ("P3", "installation"),
    "🔥🔥🔥": ("P3", "other"),
    "Installation doesn't work on Linux\n\nThe script stops at the checksum step.": (
        "P1",
        "installation",
    ),
    "install.ps1 fails, only on Windows: macOS and Ubuntu install fine": ("P2", "installation"),
    "Doesn't run on Alpine\n\nsymbol not found, a musl build please": ("P2", "installation"),
    "caro is not recognized as the name of a cmdlet after the install on Windows": (
        "P3",
        "installation",
    ),
    "Segfault when the prompt contains emoji": ("P2", "command-generation"),
    "### Describe the bug\nThe progress bar flickers in tmux": ("P2", "other"),
    "How do I turn off colors?\n\n### Describe the bug\nI want plain output": ("P3", "other"),
    "I'm afraid of a leak of my API keys through the telemetry": ("P3", "privacy"),
}


@pytest.mark.parametrize(("text", "expected"), CLASSIFIED.items())
def test_priority_and_category_by_the_playbook(shipped, text, expected):
    triage = shipped.classify(text)
    assert (triage.priority, triage.category) == expected, [rule.id for rule in triage.rules]


def test_kinds(shipped):
    assert shipped.classify("Please add fish shell completions").kind == "feature"
    assert shipped.classify("How do I change the default model?").kind == "question"
    assert shipped.classify("Caro is amazing, thank you!").kind == "praise"
    assert shipped.classify("caro crashes when I pass a 3 GB file").kind == "bug"
