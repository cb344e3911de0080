"""A member's group page costs the same two statements (the sign-in look-up; the group,
its pinned discussions, one page of the others) with two discussions as with thirty."""

from typing import Any

from sqlalchemy import update

from app.db import utcnow
from app.discussions import posting
from app.discussions.models import Discussion
from app.groups.service import create_group


async def seed_group(app: Any, author: Any, slug: str, discussions: int) -> None:
    async with app.state.db.sessionmaker() as s:
        group = await create_group(s, slug=slug, name=slug.title(), description="")
        ids = []
        for n in range(discussions):
            written = await posting.start_discussion(
                s, author=author, group=group, title=f"Question {n}", body="?"
            )
            ids.append(written.discussion.id)
        await s.execute(
            update(Discussion).where(Discussion.id == ids[0]).values(pinned_at=utcnow())
        )
        await s.commit()


async def test_group_page_statement_count_is_constant(
    app: Any, make_client: Any, member: Any, make_user: Any, count_queries: Any
) -> None:
    await seed_group(app, member, "small-group", 2)
    await seed_group(app, member, "large-group", 30)  # more than a page (25)
    reader = await make_client(await make_user())
    counts = []
    for url in ("/groups/small-group", "/groups/large-group"):
        await reader.get(url)  # warm: a session touch happens at most once
        with count_queries() as statements:
            r = await reader.get(url)
        assert r.status_code == 200 and "Question 1" in r.text
        counts.append(len(statements))
    # the sign-in look-up; the group, its pinned discussions and one page of the others in
    # one statement (groups.service.page_of_group)
    assert counts == [2, 2], counts
