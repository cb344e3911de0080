"""Deleting an account in the middle of a reply it is writing leaves no half state, on a
database of its own with two real connections (SQLite file or PostgreSQL database),
interleaved by hand both ways, in both deletion modes:

- the reply first: its INSERT holds the author's row (FOR KEY SHARE on PostgreSQL, the write
  lock on SQLite); the deletion waits for it, then finds the reply and anonymizes or deletes
  it with the rest;
- the deletion first: the reply waits for it, then finds the account deleted and inserts
  nothing (403 `account_deleted`).

Either way, never a live post by a deleted account, and the counters agree with the posts."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from app.accounts import service as accounts
from app.accounts.models import Role, User, UserSession
from app.db import utcnow
from app.discussions import posting
from app.discussions.models import Discussion, Post, Visibility
from app.groups.service import create_group
from app.main import create_app
from app.safety import deletion
from app.safety.former import neutral_name
from tests.conftest import drop_database, fresh_database_url, settings_for_tests

PASSWORD = "long password here"


@pytest.fixture(scope="module")
async def apps(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Any, Any]]:
    """Two apps (two processes' engines and connections) on one migrated database."""
    tmp = tmp_path_factory.mktemp("delete-while-replying")
    url = await asyncio.to_thread(fresh_database_url, tmp, "delete_while_replying")
    pair = (create_app(settings_for_tests(tmp, url)), create_app(settings_for_tests(tmp, url)))
    try:
        yield pair
    finally:
        for app in pair:
            await app.state.db.dispose()
        await asyncio.to_thread(drop_database, url)


async def _scene(apps: tuple[Any, Any]) -> tuple[User, Discussion]:
    """A mentor (published at once) in a discussion someone else opened."""
    app = apps[0]
    async with app.state.db.sessionmaker() as s:
        users = []
        for role in (Role.mentor, Role.mentor):
            name = f"u_{uuid.uuid4().hex[:10]}"
            users.append(
                await accounts.register(
                    s,
                    app.state.hasher,
                    username=name,
                    email=f"{name}@example.org",
                    password=PASSWORD,
                    role=role,
                )
            )
        group = await create_group(s, slug=f"g-{uuid.uuid4().hex[:8]}", name="G")
        opened = await posting.start_discussion(
            s, author=users[1], group=group, title="Night sweats", body="Anyone else?"
        )
        await s.commit()
    return users[0], opened.discussion


async def _reply(app: Any, s: Any, author_id: int, discussion_id: int) -> int:
    author = await s.get_one(User, author_id)
    discussion = await s.get_one(Discussion, discussion_id)
    written = await posting.reply(
        s, author=author, discussion=discussion, body="Me too, every night.", client_key="k1"
    )
    return written.post.id


async def _delete(app: Any, s: Any, author_id: int, mode: str) -> None:
    user = await s.get_one(User, author_id)
    await deletion.delete_account(s, app.state.hasher, user=user, password=PASSWORD, mode=mode)


async def _no_half_state(app: Any, author_id: int, discussion_id: int, mode: str) -> int:
    """The account is deleted; any post of theirs is anonymized or deleted as chosen; the
    discussion's counts agree with its posts. Returns how many replies they left."""
    async with app.state.db.sessionmaker() as s:
        user = await s.get_one(User, author_id)
        assert user.deleted_at is not None and user.username == neutral_name(author_id)
        posts = (await s.scalars(select(Post).where(Post.author_id == author_id))).all()
        for post in posts:
            if mode == "delete_posts":
                assert post.deleted_at is not None and post.body_md == "", post
            else:  # anonymized: the post stays, by the neutral name
                assert post.deleted_at is None and post.status == Visibility.visible
        counted = await s.scalar(
            select(func.count())
            .select_from(Post)
            .where(
                Post.discussion_id == discussion_id,
                Post.is_opening.is_(False),
                Post.deleted_at.is_(None),
                Post.status == Visibility.visible.value,
            )
        )
        discussion = await s.get_one(Discussion, discussion_id)
        assert discussion.reply_count == counted
        return len(posts)


@pytest.mark.parametrize("mode", ["anonymize", "delete_posts"])
async def test_a_reply_first_is_waited_for_then_anonymized_or_deleted(
    apps: tuple[Any, Any], mode: str
) -> None:
    author, discussion = await _scene(apps)
    async with apps[0].state.db.sessionmaker() as first, apps[1].state.db.sessionmaker() as second:
        await _reply(apps[0], first, author.id, discussion.id)  # written, not committed
        task = asyncio.create_task(_delete(apps[1], second, author.id, mode))
        await asyncio.sleep(0.5)
        assert not task.done()  # waiting for the reply's hold on the author's row
        await first.commit()
        await asyncio.wait_for(task, 20)
        await second.commit()
    assert await _no_half_state(apps[0], author.id, discussion.id, mode) == 1


@pytest.mark.parametrize("mode", ["anonymize", "delete_posts"])
async def test_a_reply_second_waits_then_finds_the_account_deleted(
    apps: tuple[Any, Any], mode: str
) -> None:
    author, discussion = await _scene(apps)
    async with apps[0].state.db.sessionmaker() as first, apps[1].state.db.sessionmaker() as second:
        author_row = await first.get_one(User, author.id)  # loaded before the deletion
        assert author_row.deleted_at is None
        await _delete(apps[1], second, author.id, mode)  # done, not committed
        task = asyncio.create_task(_reply(apps[0], first, author.id, discussion.id))
        await asyncio.sleep(0.5)
        assert not task.done()  # waiting for the deletion's lock
        await second.commit()
        with pytest.raises(posting.AccountDeleted):
            await asyncio.wait_for(task, 20)
        await first.rollback()
    assert await _no_half_state(apps[0], author.id, discussion.id, mode) == 0


async def test_the_api_answers_a_deleted_authors_late_reply_with_403(
    apps: tuple[Any, Any],
) -> None:
    """The same check where nothing waits: a reply from a request that loaded its author
    before the deletion committed is refused, never stored."""
    author, discussion = await _scene(apps)
    async with apps[0].state.db.sessionmaker() as first:
        stale = await first.get_one(User, author.id)
        async with apps[1].state.db.sessionmaker() as second:
            await _delete(apps[1], second, author.id, "anonymize")
            await second.commit()
        with pytest.raises(posting.AccountDeleted) as refused:
            await posting.reply(
                first,
                author=stale,
                discussion=await first.get_one(Discussion, discussion.id),
                body="A late reply",
            )
        assert refused.value.code == "account_deleted"
        await first.rollback()
    assert await _no_half_state(apps[0], author.id, discussion.id, "anonymize") == 0


async def _client(app: Any, user: User, *, touched_long_ago: bool) -> httpx.AsyncClient:
    async with app.state.db.sessionmaker() as s:
        token = await accounts.start_session(s, app.state.settings, user=user)
        if touched_long_ago:  # so that the request writes its session row first
            await s.execute(
                update(UserSession)
                .where(UserSession.user_id == user.id)
                .values(last_seen_at=utcnow() - timedelta(hours=1))
            )
        await s.commit()
    c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    c.cookies.set("kindred_session", token)
    c.headers["x-csrf-token"] = app.state.signer.sign("csrf", token)
    return c


@pytest.mark.parametrize("mode", ["anonymize", "delete_posts"])
async def test_both_requests_at_once_through_two_servers(apps: tuple[Any, Any], mode: str) -> None:
    """The HTTP requests themselves, sent at the same moment to two servers, each touching
    the member's session row before anything else: no deadlock, no error, no half state.
    The reply is either refused (the account is gone: 401 or 403) or posted and then
    anonymized or deleted."""
    for _ in range(4):
        author, discussion = await _scene(apps)
        writer = await _client(apps[0], author, touched_long_ago=True)
        leaver = await _client(apps[1], author, touched_long_ago=True)
        async with writer, leaver:
            replied, deleted = await asyncio.gather(
                writer.post(f"/api/v1/discussions/{discussion.id}/posts", json={"body": "Me too."}),
                leaver.request("DELETE", "/api/v1/me", json={"password": PASSWORD, "mode": mode}),
            )
        assert deleted.status_code == 204, deleted.text
        assert replied.status_code in (201, 401, 403), replied.text
        left = await _no_half_state(apps[0], author.id, discussion.id, mode)
        assert left == (1 if replied.status_code == 201 else 0)
