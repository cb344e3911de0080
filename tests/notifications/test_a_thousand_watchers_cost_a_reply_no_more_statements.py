"""A reply to a discussion a thousand members watch writes a thousand notifications and a
thousand outbox items, in the request's transaction, with the same statements as a reply
one member watches: the fan-out and the e-mail queueing are set-based, never one
statement (or one Python object) per watcher. Both the first reply (every watcher's
gathering message created) and the next (every watcher's message joined) are counted."""

from __future__ import annotations

from sqlalchemy import func, select

from app.accounts.models import Role
from app.discussions import posting
from app.email.models import OutboxItem, OutboxMessage
from app.notifications.models import Notification
from bench.watchers import add_watchers

WATCHERS = 1000


async def watched_by(app, author, group, watchers: int, tag: str) -> int:
    """A discussion watched by `watchers` members with verified addresses (bulk-inserted:
    registering a thousand members one by one would hash a thousand passwords)."""
    async with app.state.db.sessionmaker() as s:
        written = await posting.start_discussion(s, author=author, group=group, title=tag, body="?")
        await add_watchers(s, written.discussion.id, watchers, prefix=tag, password_hash="x")
        await s.commit()
        return written.discussion.id


async def written_for(session, post_id: int) -> tuple[int, int]:
    notifications = await session.scalar(
        select(func.count()).select_from(Notification).where(Notification.post_id == post_id)
    )
    items = await session.scalar(
        select(func.count())
        .select_from(OutboxItem)
        .join(Notification, Notification.id == OutboxItem.notification_id)
        .where(Notification.post_id == post_id)
    )
    return int(notifications or 0), int(items or 0)


async def test_a_reply_to_a_thousand_watchers_costs_the_statements_of_one(
    app, make_client, make_user, group, count_queries, session
):
    author = await make_user("asker")
    replier = await make_user("answerer", Role.mentor)
    client = await make_client(replier)
    counts: dict[int, list[int]] = {}
    for watchers, tag in ((1, "one"), (WATCHERS, "many")):
        discussion_id = await watched_by(app, author, group, watchers, tag)
        await client.get("/api/v1/me")  # warm
        counts[watchers] = []
        for n in range(2):  # the first reply creates the messages, the second joins them
            with count_queries() as statements:
                r = await client.api(
                    "POST",
                    f"/api/v1/discussions/{discussion_id}/posts",
                    json={"body": f"reply {n} for {tag}"},
                )
            assert r.status_code == 201, r.text
            # the live event to the other processes goes out after the commit, in messages
            # of a few hundred member ids (PostgreSQL NOTIFY): not part of the write
            counts[watchers].append(sum("notify" not in s.lower() for s in statements))
            # every watcher has a notification and an outbox item; the asker (answered) a
            # notification, and no e-mail: their address is not verified
            assert await written_for(session, r.json()["id"]) == (watchers + 1, watchers)
    assert counts[1] == counts[WATCHERS], counts
    messages = await session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.batch_key == f"d:{discussion_id}")
    )
    assert messages == WATCHERS  # one gathering message each, joined by the second reply
