"""`kindred serve --port P` in development writes e-mail links to port P, not 8000.

The real command in a real process: a member asks for a password reset on the server the
command started, and the e-mail it writes (an .eml file: no SMTP host) links to that port.
"""

from __future__ import annotations

import email
import os
import re
import subprocess
import sys
import time
from email import policy
from pathlib import Path

import httpx

from app.cli import served_base_url
from tests.notifications.live_server import free_port

KINDRED = str(Path(sys.executable).with_name("kindred"))


def mail_text(directory: Path) -> str:
    """The plain-text parts of every .eml file written so far."""
    text = ""
    for path in sorted(directory.glob("*.eml")) if directory.exists() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        for part in message.walk():
            if part.get_content_type() == "text/plain":
                text += part.get_content()
    return text


def test_the_served_address_of_every_interface_is_this_machines():
    assert served_base_url("127.0.0.1", 8101) == "http://127.0.0.1:8101"
    assert served_base_url("0.0.0.0", 8101) == "http://127.0.0.1:8101"
    assert served_base_url("::1", 9000) == "http://[::1]:9000"


def test_serve_on_another_port_writes_email_links_to_that_port(tmp_path):
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("KINDRED_")  # a developer's own settings stay out
    }
    env |= {
        "KINDRED_ENV": "development",
        "KINDRED_VAR_DIR": str(tmp_path / "var"),
        "KINDRED_EMAIL_WORKER_POLL_SECONDS": "0.2",
    }
    for command in (
        ["db", "upgrade"],
        ["users", "create", "porter", "porter@example.org", "--password", "a long pw 1"],
    ):
        done = subprocess.run(
            [KINDRED, *command], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stdout + done.stderr
    server = subprocess.Popen(
        [KINDRED, "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=10) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the server did not start"
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                time.sleep(0.2)
            form = client.get("/forgot-password")
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert token, form.text
            r = client.post(
                "/forgot-password",
                data={"csrf_token": token.group(1), "email": "porter@example.org"},
            )
            assert r.status_code in (200, 303), r.text
        mail_dir = tmp_path / "var" / "mail"
        deadline = time.monotonic() + 30
        while "/reset-password/" not in (text := mail_text(mail_dir)):
            assert time.monotonic() < deadline, f"no reset e-mail was written: {text}"
            time.sleep(0.2)
        # both the confirmation queued by `users create` and the reset link to this port
        assert f"{base}/verify-email/" in text and f"{base}/reset-password/" in text, text
        assert "127.0.0.1:8000" not in text
    finally:
        server.terminate()
        server.wait(timeout=15)
