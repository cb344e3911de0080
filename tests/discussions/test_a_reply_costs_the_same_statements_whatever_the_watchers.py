"""A reply with one @mention costs the same SQL statements with 1 watcher as with 1,000: the
notifications and e-mail of every watcher are written by set-based statements, never one
per watcher. The count is pinned, so a change that adds a statement to every reply is seen."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from app.accounts.models import Role
from app.discussions import posting
from app.email.models import OutboxItem
from app.notifications.models import Notification
from bench.watchers import add_watchers

# session look-up, what the reply reads (the discussion, its group, the member's row, the
# post answered and the hold setting, in one statement), the reply's insert and counters,
# mentions, follows, notifications, the e-mail outbox and the search index's document.
# Measured when this test was written: 14 (18 before every kind of notification went in
# one INSERT, the answer was built from what was written rather than read back, and a
# group whose loaded row shows recent activity was left alone; 21 on SQLite and 23 on
# PostgreSQL before the reply wrote its post once, read nothing back and counted in one
# UPDATE). 13 on SQLite since the outbox's messages are held, created and moved earlier by
# one upsert; 12 on PostgreSQL, where that upsert is in the statement that writes the
# notifications (it was 15: the outbox locked the gathering messages first). 12 and 11
# since the member, the discussion and the post answered are read in one statement of
# plain columns, not ORM loads of their own (a member's reply also read the hold setting
# in one more). Not counted: the live events' NOTIFY after the commit (outside the
# transaction, one per ~8 KB of member ids).
REPLY_STATEMENTS = {"sqlite": 12, "postgresql": 11}


async def watched_discussion(app, author, group, watchers: int) -> int:
    """A new discussion watched by `watchers` new members with verified addresses (so each
    also gets e-mail), written in bulk: registering a thousand members one by one would
    hash a thousand passwords."""
    async with app.state.db.sessionmaker() as s:
        written = await posting.start_discussion(s, author=author, group=group, title="Q", body="?")
        await add_watchers(
            s,
            written.discussion.id,
            watchers,
            prefix=f"w{uuid.uuid4().hex[:8]}_",
            password_hash=author.password_hash,
        )
        await s.commit()
        return written.discussion.id


async def _notified(app, post_id: int) -> tuple[int, int]:
    """Notifications of the post, and those of them in an e-mail."""
    async with app.state.db.sessionmaker() as s:
        mine = Notification.post_id == post_id
        notifications = await s.scalar(select(func.count()).select_from(Notification).where(mine))
        items = await s.scalar(
            select(func.count())
            .select_from(OutboxItem)
            .join(Notification, Notification.id == OutboxItem.notification_id)
            .where(mine)
        )
        return int(notifications or 0), int(items or 0)


async def test_reply_statement_count_does_not_grow_with_watchers(
    app, make_client, make_user, group, count_queries
):
    author = await make_user("thread_starter")
    replier = await make_user("replier", Role.mentor)
    await make_user("mentioned_one")
    client = await make_client(replier)
    counts = []
    for watchers in (1, 1000):
        discussion_id = await watched_discussion(app, author, group, watchers)
        # warm: the first request of a session may touch it
        await client.get("/api/v1/me")
        with count_queries() as statements:
            r = await client.api(
                "POST",
                f"/api/v1/discussions/{discussion_id}/posts",
                json={"body": "Thank you, @mentioned_one, that helped."},
            )
        assert r.status_code == 201, r.text
        counts.append(sum("pg_notify" not in sql for sql in statements))
        notified = await _notified(app, r.json()["id"])
        # every watcher, the mentioned member and the question's author; e-mail for the
        # watchers (registered here, the other two have no verified address)
        assert notified == (watchers + 2, watchers), notified
    assert counts[0] == counts[1], counts
    pinned = REPLY_STATEMENTS["sqlite" if app.state.db.is_sqlite else "postgresql"]
    assert counts[0] <= pinned, (counts, pinned)
