"""A real IMAP server (Debian's dovecot) on a loopback port, IMAPS only, with a
self-signed certificate, started by the test fixture in a temporary directory."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from hark.embedded_redis import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
instance_name = hark-test-{port}
listen = 127.0.0.1
protocols = imap
ssl = required
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = yes
auth_mechanisms = plain
first_valid_uid = 0
default_internal_user = {internal}
default_login_user = {login}
default_internal_group = {group}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={root}/mail/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""


def _accounts() -> dict[str, str]:
    """Who dovecot's processes run as. As root (CI), its login processes must drop to the
    package's unprivileged users; as anybody else, everything runs as that user."""
    account = pwd.getpwuid(os.getuid())
    group = grp.getgrgid(account.pw_gid).gr_name
    if os.getuid() == 0:
        return {"internal": "dovecot", "login": "dovenull", "user": "dovecot", "group": "dovecot"}
    return {
        "internal": account.pw_name,
        "login": account.pw_name,
        "user": account.pw_name,
        "group": group,
    }


class Dovecot:
    def __init__(self, user: str = "support", password: str = "s3cret-pass") -> None:
        # Its own folder under /tmp, traversable by dovecot's unprivileged login processes
        # (pytest's tmp_path sits in a 0700 folder).
        self.root = Path(tempfile.mkdtemp(prefix="hark-dovecot-", dir="/tmp"))
        self.root.chmod(0o755)
        self.user, self.password = user, password
        self.port = free_port()
        self.cafile = str(self.root / "cert.pem")
        self._process: subprocess.Popen | None = None

    def start(self) -> Dovecot:
        root = self.root
        for folder in ("run", "state", "mail"):
            (root / folder).mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
                "-keyout",
                str(root / "key.pem"),
                "-out",
                self.cafile,
            ],
            check=True,
            capture_output=True,
        )
        (root / "users").write_text(f"{self.user}:{{PLAIN}}{self.password}\n")
        if os.getuid() == 0:  # mail is stored as the unprivileged dovecot user
            shutil.chown(root / "mail", user="dovecot", group="dovecot")
        config = root / "dovecot.conf"
        config.write_text(CONFIG.format(root=root, port=self.port, **_accounts()))
        self._process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                if self._process.poll() is not None:
                    break
                time.sleep(0.1)
        log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
        output = self._process.stdout.read().decode() if self._process.poll() is not None else ""
        self.stop()
        raise RuntimeError(f"dovecot did not start on {self.port}:\n{output}\n{log}")

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=15)
        shutil.rmtree(self.root, ignore_errors=True)

    def append(self, raw: bytes) -> None:
        """Deliver a message the way a mail server would: over IMAP, APPEND to INBOX."""
        import imaplib
        import ssl

        context = ssl.create_default_context(cafile=self.cafile)
        with imaplib.IMAP4_SSL("127.0.0.1", self.port, ssl_context=context) as imap:
            imap.login(self.user, self.password)
            status, detail = imap.append("INBOX", None, None, raw)
            assert status == "OK", detail


def main() -> None:
    """``python -m tests.integration.imap_server``: a support mailbox for a local ``make run``
    (docs/OPERATIONS.md); prints the settings to export, stops and cleans up on Ctrl-C."""
    imap = Dovecot().start()
    print(
        f"export HARK_IMAP_HOST=127.0.0.1 HARK_IMAP_PORT={imap.port} HARK_IMAP_USER={imap.user}"
        f" HARK_IMAP_PASSWORD={imap.password} HARK_IMAP_CAFILE={imap.cafile}",
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        imap.stop()


if __name__ == "__main__":
    main()
