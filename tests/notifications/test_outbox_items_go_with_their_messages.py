"""E-mail outbox items (which notifications a message carries) have no foreign keys
(migration w17watch: on PostgreSQL each was a look-up and a row lock per watcher of a
reply), so what their cascades did is done where rows go: deleting an account leaves no
item of the member's notifications or messages, the retention purge none of the messages
it deletes, and neither takes anybody else's."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, inspect, select, update

from app.accounts.models import Role, User
from app.db import utcnow
from app.discussions import posting
from app.email.models import OutboxItem, OutboxMessage, OutboxStatus
from app.notifications.models import DiscussionFollow, FollowLevel, Notification
from app.safety import deletion
from app.safety.retention import purge_expired

PASSWORD = "correct horse battery"


async def _watched_reply(app, make_user, make_client, group, tag: str) -> tuple[int, list[int]]:
    """A discussion two members with verified addresses watch, and a reply to it: returns
    the reply's id and the watchers' ids. Every watcher now has a notification, a
    gathering message and the item joining them."""
    author = await make_user(f"{tag}_asker")
    replier = await make_user(f"{tag}_answerer", Role.mentor)
    watchers = [await make_user(f"{tag}_w{i}", password=PASSWORD) for i in range(2)]
    async with app.state.db.sessionmaker() as s:
        written = await posting.start_discussion(s, author=author, group=group, title=tag, body="?")
        discussion_id = written.discussion.id
        for w in watchers:
            s.add(
                DiscussionFollow(
                    user_id=w.id, discussion_id=discussion_id, level=FollowLevel.watching.value
                )
            )
        await s.execute(
            update(User)
            .where(User.id.in_([w.id for w in watchers]))
            .values(email_verified_at=utcnow())
        )
        await s.commit()
    client = await make_client(replier)
    r = await client.api(
        "POST", f"/api/v1/discussions/{discussion_id}/posts", json={"body": "An answer."}
    )
    assert r.status_code == 201, r.text
    return r.json()["id"], [w.id for w in watchers]


async def _items_of(s, user_id: int) -> int:
    """Items of the member's notifications or of the member's messages."""
    return int(
        await s.scalar(
            select(func.count())
            .select_from(OutboxItem)
            .where(
                OutboxItem.notification_id.in_(
                    select(Notification.id).where(Notification.user_id == user_id)
                )
                | OutboxItem.outbox_id.in_(
                    select(OutboxMessage.id).where(OutboxMessage.user_id == user_id)
                )
            )
        )
        or 0
    )


async def test_deleting_an_account_deletes_the_items_of_its_messages(
    app, make_user, make_client, group
):
    post_id, (gone, stays) = await _watched_reply(app, make_user, make_client, group, "itemdel")
    async with app.state.db.sessionmaker() as s:
        items = select(OutboxItem.notification_id).join(
            Notification, Notification.id == OutboxItem.notification_id
        )
        before = set((await s.scalars(items.where(Notification.post_id == post_id))).all())
        assert len(before) == 2
        assert await _items_of(s, gone) == 1
        user = await s.get_one(User, gone)
        await deletion.delete_account(
            s, app.state.hasher, user=user, password=PASSWORD, mode="anonymize"
        )
        await s.commit()
    async with app.state.db.sessionmaker() as s:
        assert await _items_of(s, gone) == 0
        # nothing of theirs is left behind, and nobody else's went with it
        left = set((await s.scalars(select(OutboxItem.notification_id))).all()) & before
        assert len(left) == 1
        assert await _items_of(s, stays) == 1
        assert not await s.scalar(
            select(func.count())
            .select_from(OutboxItem)
            .where(~OutboxItem.outbox_id.in_(select(OutboxMessage.id)))
        )


async def test_the_retention_purge_deletes_the_items_of_the_messages_it_deletes(
    app, make_user, make_client, group
):
    _post_id, (old, recent) = await _watched_reply(app, make_user, make_client, group, "itempurge")
    now = utcnow()
    async with app.state.db.sessionmaker() as s:
        # the first member's message was sent 31 days ago, the second's yesterday
        for user_id, days in ((old, 31), (recent, 1)):
            await s.execute(
                update(OutboxMessage)
                .where(OutboxMessage.user_id == user_id)
                .values(status=OutboxStatus.sent.value, sent_at=now - timedelta(days=days))
            )
        await s.commit()
        purged = await purge_expired(s, settings=app.state.settings, now=now)
        await s.commit()
        assert purged.emails >= 1
    async with app.state.db.sessionmaker() as s:
        assert not await s.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.user_id == old)
        )
        assert await _items_of(s, old) == 0
        assert await _items_of(s, recent) == 1
        assert not await s.scalar(
            select(func.count())
            .select_from(OutboxItem)
            .where(~OutboxItem.outbox_id.in_(select(OutboxMessage.id)))
        )


async def test_the_rows_a_fan_out_writes_carry_no_foreign_keys(connection):
    """A reply to a discussion 1,000 members watch writes 1,000 notifications and, once the
    earlier messages were sent, 1,000 outbox messages; each foreign key of those rows was a
    look-up and a row lock per row on PostgreSQL (migrations w17watch, x24keys: 64-88 ms
    -> 18 ms for 1,000 new messages). None may come back unnoticed: what their cascades
    did is done where rows go (the tests above), and nothing deletes posts, discussions
    or members."""

    def keys(sync_connection) -> dict[str, list[str]]:
        inspector = inspect(sync_connection)
        return {
            table: [key["referred_table"] for key in inspector.get_foreign_keys(table)]
            for table in ("notifications", "email_outbox", "email_outbox_items")
        }

    assert await connection.run_sync(keys) == {
        "notifications": [],
        "email_outbox": [],
        "email_outbox_items": [],
    }
