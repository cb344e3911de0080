"""On SQLite a reply's writes run in one hand-off to aiosqlite's thread (core.rows.run_writes):
the host's writers' turn, BEGIN IMMEDIATE, every statement, COMMIT and the turn let go,
before the event loop gets control back. The turn is never held while the loop runs, and the
number of hand-offs a reply makes does not grow with the discussion's watchers. A failure in
the middle leaves nothing written and lets the turn go.

Real connections and commits on a file database of the test's own (the suite's rolled-back
transaction would keep the reply from beginning and committing its own)."""

from __future__ import annotations

import asyncio
import fcntl
import os
from typing import Any

import aiosqlite
import httpx
import pytest
from sqlalchemy import func, select, text, update

from app.accounts import service as accounts
from app.accounts.models import Role, User
from app.core.rows import WriteTurn
from app.core.security import PasswordHasher
from app.db import Database
from app.discussions import posting
from app.discussions.models import Discussion, Post
from app.groups.service import create_group
from app.main import create_app
from app.moderation.models import SiteSettings
from app.notifications.models import DiscussionFollow, FollowLevel, Notification
from app.search.models import SearchDocument
from tests.conftest import PG_URL, drop_database, fresh_database_url, settings_for_tests

pytestmark = pytest.mark.skipif(
    PG_URL.startswith("postgresql"), reason="SQLite only (its writers' turn and driver thread)"
)

WATCHERS = 25


def someone_else_can_take(path: str) -> bool:
    """Whether another writer (a descriptor of its own) would get the turn now."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


class Forum:
    """An app on a fresh file database: a discussion, its author, a replier and members
    who watch the discussion (with verified addresses, so their e-mail is queued)."""

    def __init__(self, app: Any, url: str) -> None:
        self.app = app
        self.url = url
        self.db: Database = app.state.db
        self.turn_file = (self.db.engine.url.database or "") + "-writers"
        self.discussion_id = 0
        self.token = ""
        self.sent = 0

    async def setup(self) -> None:
        hasher = PasswordHasher(fast=True)
        async with self.db.sessionmaker() as s:
            await s.execute(update(SiteSettings).values(hold_first_posts=0))
            g = await create_group(s, slug="g", name="G")
            users = [
                await accounts.register(
                    s,
                    hasher,
                    username=f"member{i}",
                    email=f"m{i}@x.org",
                    password="long enough passphrase",
                    role=Role.member,
                )
                for i in range(2 + WATCHERS)
            ]
            await s.execute(update(User).values(email_verified_at=func.now()))
            written = await posting.start_discussion(
                s, author=users[0], group=g, title="t", body="b"
            )
            self.discussion_id = written.discussion.id
            self.watchers = [u.id for u in users[2:]]
            self.token = await accounts.start_session(s, self.app.state.settings, user=users[1])
            await s.commit()

    async def watch(self, count: int) -> None:
        async with self.db.sessionmaker() as s:
            await s.execute(text("DELETE FROM discussion_follows WHERE level = 'watching'"))
            for user_id in self.watchers[:count]:
                s.add(
                    DiscussionFollow(
                        user_id=user_id,
                        discussion_id=self.discussion_id,
                        level=FollowLevel.watching.value,
                    )
                )
            await s.commit()

    async def reply(self) -> httpx.Response:
        self.sent += 1
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://t"
        ) as c:
            c.cookies.set("kindred_session", self.token)
            return await c.post(
                f"/api/v1/discussions/{self.discussion_id}/posts",
                json={"body": f"reply {self.sent}"},
                headers={"x-csrf-token": self.app.state.signer.sign("csrf", self.token)},
            )

    async def count(self, entity: Any, *where: Any) -> int:
        async with self.db.sessionmaker() as s:
            return int(await s.scalar(select(func.count()).select_from(entity).where(*where)) or 0)


@pytest.fixture
async def forum(tmp_path):
    url = await asyncio.to_thread(fresh_database_url, tmp_path, "handoffs")
    app = create_app(settings_for_tests(tmp_path, url))
    forum = Forum(app, url)
    try:
        await forum.setup()
        yield forum
    finally:
        await forum.db.dispose()
        await asyncio.to_thread(drop_database, url)


async def test_a_reply_holds_the_turn_across_no_hand_off_whatever_its_watchers(forum, monkeypatch):
    """Every hand-off to aiosqlite's thread during a reply is counted, and after each one
    (the loop running again) another writer could take the turn."""
    handoffs: list[bool] = []  # per hand-off: the turn free when the loop got control back
    turns: list[int] = []  # the turn taken (on the driver's thread)
    original = aiosqlite.Connection._execute
    take = WriteTurn.take

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await original(self, fn, *args, **kwargs)
        finally:
            handoffs.append(someone_else_can_take(forum.turn_file))

    def taken(self: WriteTurn) -> None:
        take(self)
        turns.append(1)

    assert (await forum.reply()).status_code == 201  # the connection opened, the follow made
    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    monkeypatch.setattr(WriteTurn, "take", taken)
    per_reply = {}
    for watchers in (0, WATCHERS):
        await forum.watch(watchers)
        handoffs.clear()
        turns.clear()
        assert (await forum.reply()).status_code == 201
        assert len(turns) == 1  # the reply did take its turn among the host's writers
        assert all(handoffs), handoffs  # and never held it while the loop ran
        per_reply[watchers] = len(handoffs)
    # the writes (one), the session's commit and the connection's reset as it goes back to
    # the pool: whatever the watchers; statement by statement it was one per write (10+)
    assert per_reply[0] == per_reply[WATCHERS] <= 3, per_reply
    last = await forum.count(Post, Post.discussion_id == forum.discussion_id)
    assert last == 4  # the question and three replies
    notified = await forum.count(Notification, Notification.discussion_id == forum.discussion_id)
    assert notified == 3 + WATCHERS  # the question's author of each reply, the watchers once


async def test_a_failure_in_the_middle_of_a_reply_leaves_nothing_and_lets_the_turn_go(forum):
    """A real error from the database at the reply's last statement (the author's count of
    posts, after the post, its document, the counters, the follow, the notifications and
    their e-mail): nothing of it stays, and the next writer gets the turn."""
    await forum.watch(WATCHERS)
    before = {
        "posts": await forum.count(Post),
        "documents": await forum.count(SearchDocument),
        "notifications": await forum.count(Notification),
        "follows": await forum.count(DiscussionFollow),
        "outbox": await forum.count(text("email_outbox")),
    }
    async with forum.db.engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE TRIGGER injected_failure BEFORE UPDATE OF post_count ON users "
                "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
            )
        )
    with pytest.raises(Exception, match="injected failure"):
        await forum.reply()
    assert someone_else_can_take(forum.turn_file)
    after = {
        "posts": await forum.count(Post),
        "documents": await forum.count(SearchDocument),
        "notifications": await forum.count(Notification),
        "follows": await forum.count(DiscussionFollow),
        "outbox": await forum.count(text("email_outbox")),
    }
    assert after == before
    async with forum.db.sessionmaker() as s:
        d = await s.get_one(Discussion, forum.discussion_id)
        assert (d.reply_count, d.top_level_count) == (0, 0)
    async with forum.db.engine.begin() as conn:
        await conn.execute(text("DROP TRIGGER injected_failure"))
    assert (await forum.reply()).status_code == 201
    assert await forum.count(Notification) == before["notifications"] + 1 + WATCHERS
