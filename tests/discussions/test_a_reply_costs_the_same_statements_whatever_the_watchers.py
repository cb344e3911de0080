"""A reply with one @mention costs the same SQL statements with 1 watcher as with 60: the
notifications and e-mail of every watcher are written by set-based statements, never one
per watcher. The count is pinned, so a change that adds a statement to every reply is seen."""

from __future__ import annotations

from app.accounts.models import Role
from app.discussions import posting

# session look-up, the discussion, the reply's insert and counters, mentions, follows,
# notifications, the e-mail outbox and the search index's document: measured when this test
# was written (14; it was 18 before every kind of notification went in one INSERT, the
# answer was built from what was written rather than read back, and a group whose loaded
# row shows recent activity was left alone; 21 on SQLite and 23 on PostgreSQL before the
# reply wrote its post once, read nothing back and counted in one UPDATE)
REPLY_STATEMENTS = 14


async def watched_discussion(app, author, group, make_user, watchers: int) -> int:
    from app.notifications import follows
    from app.notifications.models import FollowLevel

    async with app.state.db.sessionmaker() as s:
        written = await posting.start_discussion(s, author=author, group=group, title="Q", body="?")
        for _ in range(watchers):
            user = await make_user()
            await follows.follow_discussion(
                s, user=user, discussion=written.discussion, level=FollowLevel.watching
            )
        await s.commit()
        return written.discussion.id


async def test_reply_statement_count_does_not_grow_with_watchers(
    app, make_client, make_user, group, count_queries
):
    author = await make_user("thread_starter")
    replier = await make_user("replier", Role.mentor)
    await make_user("mentioned_one")
    client = await make_client(replier)
    counts = []
    for watchers in (1, 60):
        discussion_id = await watched_discussion(app, author, group, make_user, watchers)
        # warm: the first request of a session may touch it
        await client.get("/api/v1/me")
        with count_queries() as statements:
            r = await client.api(
                "POST",
                f"/api/v1/discussions/{discussion_id}/posts",
                json={"body": "Thank you, @mentioned_one, that helped."},
            )
        assert r.status_code == 201, r.text
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    assert counts[0] <= REPLY_STATEMENTS, (counts, REPLY_STATEMENTS)
