import pytest
from sqlalchemy import func, select

from app.discussions.models import Discussion, Post


async def start(c, group, **data):
    return await c.api("POST", f"/api/v1/groups/{group.slug}/discussions", json=data)


@pytest.mark.parametrize(
    ("title", "body", "field"),
    [
        ("", "body", "title"),
        ("   \u200b ", "body", "title"),
        ("t" * 201, "body", "title"),
        ("Title", "", "body"),
        ("Title", "b" * 20_001, "body"),
        ("Title\x00", "body", "title"),
    ],
)
async def test_bad_title_or_body_is_422_naming_the_field(
    make_client, member, group, session, title, body, field
):
    c = await make_client(member)
    r = await start(c, group, title=title, body=body)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "validation_error"
    assert r.json()["detail"].startswith(field)
    assert await session.scalar(select(func.count()).select_from(Discussion)) == 0


async def test_limits_are_inclusive(make_client, member, group):
    c = await make_client(member)
    r = await start(c, group, title="t" * 200, body="b" * 20_000)
    assert r.status_code == 201


async def test_body_over_one_megabyte_is_413(make_client, member, group, session):
    c = await make_client(member)
    r = await start(c, group, title="Big", body="x" * 1_100_000)
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"
    r = await c.form(f"/groups/{group.slug}/new", {"title": "Big", "body": "x" * 1_100_000})
    assert r.status_code == 413
    assert await session.scalar(select(func.count()).select_from(Post)) == 0


async def test_streamed_body_over_the_limit_is_413(make_client, member, group):
    c = await make_client(member)

    async def chunks():
        for _ in range(20):
            yield b"x" * 100_000

    r = await c.post(
        f"/api/v1/groups/{group.slug}/discussions",
        content=chunks(),
        headers={"content-type": "application/json", "x-csrf-token": c.csrf},
    )
    assert r.status_code == 413


async def test_unknown_group_discussion_and_post_are_404(make_client, member):
    c = await make_client(member)
    assert (
        await c.api("POST", "/api/v1/groups/nope/discussions", json={"title": "t", "body": "b"})
    ).status_code == 404
    r = await c.get("/api/v1/discussions/999999")
    assert r.status_code == 404 and r.json() == {
        "detail": "There is no discussion at this address.",
        "code": "not_found",
    }
    assert (
        await c.api("POST", "/api/v1/discussions/999999/posts", json={"body": "b"})
    ).status_code == 404
    assert (await c.get("/discussions/999999/x")).status_code == 404
    # an id that is not a number in range names nothing: 404, not a 422 naming the parameter
    r = await c.get("/api/v1/posts/2147483648")  # beyond int4
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = await c.get("/discussions/abc")
    assert r.status_code == 404 and "discussion_id" not in r.text
    assert "There is no page at this address." in r.text
    assert (await c.get("/groups/nope")).status_code == 404


async def test_pages_refuse_malformed_numbers_and_cursors_with_422(make_client, member, group):
    """The discussion and group pages parse their own parameters (plain routes)."""
    c = await make_client(member)
    d = (await start(c, group, title="Numbers", body="?")).json()
    page = f"/discussions/{d['id']}/{d['slug']}"
    for url in (
        "/discussions/abc/slug",
        "/discussions/0/slug",
        "/discussions/-1/slug",
        "/discussions/2147483648/slug",
        "/discussions/１２/slug",  # full-width digits are digits to Python, not to us
    ):
        r = await c.get(url)
        assert r.status_code == 404, url  # no discussion has that address
        assert "discussion_id" not in r.text, url
    for url in (
        f"{page}?page=0",
        f"{page}?page=abc",
        f"{page}?page=",
        f"{page}?page=1000001",
        f"/groups/{group.slug}?cursor=" + "a" * 201,
    ):
        r = await c.get(url)
        assert r.status_code == 422, url
        assert "<!doctype html>" in r.text, url
    assert (await c.get(f"{page}?page=2")).status_code == 404  # one page only
    assert (await c.get(f"{page}?page=1")).status_code == 200
    assert (await c.head(page)).status_code == 200


async def test_reply_to_a_post_of_another_discussion_is_422(make_client, member, group):
    c = await make_client(member)
    a = (await start(c, group, title="A", body="a")).json()
    b = (await start(c, group, title="B", body="b")).json()
    post_in_a = (
        await c.api("POST", f"/api/v1/discussions/{a['id']}/posts", json={"body": "x"})
    ).json()
    r = await c.api(
        "POST",
        f"/api/v1/discussions/{b['id']}/posts",
        json={"body": "y", "reply_to": post_in_a["id"]},
    )
    assert r.status_code == 422 and r.json()["field"] == "reply_to"


async def test_visitor_cannot_post_and_gets_401(client, group):
    r = await client.api(
        "POST", f"/api/v1/groups/{group.slug}/discussions", json={"title": "t", "body": "b"}
    )
    assert r.status_code == 401
    r = await client.get(f"/groups/{group.slug}/new")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


async def test_malformed_json_and_wrong_types_are_4xx_not_500(make_client, member, group):
    c = await make_client(member)
    r = await c.post(
        f"/api/v1/groups/{group.slug}/discussions",
        content=b"{not json",
        headers={"content-type": "application/json", "x-csrf-token": c.csrf},
    )
    assert r.status_code == 422
    r = await start(c, group, title=["list"], body={"a": 1})
    assert r.status_code == 422
    r = await c.get(f"/api/v1/groups/{group.slug}/discussions?cursor=garbage!!")
    assert r.status_code == 422 and r.json()["field"] == "cursor"
    r = await c.get("/api/v1/discussions/1?page=0")
    assert r.status_code == 422


async def test_html_form_errors_keep_what_was_typed(make_client, member, group):
    c = await make_client(member)
    r = await c.form(f"/groups/{group.slug}/new", {"title": "", "body": "My story 💙"})
    assert r.status_code == 422
    assert "My story 💙" in r.text and "must not be empty" in r.text
