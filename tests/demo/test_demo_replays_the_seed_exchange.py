from sqlalchemy import func, select

from app.accounts.models import User
from app.demo.seed import EXCHANGE, EXCHANGE_FILE, load_demo
from app.discussions.models import Discussion, Post
from app.groups.models import Group


async def test_demo_loads_the_whole_exchange_threaded_and_is_idempotent(app, session):
    discussion = await load_demo(session, app.state.hasher)
    await session.commit()
    again = await load_demo(session, app.state.hasher)
    await session.commit()
    assert again.id == discussion.id
    assert await session.scalar(select(func.count()).select_from(Group)) == 4
    assert await session.scalar(select(func.count()).select_from(User)) == 7

    rows = (
        await session.execute(
            select(Post.id, Post.reply_to_id, Post.depth, Post.body_md, User.username)
            .join(User, User.id == Post.author_id)
            .where(Post.discussion_id == discussion.id)
            .order_by(Post.id)
        )
    ).all()
    assert [r.username for r in rows] == [p.author for p in EXCHANGE]
    ids = [r.id for r in rows]
    for row, seed in zip(rows[1:], EXCHANGE[1:], strict=True):
        expected_parent = ids[seed.reply_to] if seed.reply_to not in (None, 0) else None
        assert row.reply_to_id == expected_parent
    # every line of the seed (but the "Original post from" header) is in some post, in order
    lines = EXCHANGE_FILE.read_text(encoding="utf-8").splitlines()[1:]
    text = "\n\n".join(r.body_md for r in rows)
    position = 0
    for line in lines:
        position = text.index(line, position)
    d = await session.get(Discussion, discussion.id)
    assert d.reply_count == len(EXCHANGE) - 1


async def test_demo_page_shows_badges_mentions_as_text_and_links(app, make_client, session):
    discussion = await load_demo(session, app.state.hasher)
    await session.commit()
    c = await make_client()
    page = await c.get(f"/discussions/{discussion.id}/{discussion.slug}")
    assert page.status_code == 200
    html = page.text
    assert "Volunteer Mentor" in html and "Moderator" in html
    assert 'href="http://mayocl.in/1mtmR63" rel="nofollow ugc noopener"' in html
    assert "in reply to" in html  # the thread goes deeper than the indentation cap
    assert "@colleeyoung" in html  # the misspelt name stays plain text
