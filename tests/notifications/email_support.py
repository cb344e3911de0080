"""What the e-mail tests share: a real SMTP server (aiosmtpd) on a free loopback port,
workers wired to it, and small helpers. Test modules import the fixtures they use."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from app.accounts.models import User
from app.config import Settings
from app.db import utcnow
from app.email.models import OutboxMessage
from app.email.worker import OutboxWorker
from tests.conftest import settings_for_tests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    recipients: list[str]
    message: EmailMessage
    raw: bytes = b""

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())  # type: ignore[attr-defined]

    @property
    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        assert part is not None
        return str(part.get_content())  # type: ignore[attr-defined]

    def link(self, path_prefix: str) -> str:
        """The first absolute link in the text part whose path starts with path_prefix."""
        match = re.search(r"https?://[^/\s]+(" + re.escape(path_prefix) + r"[^\s]*)", self.text)
        assert match, (path_prefix, self.text)
        return match.group(1)


@dataclass
class Mailbox:
    """What the SMTP server accepted, in order."""

    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # set by a test to act while the server holds a message (before it answers 250)
    on_data: Any = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=default_policy)
        with self.lock:
            self.received.append(
                Received(list(envelope.rcpt_tos), message, envelope.content)  # type: ignore[arg-type]
            )
        if self.on_data is not None:
            self.on_data()
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if address in r.recipients]

    def message_ids(self) -> list[str]:
        with self.lock:
            return [str(r.message["Message-ID"]) for r in self.received]

    def clear(self) -> None:
        with self.lock:
            self.received.clear()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} e-mails, got {len(self.received)}")


class SmtpServer:
    """aiosmtpd on 127.0.0.1; can be stopped and started again on the same port."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.mailbox = Mailbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture(name="smtp")
def smtp_fixture() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def smtp_settings(tmp_dir: Path, url: str, port: int, **overrides: Any) -> Settings:
    return settings_for_tests(
        tmp_dir,
        url,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_starttls=False,
        smtp_timeout_seconds=5,
        **overrides,
    )


@pytest.fixture(name="settings")
def settings_fixture(tmp_path: Path, database_url: str, smtp: SmtpServer) -> Settings:
    """The app's settings in e-mail tests: SMTP to the test server."""
    return smtp_settings(tmp_path, database_url, smtp.port)


def make_worker(app: Any, **settings_changes: Any) -> OutboxWorker:
    settings = app.state.settings
    if settings_changes:
        settings = settings.model_copy(update=settings_changes)
    return OutboxWorker(app.state.db.sessionmaker, settings, app.state.signer)


async def verify(app: Any, *users: User) -> None:
    async with app.state.db.sessionmaker() as s:
        await s.execute(
            update(User)
            .where(User.id.in_([u.id for u in users]))
            .values(email_verified_at=utcnow())
        )
        await s.commit()
    for user in users:
        user.email_verified_at = utcnow()


async def outbox_rows(app: Any, **where: Any) -> list[OutboxMessage]:
    async with app.state.db.sessionmaker() as s:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        for name, value in where.items():
            query = query.where(getattr(OutboxMessage, name) == value)
        return list((await s.scalars(query)).all())


async def drain(worker: OutboxWorker, now: Any = None) -> list[Any]:
    """Run the worker until nothing more is due at `now`."""
    outcomes: list[Any] = []
    while batch := await worker.run_once(now):
        outcomes.extend(batch)
    return outcomes
