"""Each post's search document keeps the facts the access rule reads (statuses, deletion,
authors, the group's visibility), copied by database triggers in the writer's transaction:
after every kind of write that changes them, no document disagrees with its post,
discussion and group. A search then decides visibility on the document's own row: its
candidate statements read no post, discussion or group, and a search makes the same
statements whatever it finds."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, or_, select

from app.accounts.models import Role
from app.discussions.models import Discussion, Post
from app.discussions.posting import delete_post, reply, start_discussion
from app.groups.models import Group
from app.groups.service import create_group, set_visibility
from app.moderation.deleted import restore_deleted_post
from app.moderation.service import approve_post, hide_post, move_discussion, restore_post
from app.safety.deletion import delete_account
from app.search import engine
from app.search.models import SearchDocument as Doc
from app.search.query import parse_query


async def disagreeing(session: Any) -> int:
    """Documents whose facts differ from their post's, discussion's and group's rows."""
    deleted = or_(Post.deleted_at.is_not(None), Discussion.deleted_at.is_not(None))
    stale = (
        select(func.count())
        .select_from(Doc)
        .join(Post, Post.id == Doc.source_id)
        .join(Discussion, Discussion.id == Post.discussion_id)
        .join(Group, Group.id == Discussion.group_id)
        .where(
            Doc.source == "post",
            or_(
                Doc.post_status.is_distinct_from(Post.status),
                Doc.discussion_status.is_distinct_from(Discussion.status),
                Doc.deleted.is_distinct_from(deleted),
                Doc.public_group.is_distinct_from(Group.visibility == "public"),
                Doc.author_id.is_distinct_from(Post.author_id),
                Doc.discussion_author_id.is_distinct_from(Discussion.author_id),
                Doc.is_opening.is_distinct_from(Post.is_opening),
                Doc.group_id.is_distinct_from(Discussion.group_id),
            ),
        )
    )
    return int(await session.scalar(stale) or 0)


async def found(session: Any, q: str, viewer: Any = None) -> list[Any]:
    return (await engine.search(session, parsed=parse_query(q), viewer=viewer, limit=50)).hits


@pytest.mark.hold_first_posts
async def test_every_write_that_changes_visibility_keeps_the_facts(
    app, session, make_user, group, moderator, admin
):
    tom = await make_user("trusted_tom", Role.mentor)
    nell = await make_user("newbie_nell", password="correct horse battery")
    async with app.state.db.sessionmaker() as s:
        g = await s.get_one(Group, group.id)
        mod, adm = await s.merge(moderator), await s.merge(admin)
        tom_, nell_ = await s.merge(tom), await s.merge(nell)
        opened = await start_discussion(s, author=tom_, group=g, title="Facts qzfacts", body="b")
        d = opened.discussion
        held = await reply(s, author=nell_, discussion=d, body="held qzheld")
        hidden = await reply(s, author=tom_, discussion=d, body="hidden qzhidden")
        gone = await reply(s, author=tom_, discussion=d, body="gone qzgone")
        await s.commit()
        assert await disagreeing(s) == 0
        steps = [
            lambda: hide_post(s, moderator=mod, post=hidden.post, reason="test"),
            lambda: approve_post(s, moderator=mod, post=held.post),
            lambda: restore_post(s, moderator=mod, post=hidden.post),
            lambda: delete_post(s, actor=tom_, post=gone.post),
            lambda: restore_deleted_post(s, moderator=mod, post=gone.post),
            lambda: set_visibility(s, admin=adm, group=g, visibility="members"),
            lambda: hide_post(s, moderator=mod, post=opened.post, reason="whole thread"),
            lambda: restore_post(s, moderator=mod, post=opened.post),
        ]
        for step in steps:
            await step()
            await s.commit()
            assert await disagreeing(s) == 0
        other = await create_group(s, slug="elsewhere", name="Elsewhere")
        await move_discussion(s, moderator=mod, discussion=d, group=other)
        await delete_post(s, actor=tom_, post=opened.post)  # the whole discussion
        await s.commit()
        assert await disagreeing(s) == 0
    # a member's erased account: their posts are deleted, their text gone from the index
    async with app.state.db.sessionmaker() as s:
        await delete_account(
            s,
            app.state.hasher,
            user=await s.merge(nell),
            password="correct horse battery",
            mode="delete_posts",
        )
        await s.commit()
        assert await disagreeing(s) == 0
    assert await found(session, "qzheld", moderator) == []
    assert [h.marker for h in await found(session, "qzgone", moderator)] == ["deleted"]
    assert await found(session, "qzgone", tom) == []


@pytest.mark.parametrize(
    "q",
    ["qzcommon", "qznothing", '"qzcommon words"', "#blood-disorders qzcommon", "qzcommon in:title"],
)
async def test_candidates_read_the_documents_alone_in_a_fixed_number_of_statements(
    app, session, make_user, group, count_queries, q
):
    author = await make_user("statement_sam")
    async with app.state.db.sessionmaker() as s:
        g, sam = await s.get_one(Group, group.id), await s.merge(author)
        for i in range(6):
            d = await start_discussion(
                s, author=sam, group=g, title=f"qzcommon words {i}", body="qzcommon words"
            )
            await reply(s, author=sam, discussion=d.discussion, body="qzcommon words again")
        await s.commit()
    counts = []
    for limit in (1, 5, 50):
        with count_queries() as statements:
            await engine.search(session, parsed=parse_query(q), viewer=None, limit=limit)
        counts.append(len(statements))
        for sql in (" ".join(s.split()).lower() for s in statements):
            if "snippet(" in sql or "ts_headline(" in sql:
                continue  # the page's rows: described with their thread and group
            for joined in ("join posts ", "join discussions ", "join groups "):
                assert joined not in sql, sql
    assert len(set(counts)) == 1 and counts[0] <= 5, counts
