import asyncio

import pytest
from sqlalchemy import func, select, update

from app.discussions import posting
from app.discussions.models import Discussion, Post
from app.groups.models import Group
from app.moderation.models import SiteSettings


async def test_double_submitted_form_creates_one_discussion(make_client, member, group, session):
    c = await make_client(member)
    form = {"title": "Night sweats", "body": "Anyone else?", "client_key": "k-123"}
    first = await c.form(f"/groups/{group.slug}/new", form)
    second = await c.form(f"/groups/{group.slug}/new", form)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert await session.scalar(select(func.count()).select_from(Discussion)) == 1
    assert (await session.get(Group, group.id)).discussion_count == 1


async def test_double_submitted_reply_creates_one_post(make_client, member, group, session):
    c = await make_client(member)
    d = (
        await c.api(
            "POST", f"/api/v1/groups/{group.slug}/discussions", json={"title": "t", "body": "b"}
        )
    ).json()
    payload = {"body": "same reply", "client_key": "reply-key-1"}
    r1 = await c.api("POST", f"/api/v1/discussions/{d['id']}/posts", json=payload)
    r2 = await c.api("POST", f"/api/v1/discussions/{d['id']}/posts", json=payload)
    assert (r1.status_code, r2.status_code) == (201, 200)
    assert r1.json()["id"] == r2.json()["id"]
    form = await c.form(
        f"/discussions/{d['id']}/replies", {"body": "same reply", "client_key": "f-1"}
    )
    again = await c.form(
        f"/discussions/{d['id']}/replies", {"body": "same reply", "client_key": "f-1"}
    )
    assert form.headers["location"] == again.headers["location"]
    assert (await session.get(Discussion, d["id"])).reply_count == 2


async def test_failure_in_the_middle_of_a_write_leaves_nothing(
    make_client, member, group, session, monkeypatch
):
    c = await make_client(member)
    d = (
        await c.api(
            "POST", f"/api/v1/groups/{group.slug}/discussions", json={"title": "t", "body": "b"}
        )
    ).json()

    def crash(*a, **kw):  # a write script failing after the post and the counters
        raise RuntimeError("disk on fire")
        yield  # (a generator, as write scripts are)

    with monkeypatch.context() as patched:
        patched.setattr(posting.hooks, "publication_steps", crash)
        r = await c.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "lost?"})
    assert r.status_code == 500 and r.json()["code"] == "server_error"
    assert (
        await session.scalar(
            select(func.count()).select_from(Post).where(Post.discussion_id == d["id"])
        )
        == 1
    )
    assert (await session.get(Discussion, d["id"])).reply_count == 0


async def test_concurrent_replies_keep_counts_exact(tmp_path):
    """Real connections, real commits: 20 members reply at once to one discussion."""
    import httpx

    from app.accounts import service as accounts
    from app.accounts.models import Role
    from app.core.security import PasswordHasher
    from app.db import Database
    from app.groups.service import create_group
    from app.main import create_app
    from tests.conftest import drop_database, fresh_database_url, settings_for_tests

    url = await asyncio.to_thread(fresh_database_url, tmp_path, "concurrency")
    try:
        app = create_app(settings_for_tests(tmp_path, url))
        db: Database = app.state.db
        hasher = PasswordHasher(fast=True)
        async with db.sessionmaker() as s:
            await s.execute(update(SiteSettings).values(hold_first_posts=0))
            g = await create_group(s, slug="g", name="G")
            users = [
                await accounts.register(
                    s,
                    hasher,
                    username=f"racer{i}",
                    email=f"r{i}@x.org",
                    password="long enough passphrase",
                    role=Role.member,
                )
                for i in range(20)
            ]
            written = await posting.start_discussion(
                s, author=users[0], group=g, title="t", body="b"
            )
            tokens = [await accounts.start_session(s, app.state.settings, user=u) for u in users]
            await s.commit()
        discussion_id = written.discussion.id

        async def post(token: str, n: int) -> int:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://t"
            ) as c:
                c.cookies.set("kindred_session", token)
                r = await c.post(
                    f"/api/v1/discussions/{discussion_id}/posts",
                    json={"body": f"reply {n}"},
                    headers={"x-csrf-token": app.state.signer.sign("csrf", token)},
                )
                return r.status_code

        statuses = await asyncio.gather(*(post(t, i) for i, t in enumerate(tokens)))
        assert statuses == [201] * 20
        async with db.sessionmaker() as s:
            d = await s.get(Discussion, discussion_id)
            assert d.reply_count == 20 and d.top_level_count == 20
            assert (
                await s.scalar(
                    select(func.count())
                    .select_from(Post)
                    .where(Post.discussion_id == discussion_id, Post.is_opening.is_(False))
                )
                == 20
            )
        await db.dispose()
    finally:
        await asyncio.to_thread(drop_database, url)


@pytest.mark.parametrize("kind", ["helpful", "hug"])
async def test_reactions_toggle_and_count_who_reacted(make_client, make_user, member, group, kind):
    author = await make_client(member)
    d = (
        await author.api(
            "POST", f"/api/v1/groups/{group.slug}/discussions", json={"title": "t", "body": "b"}
        )
    ).json()
    p = (
        await author.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "r"})
    ).json()
    fans = [await make_client(await make_user()) for _ in range(3)]
    for fan in fans:
        r = await fan.api("POST", f"/api/v1/posts/{p['id']}/reactions", json={"kind": kind})
        assert r.status_code == 200 and r.json()["active"] is True
    r = await fans[0].api("POST", f"/api/v1/posts/{p['id']}/reactions", json={"kind": kind})
    assert r.json()["active"] is False and r.json()["counts"][kind] == 2
    r = await fans[1].api(
        "POST", f"/api/v1/posts/{p['id']}/reactions", json={"kind": kind, "active": True}
    )
    assert r.json()["counts"][kind] == 2  # setting an existing reaction again changes nothing
    who = (await author.get(f"/api/v1/posts/{p['id']}/reactions")).json()
    assert who[kind] == [fans[1].user.username, fans[2].user.username]
    own = await author.api("POST", f"/api/v1/posts/{p['id']}/reactions", json={"kind": kind})
    assert own.status_code == 403
    bad = await fans[0].api("POST", f"/api/v1/posts/{p['id']}/reactions", json={"kind": "like"})
    assert bad.status_code == 422
    page = await fans[1].get(d["url"])
    assert 'aria-pressed="true"' in page.text
    form = await fans[0].form(f"/posts/{p['id']}/reactions", {"kind": kind})
    assert form.status_code == 303 and form.headers["location"].endswith(f"#post-{p['id']}")
