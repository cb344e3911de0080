"""A discussion whose top-level replies fit on its first page is read by `ALL_POSTS` (every
post of the discussion), not `PAGE_POSTS` (one page of top-level replies and what is under
them, through a CTE): the same rows for every viewer, held, hidden, deleted and nested
replies included; and a discussion of more pages still reads them page by page."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from app.core.rows import fetch_all
from app.discussions import posting, reading
from app.discussions.models import Post, Visibility


async def _thread(session: Any, *, author: Any, moderator: Any, group: Any) -> Any:
    written = await posting.start_discussion(
        session, author=moderator, group=group, title="Iron infusions", body="Who had one?"
    )
    d = written.discussion
    first = await posting.reply(session, author=moderator, discussion=d, body="I did.")
    held = await posting.reply(session, author=author, discussion=d, body="Me too")
    under = await posting.reply(
        session, author=moderator, discussion=d, body="How was it?", reply_to_id=first.post.id
    )
    await posting.reply(
        session, author=moderator, discussion=d, body="Deeper", reply_to_id=under.post.id
    )
    hidden = await posting.reply(session, author=moderator, discussion=d, body="Off topic")
    gone = await posting.reply(session, author=moderator, discussion=d, body="Oops")
    await posting.delete_post(session, actor=moderator, post=gone.post)
    for post, status in ((hidden.post, Visibility.hidden), (held.post, Visibility.pending)):
        await session.execute(update(Post).where(Post.id == post.id).values(status=status.value))
    return d


async def test_the_same_rows_for_every_viewer(
    session: Any, member: Any, moderator: Any, make_user: Any, group: Any
) -> None:
    d = await _thread(session, author=member, moderator=moderator, group=group)
    other = await make_user("another_member")
    for viewer_id, sees_all in (
        (member.id, False),
        (other.id, False),
        (0, False),
        (moderator.id, True),
    ):
        params = {"discussion_id": d.id, "viewer": viewer_id, "sees_all": sees_all}
        whole = await fetch_all(session, reading.ALL_POSTS, **params)
        paged = await fetch_all(session, reading.PAGE_POSTS, **params, limit=20, offset=0)
        assert sorted(whole, key=repr) == sorted(paged, key=repr)
        assert len(whole) == (7 if sees_all or viewer_id == member.id else 6)


async def test_a_discussion_of_more_pages_is_read_page_by_page(
    session: Any, moderator: Any, group: Any
) -> None:
    written = await posting.start_discussion(
        session, author=moderator, group=group, title="Long one", body="Question"
    )
    d = written.discussion
    for n in range(5):
        await posting.reply(session, author=moderator, discussion=d, body=f"Answer {n}")
    head = await reading.discussion_head(session, d.id, viewer=moderator)
    page = await reading.load_discussion_page(
        session, discussion=head, page=2, page_size=2, viewer=moderator
    )
    assert page.pages == 3 and [p.body_md for p in page.replies] == [
        "Answer 2",
        "Answer 3",
    ]
    whole = await reading.load_discussion_page(
        session, discussion=head, page=1, page_size=5, viewer=moderator
    )
    assert whole.pages == 1 and len(whole.replies) == 5 and whole.opening is not None
