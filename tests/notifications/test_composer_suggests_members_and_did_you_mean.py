"""Composer help: /api/v1/users/suggest completes @names (prefix, any case, the
discussion's participants first, suspended members left out); after posting an unknown
@name through the form, a page asks "did you mean" and can correct it in one click."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from app.accounts.models import Role, User
from app.db import utcnow
from app.notifications.models import Notification


async def start(client: Any, group: Any, body: str = "A question") -> dict[str, Any]:
    r = await client.api(
        "POST", f"/api/v1/groups/{group.slug}/discussions", json={"title": "Counts", "body": body}
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_suggestions_put_participants_first(make_client, make_user, mentor, group, session):
    names = ["johnbishop", "joanna", "Jonas_K", "john.doe", "jo-suspended", "zed"]
    users = {
        n: await make_user(n, Role.mentor if n == "johnbishop" else Role.member) for n in names
    }
    await session.execute(
        update(User).where(User.id == users["jo-suspended"].id).values(suspended_at=utcnow())
    )
    await session.commit()
    asker = await make_client(mentor)
    d = await start(asker, group)
    jonas = await make_client(users["Jonas_K"])
    await jonas.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "Hi"})

    r = await asker.get(f"/api/v1/users/suggest?q=JO&discussion_id={d['id']}")
    assert r.status_code == 200
    got = r.json()
    assert [s["username"] for s in got] == ["Jonas_K", "joanna", "john.doe", "johnbishop"]
    assert got[0]["participant"] is True and got[1]["participant"] is False
    assert got[3]["badge"] == "Volunteer Mentor"
    r = await asker.get("/api/v1/users/suggest?q=joh")
    assert [s["username"] for s in r.json()] == ["john.doe", "johnbishop"]
    # "_" and "." are name characters, not wildcards
    assert (await asker.get("/api/v1/users/suggest?q=jon_")).json() == []
    # "@" alone: the participants
    r = await asker.get(f"/api/v1/users/suggest?discussion_id={d['id']}")
    assert [s["username"] for s in r.json()] == ["Jonas_K", "mentor_mo"]
    assert (await asker.get("/api/v1/users/suggest?q=")).json() == []
    assert len((await asker.get("/api/v1/users/suggest?q=j")).json()) <= 8
    assert (await asker.get("/api/v1/users/suggest?q=%27;--")).status_code == 422
    # a discussion the asker may not see is not there
    assert (await asker.get("/api/v1/users/suggest?q=j&discussion_id=999999")).status_code == 404
    # visitors: sign in first; /users/{username} still answers for a member named "suggest"
    visitor = await make_client()
    assert (await visitor.get("/api/v1/users/suggest?q=jo")).status_code == 401
    assert (await visitor.get("/api/v1/users/johnbishop")).json()["username"] == "johnbishop"


async def test_did_you_mean_after_posting_through_the_form(
    make_client, make_user, mentor, group, session
):
    colleen = await make_user("colleenyoung", Role.moderator)
    asker = await make_client(mentor)
    d = await start(asker, group)
    sonia = await make_client(await make_user("sonia85", Role.mentor))
    r = await sonia.form(
        f"/discussions/{d['id']}/replies",
        {"body": "Dear @colleeyoung, can you help? `@colleeyoung` stays", "client_key": "k1"},
    )
    assert r.status_code == 303
    assert r.headers["location"].endswith("/mentions")
    post_id = int(r.headers["location"].split("/")[2])
    page = await sonia.get(r.headers["location"])
    assert page.status_code == 200
    assert "<strong>@colleeyoung</strong> is not a member here." in page.text
    assert "Did you mean <strong>@colleenyoung</strong>?" in page.text
    # only the author may look
    assert (await asker.get(f"/posts/{post_id}/mentions")).status_code == 404
    # a suggestion that was not offered is refused
    r = await sonia.form(
        f"/posts/{post_id}/mentions", {"name": "colleeyoung", "replacement": "mentor_mo"}
    )
    assert r.status_code == 422
    r = await sonia.form(
        f"/posts/{post_id}/mentions", {"name": "colleeyoung", "replacement": "colleenyoung"}
    )
    assert r.status_code == 303 and r.headers["location"] == f"/posts/{post_id}"
    post = (await sonia.get(f"/api/v1/posts/{post_id}")).json()
    assert post["body"] == "Dear @colleenyoung, can you help? `@colleeyoung` stays"
    assert 'href="/users/colleenyoung" class="mention"' in post["body_html"]
    kind = await session.scalar(
        select(Notification.kind).where(
            Notification.post_id == post_id, Notification.user_id == colleen.id
        )
    )
    assert kind == "mention"
    # with every name known, posting goes straight to the post
    r = await sonia.form(
        f"/discussions/{d['id']}/replies", {"body": "Thanks @colleenyoung", "client_key": "k2"}
    )
    assert "#post-" in r.headers["location"]
    # the same for a new discussion
    r = await sonia.form(
        f"/groups/{group.slug}/new",
        {"title": "Abroad", "body": "Hello @colleeyoung", "client_key": "k3"},
    )
    assert r.status_code == 303 and r.headers["location"].endswith("/mentions")


async def test_a_post_fragment_is_the_post_as_the_page_shows_it(
    make_client, make_user, mentor, moderator, group
):
    asker = await make_client(mentor)
    d = await start(asker, group)
    writer = await make_client(await make_user("writer_wes", Role.mentor))
    r = await writer.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "**Hi**"})
    post = r.json()
    visitor = await make_client()
    html = (await visitor.get(f"/posts/{post['id']}/fragment")).text
    assert html.startswith("<article") and "<strong>Hi</strong>" in html
    assert "reply-link" not in html  # visitors cannot reply
    html = (await asker.get(f"/posts/{post['id']}/fragment")).text
    assert 'class="reply-link"' in html and 'name="csrf_token"' in html
    mod = await make_client(moderator)
    await mod.api("POST", f"/api/v1/mod/posts/{post['id']}/hide", json={"reason": "x"})
    assert (await visitor.get(f"/posts/{post['id']}/fragment")).status_code == 404
