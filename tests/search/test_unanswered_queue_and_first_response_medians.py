"""The unanswered queue (mentors and moderators): discussions nobody but their author has
answered, oldest first, by group, with how long they waited; and per group the median time
to a first reply over 30 days, against discussions with known times."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from app.accounts.models import Role
from app.db import utcnow
from app.discussions.models import Discussion, Post
from app.discussions.posting import reply, start_discussion
from app.groups.models import Group
from app.groups.service import create_group
from app.moderation.service import hide_post
from app.search.service import unanswered

NOW = utcnow().replace(microsecond=0)


async def at(s: Any, post: Post, when: Any) -> None:
    await s.execute(update(Post).where(Post.id == post.id).values(created_at=when))
    if post.is_opening:
        await s.execute(
            update(Discussion).where(Discussion.id == post.discussion_id).values(created_at=when)
        )


@pytest.fixture
async def timeline(app: Any, make_user: Any, group: Any, moderator: Any) -> dict[str, int]:
    asker = await make_user("asker_amy")
    helper = await make_user("helper_hugo", Role.mentor)
    async with app.state.db.sessionmaker() as s:
        g = await s.get_one(Group, group.id)
        other = await create_group(s, slug="other-group", name="Other group")
        amy, hugo = await s.merge(asker), await s.merge(helper)
        ids: dict[str, int] = {}

        async def ask(name: str, days_ago: float, grp: Group = g) -> Any:
            w = await start_discussion(s, author=amy, group=grp, title=f"Question {name}", body="?")
            await at(s, w.post, NOW - timedelta(days=days_ago))
            ids[name] = w.discussion.id
            return w

        async def answer(w: Any, by: Any, hours: float) -> None:
            r = await reply(s, author=by, discussion=w.discussion, body="an answer")
            await at(s, r.post, NOW - (NOW - w.discussion.created_at) + timedelta(hours=hours))

        d1 = await ask("one", 10)
        await answer(d1, hugo, 2)
        d2 = await ask("two", 5)
        await answer(d2, amy, 1)  # the author's own reply does not count
        await answer(d2, hugo, 4)
        await ask("three", 2)  # waiting
        d4 = await ask("four", 40)  # outside the 30 days
        await answer(d4, hugo, 100)
        d5 = await ask("five", 3)
        await answer(d5, amy, 1)  # only the author: still waiting
        await ask("elsewhere", 1, other)
        hidden = await ask("hidden", 20)
        await hide_post(s, moderator=await s.merge(moderator), post=hidden.post, reason="x")
        for w in (d1, d2, d4, d5):
            await s.refresh(w.discussion)
        await s.commit()
        return ids


async def test_queue_is_oldest_first_by_group_with_waiting_times(app, session, timeline):
    queue = await unanswered(session, viewer=None, now=NOW)
    assert [w.title for w in queue.items] == [
        "Question five",
        "Question three",
        "Question elsewhere",
    ]
    assert [w.waited for w in queue.items] == [
        timedelta(days=3),
        timedelta(days=2),
        timedelta(days=1),
    ]
    in_group = await unanswered(session, viewer=None, group="other-group", now=NOW)
    assert [w.title for w in in_group.items] == ["Question elsewhere"]
    first = await unanswered(session, viewer=None, limit=1, now=NOW)
    second = await unanswered(session, viewer=None, limit=1, cursor=first.next_cursor, now=NOW)
    assert [w.title for w in first.items + second.items] == ["Question five", "Question three"]


async def test_median_first_response_per_group_over_thirty_days(app, session, timeline):
    medians = {m.group_slug: m for m in (await unanswered(session, viewer=None, now=NOW)).medians}
    blood = medians["blood-disorders"]
    # one: 2 h, two: 4 h (the author's own reply at 1 h does not count); three and five wait;
    # four is older than 30 days; the hidden one is nobody's business here
    assert (blood.asked, blood.answered, blood.median) == (4, 2, timedelta(hours=3))
    other = medians["other-group"]
    assert (other.asked, other.answered, other.median) == (1, 0, None)


async def test_only_mentors_and_moderators_see_the_queue(
    app, timeline, make_client, member, mentor, moderator
):
    for user, status in ((None, 401), (member, 403), (mentor, 200), (moderator, 200)):
        client = await make_client(user)
        r = await client.get("/api/v1/unanswered")
        assert r.status_code == status, user
        page = await client.get("/unanswered")
        assert page.status_code in ((status,) if status == 200 else (status, 303)), user
    client = await make_client(mentor)
    body = (await client.get("/api/v1/unanswered", params={"group": "blood-disorders"})).json()
    assert [i["title"] for i in body["items"]] == ["Question five", "Question three"]
    assert body["items"][0]["waited_seconds"] >= 3 * 86400
    page = await client.get("/unanswered")
    assert "Question five" in page.text and "Time to a first reply" in page.text
    assert "3 h" in page.text  # the median of the blood disorders group
