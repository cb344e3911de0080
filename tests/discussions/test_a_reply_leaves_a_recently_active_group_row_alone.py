"""Every reply used to write its group's row (`last_activity_at`), so on PostgreSQL every
writer in a group queued on that row's lock. A reply now moves the group's last activity
only when it is older than `posting.GROUP_ACTIVITY_RESOLUTION`: within the window, as the
group row the request loaded shows, no statement is sent at all; otherwise the UPDATE is
conditional, and matches no row if another writer moved it meanwhile (so it writes nothing
and locks nothing)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from app.discussions import posting
from app.groups.models import Group


async def _last_activity(app, group_id):
    async with app.state.db.sessionmaker() as s:
        return (await s.get_one(Group, group_id)).last_activity_at


async def _set_last_activity(app, group_id, when):
    async with app.state.db.sessionmaker() as s:
        await s.execute(update(Group).where(Group.id == group_id).values(last_activity_at=when))
        await s.commit()


async def test_a_reply_within_the_window_does_not_write_the_group_row(
    app, make_client, member, group, count_queries
):
    c = await make_client(member)
    d = (
        await c.api(
            "POST", f"/api/v1/groups/{group.slug}/discussions", json={"title": "t", "body": "b"}
        )
    ).json()
    started = await _last_activity(app, group.id)
    assert started is not None

    with count_queries() as statements:
        r = await c.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "hi"})
    assert r.status_code == 201, r.text
    group_writes = [s for s in statements if s.lstrip().upper().startswith("UPDATE GROUPS")]
    # the discussion started a moment ago: no statement, the group's row left as it was
    assert group_writes == []
    assert await _last_activity(app, group.id) == started


async def test_a_reply_after_the_window_moves_the_group_s_last_activity(
    app, make_client, member, group, count_queries
):
    c = await make_client(member)
    d = (
        await c.api(
            "POST", f"/api/v1/groups/{group.slug}/discussions", json={"title": "t", "body": "b"}
        )
    ).json()
    stale = (await _last_activity(app, group.id)) - posting.GROUP_ACTIVITY_RESOLUTION * 2
    await _set_last_activity(app, group.id, stale)

    with count_queries() as statements:
        r = await c.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "hi"})
    assert r.status_code == 201, r.text
    group_writes = [s for s in statements if s.lstrip().upper().startswith("UPDATE GROUPS")]
    # one statement, and it can only match a row whose last activity is old enough
    assert len(group_writes) == 1, group_writes
    assert "last_activity_at <" in group_writes[0], group_writes[0]
    moved = await _last_activity(app, group.id)
    assert moved > stale + posting.GROUP_ACTIVITY_RESOLUTION
    assert timedelta(seconds=10) >= posting.GROUP_ACTIVITY_RESOLUTION  # "a few seconds"
