"""Held, hidden and deleted posts and discussions are never found, counted, suggested or fed
to those who may not see them; moderators find them, marked. Visibility is decided when
searching, so hiding, restoring, approving, deleting and moving take effect at once; edits
change what is found in the same transaction."""

from __future__ import annotations

from typing import Any

import feedparser
import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.discussions.models import Discussion, Post
from app.discussions.posting import delete_post, edit_post, reply, start_discussion
from app.groups.models import Group
from app.groups.service import create_group
from app.moderation.service import approve_post, hide_post, move_discussion, restore_post
from app.search import engine
from app.search.models import SearchDocument
from app.search.query import parse_query

MARKERS = {
    "heldreplyqz": "held for review",
    "hiddenreplyqz": "hidden",
    "hiddentopicqz": "hidden",
    "heldtopicqz": "held for review",
}
# deleted text is nobody's to read in its thread; moderators read it where it is marked as
# deleted (their deleted-posts pages, search: app/access/visibility.py `sees_deleted`)
DELETED = "deletedreplyqz"


async def found(session: Any, q: str, viewer: Any) -> list[Any]:
    return (await engine.search(session, parsed=parse_query(q), viewer=viewer, limit=50)).hits


@pytest.fixture
async def world(app: Any, make_user: Any, group: Any, moderator: Any) -> dict[str, Any]:
    trusted = await make_user("trusted_tom", Role.mentor)
    newbie = await make_user("newbie_nell")
    async with app.state.db.sessionmaker() as s:
        g = await s.get_one(Group, group.id)
        mod = await s.merge(moderator)
        tom = await s.merge(trusted)
        nell = await s.merge(newbie)
        open_d = (
            await start_discussion(
                s, author=tom, group=g, title="Visible question qzvisible", body="visible body"
            )
        ).discussion
        held = await reply(s, author=nell, discussion=open_d, body="a heldreplyqz reply")
        assert held.pending
        hidden = await reply(s, author=tom, discussion=open_d, body="a hiddenreplyqz reply")
        await hide_post(s, moderator=mod, post=hidden.post, reason="test")
        gone = await reply(s, author=tom, discussion=open_d, body="a deletedreplyqz reply")
        await delete_post(s, actor=tom, post=gone.post)
        hidden_d = await start_discussion(
            s, author=tom, group=g, title="hiddentopicqz title", body="hidden topic body"
        )
        await hide_post(s, moderator=mod, post=hidden_d.post, reason="test")
        held_d = await start_discussion(
            s, author=nell, group=g, title="heldtopicqz title", body="held topic body"
        )
        assert held_d.pending
        await s.commit()
        return {
            "discussion": open_d,
            "hidden": hidden.post,
            "held": held.post,
            "held_discussion": held_d.discussion,
            "newbie": newbie,
            "trusted": trusted,
        }


