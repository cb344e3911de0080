"""Concurrent requests and workers around one gathering e-mail, on a database of their own
(real separate connections and transactions, SQLite or PostgreSQL):
- two requests notifying one member about one discussion at once gather into one message;
- on PostgreSQL a worker never claims a message a request is still adding to (SKIP LOCKED),
  so no notification is attached to an e-mail that has already been composed;
- the in-process worker starts and stops with the app."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts.models import User
from app.core.security import Signer
from app.db import make_engine, utcnow
from app.discussions.models import Discussion, Post
from app.email.models import OutboxItem, OutboxMessage
from app.email.outbox import queue_notifications
from app.email.worker import OutboxWorker
from app.groups.models import Group
from app.main import create_app
from app.notifications.models import Notification, NotificationKind
from tests.conftest import drop_database, fresh_database_url
from tests.notifications.email_support import (  # noqa: F401 (fixtures: smtp, settings)
    SmtpServer,
    settings_fixture,
    smtp_fixture,
    smtp_settings,
)


@pytest.fixture
def own_database(tmp_path: Path) -> Any:
    url = fresh_database_url(tmp_path, "gather")
    yield url
    drop_database(url)


@pytest.fixture
async def world(own_database: str) -> Any:
    """A database with a watcher (verified), an author, one discussion and three replies."""
    url = own_database
    engine = make_engine(url)
    maker = async_sessionmaker(engine, expire_on_commit=False)
    async with maker() as s:
        now = utcnow()
        watcher = User(
            username="watcher",
            username_key="watcher",
            email="watcher@example.org",
            email_key="watcher@example.org",
            password_hash="x",
            email_verified_at=now,
        )
        author = User(
            username="author",
            username_key="author",
            email="author@example.org",
            email_key="author@example.org",
            password_hash="x",
        )
        group = Group(slug="g", name="G")
        s.add_all([watcher, author, group])
        await s.flush()
        discussion = Discussion(group_id=group.id, author_id=author.id, title="T", slug="t")
        s.add(discussion)
        await s.flush()
        posts = [
            Post(discussion_id=discussion.id, author_id=author.id, body_md=f"r{i}", body_html="")
            for i in range(3)
        ]
        s.add_all(posts)
        await s.commit()
    yield url, maker, watcher, discussion, posts
    await engine.dispose()


async def notify(
    session: AsyncSession,
    watcher: User,
    post: Post,
    kind: NotificationKind = NotificationKind.watched_reply,
) -> None:
    session.add(
        Notification(
            user_id=watcher.id,
            kind=kind.value,
            post_id=post.id,
            discussion_id=post.discussion_id,
            actor_id=post.author_id,
        )
    )
    await session.flush()
    await queue_notifications(session, post_id=post.id)


async def gathering(maker: Any) -> list[tuple[int, str, int]]:
    async with maker() as s:
        rows = await s.execute(
            select(OutboxMessage.id, OutboxMessage.status, func.count(OutboxItem.notification_id))
            .join(OutboxItem, OutboxItem.outbox_id == OutboxMessage.id)
            .group_by(OutboxMessage.id, OutboxMessage.status)
            .order_by(OutboxMessage.id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_two_requests_at_once_gather_into_one_message(world: Any) -> None:
    url, maker, watcher, discussion, posts = world
    async with maker() as first, maker() as second:
        await notify(first, watcher, posts[0])  # holds the new gathering row, uncommitted

        async def then_second() -> None:
            await notify(second, watcher, posts[1])  # waits for the first to commit
            await second.commit()

        task = asyncio.create_task(then_second())
        await asyncio.sleep(0.3)
        await first.commit()
        await asyncio.wait_for(task, 20)
    [(_, status, items)] = await gathering(maker)
    assert (status, items) == ("queued", 2)


async def test_a_worker_skips_a_message_that_a_request_is_still_adding_to(
    world: Any, tmp_path: Path, smtp: SmtpServer
) -> None:
    url, maker, watcher, discussion, posts = world
    if not url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: the claim simply waits its turn")
    worker = OutboxWorker(
        maker, smtp_settings(tmp_path, url, smtp.port), Signer("test-secret-" + "x" * 40)
    )
    later = utcnow() + timedelta(minutes=16)
    async with maker() as first:
        await notify(first, watcher, posts[0])
        await first.commit()
    async with maker() as request:
        await notify(request, watcher, posts[1])  # joins (and locks) the gathering message
        assert await worker.claim(later) == []  # SKIP LOCKED: not while it is being added to
        await request.commit()
    [outcome] = await worker.run_once(later)
    assert outcome.status == "sent"
    [mail] = smtp.mailbox.wait_for(1)
    assert "r0" in mail.text and "r1" in mail.text
    # a notification after the claim starts a new message instead of joining a sealed one
    async with maker() as s:
        await notify(s, watcher, posts[2])
        await s.commit()
    rows = await gathering(maker)
    assert [(status, items) for _, status, items in rows] == [("sent", 2), ("queued", 1)]


async def test_the_in_process_worker_runs_with_the_app(
    tmp_path: Path, smtp: SmtpServer, world: Any
) -> None:
    url, maker, watcher, discussion, posts = world
    async with maker() as s:
        await notify(s, watcher, posts[0], NotificationKind.mention)  # due at once
        await s.commit()
    settings = smtp_settings(
        tmp_path, url, smtp.port, email_worker_in_process=True, email_worker_poll_seconds=0.05
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):  # what the server does at start and stop
        await asyncio.to_thread(smtp.mailbox.wait_for, 1, 10)
    [mail] = smtp.mailbox.received
    assert mail.recipients == ["watcher@example.org"] and "r0" in mail.text
    [(_, status, _)] = await gathering(maker)
    assert status == "sent"