@pytest.mark.hold_first_posts
async def test_markers_are_found_by_moderators_only_and_marked(
    app, session, world, member, moderator, make_client
):
    for viewer in (None, member, world["trusted"]):
        assert await found(session, DELETED, viewer) == []
    assert [h.marker for h in await found(session, DELETED, moderator)] == ["deleted"]
    for marker, label in MARKERS.items():
        for viewer in (None, member):
            assert await found(session, marker, viewer) == [], (marker, viewer)
        hits = await found(session, marker, moderator)
        assert [h.marker for h in hits] == [label], marker
    # authors see their own held or hidden posts, as the discussion page shows them, but
    # not the ones they deleted, nor other people's
    assert [h.marker for h in await found(session, "heldreplyqz", world["newbie"])] == [
        "held for review"
    ]
    assert await found(session, "hiddenreplyqz", world["newbie"]) == []
    assert [h.marker for h in await found(session, "hiddenreplyqz", world["trusted"])] == ["hidden"]
    assert await found(session, "deletedreplyqz", world["trusted"]) == []
    assert await found(session, "heldreplyqz", world["trusted"]) == []
    # counts and operator-only listings count only what the viewer may see
    visitor = await engine.search(session, parsed=parse_query("#blood-disorders"), viewer=None)
    assert visitor.total == 1 and [h.title for h in visitor.hits] == ["Visible question qzvisible"]
    everything = await engine.search(
        session, parsed=parse_query("#blood-disorders"), viewer=moderator
    )
    assert everything.total == 6  # the deleted reply too, marked
    # the API, the page, suggestions and feeds, as a visitor and as a member
    for client in (await make_client(), await make_client(member)):
        for marker in [*MARKERS, DELETED]:
            r = await client.get("/api/v1/search", params={"q": marker})
            assert r.json() == {
                "results": [],
                "total": 0,
                "total_capped": False,
                "next_cursor": None,
            }
            page = await client.get("/search", params={"q": marker})
            assert "0 results" in page.text and "search-hit" not in page.text
            s = await client.get("/api/v1/discussions/similar", params={"title": marker})
            assert s.json() == []
        for feed_url in (
            "/feeds/latest.atom",
            "/groups/blood-disorders/feed.atom",
            f"/discussions/{world['discussion'].id}/feed.atom",
        ):
            feed = await client.get(feed_url)
            assert feed.status_code == 200
            assert not any(m in feed.text for m in [*MARKERS, DELETED]), feed_url
            assert not feedparser.parse(feed.text).bozo
    held_feed = await (await make_client()).get(
        f"/discussions/{world['held_discussion'].id}/feed.atom"
    )
    assert held_feed.status_code == 404


@pytest.mark.hold_first_posts
async def test_restore_approve_move_delete_and_edit_show_at_once(
    app, session, world, moderator, member
):
    async with app.state.db.sessionmaker() as s:
        mod = await s.merge(moderator)
        await restore_post(s, moderator=mod, post=await s.get_one(Post, world["hidden"].id))
        await approve_post(s, moderator=mod, post=await s.get_one(Post, world["held"].id))
        other = await create_group(s, slug="elsewhere", name="Elsewhere")
        await move_discussion(
            s,
            moderator=mod,
            discussion=await s.get_one(Discussion, world["discussion"].id),
            group=other,
        )
        await s.commit()
    for marker in ("hiddenreplyqz", "heldreplyqz"):
        hits = await found(session, marker, None)
        assert [(h.marker, h.group_slug) for h in hits] == [(None, "elsewhere")], marker
    assert await found(session, "hiddenreplyqz #blood-disorders", None) == []
    # the index keeps each post's group for #group searches: the move rewrote it
    moved = await found(session, "hiddenreplyqz #elsewhere", None)
    assert [h.group_slug for h in moved] == ["elsewhere"]
    assert [h.group_slug for h in await found(session, "#elsewhere", None)] == ["elsewhere"] * 3
    stale = (
        select(func.count())
        .select_from(SearchDocument)
        .join(Discussion, Discussion.id == SearchDocument.discussion_id)
        .where(SearchDocument.group_id != Discussion.group_id)
    )
    assert await session.scalar(stale) == 0
    async with app.state.db.sessionmaker() as s:
        tom = await s.merge(world["trusted"])
        post = await s.get_one(Post, world["hidden"].id)
        await edit_post(s, editor=tom, post=post, body="now it says qzrewritten")
        opening = await s.scalar(
            Post.__table__.select()
            .with_only_columns(Post.id)
            .where(Post.discussion_id == world["discussion"].id, Post.is_opening.is_(True))
        )
        await edit_post(
            s,
            editor=tom,
            post=await s.get_one(Post, opening),
            body="visible body",
            title="Renamed qzrenamed",
        )
        await s.commit()
    assert await found(session, "hiddenreplyqz", None) == []
    assert [h.kind for h in await found(session, "qzrewritten", None)] == ["post"]
    assert [h.title for h in await found(session, "qzrenamed in:title", None)] == [
        "Renamed qzrenamed"
    ]
    async with app.state.db.sessionmaker() as s:
        tom = await s.merge(world["trusted"])
        await delete_post(s, actor=tom, post=await s.get_one(Post, world["hidden"].id))
        await s.commit()
    for viewer in (None, member):
        assert await found(session, "qzrewritten", viewer) == []
    assert [h.marker for h in await found(session, "qzrewritten", moderator)] == ["deleted"]
