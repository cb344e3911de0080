import pytest
from sqlalchemy import func, select, update

from app.moderation.models import AuditEntry, SiteSettings


async def thread(make_client, author, group):
    c = await make_client(author)
    d = (
        await c.api(
            "POST",
            f"/api/v1/groups/{group.slug}/discussions",
            json={"title": "Night sweats", "body": "question"},
        )
    ).json()
    p = (
        await c.api(
            "POST",
            f"/api/v1/discussions/{d['id']}/posts",
            json={"body": "Buy cheap pills at example.com"},
        )
    ).json()
    return c, d, p


async def test_three_distinct_flags_hide_the_post_and_notify_the_author(
    make_client, make_flagger, member, moderator, group, session
):
    author, d, p = await thread(make_client, member, group)
    flaggers = [await make_client(await make_flagger()) for _ in range(3)]
    for n, f in enumerate(flaggers[:2]):
        r = await f.api("POST", f"/api/v1/posts/{p['id']}/flags", json={"reason": "spam"})
        assert r.status_code == 201 and r.json()["hidden"] is False, r.text
    # the same member flagging twice does not count twice
    again = await flaggers[0].api("POST", f"/api/v1/posts/{p['id']}/flags", json={"reason": "spam"})
    assert again.status_code == 409
    visitor = await make_client()
    assert "Buy cheap pills" in (await visitor.get(d["url"])).text
    r = await flaggers[2].api(
        "POST", f"/api/v1/posts/{p['id']}/flags", json={"reason": "other", "note": "advertising"}
    )
    assert r.status_code == 201 and r.json()["hidden"] is True
    page = await visitor.get(d["url"])
    assert "Buy cheap pills" not in page.text and "hidden while a moderator reviews" in page.text
    api = (await visitor.get(f"/api/v1/discussions/{d['id']}")).json()
    hidden = next(x for x in api["posts"] if x["id"] == p["id"])
    assert hidden["body"] is None and hidden["status"] == "hidden"
    assert api["discussion"]["reply_count"] == 0
    # the author still sees their own post, marked
    own = await author.get(d["url"])
    assert "Buy cheap pills" in own.text
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "hide_post"))
    assert entry.actor_name == "Kindred (automatic)" and entry.target_id == p["id"]
    mod = await make_client(moderator)
    queue = (await mod.get("/api/v1/mod/queue")).json()
    assert queue["flagged"][0]["post_id"] == p["id"] and queue["flagged"][0]["flag_count"] == 3


async def test_threshold_is_a_site_setting(
    make_client, make_flagger, member, group, session, admin
):
    await session.execute(update(SiteSettings).values(flag_hide_threshold=1))
    await session.commit()
    _author, _d, p = await thread(make_client, member, group)
    f = await make_client(await make_flagger())
    r = await f.api("POST", f"/api/v1/posts/{p['id']}/flags", json={"reason": "abusive"})
    assert r.json()["hidden"] is True
    a = await make_client(admin)
    r = await a.api("PATCH", "/api/v1/admin/settings", json={"flag_hide_threshold": 5})
    assert r.status_code == 200 and r.json()["flag_hide_threshold"] == 5


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"reason": "other"}, 422, "note"),
        ({"reason": "rude"}, 422, "reason"),
        ({"reason": "spam", "role": "x"}, 422, None),
    ],
)
async def test_bad_flags_are_422(make_client, make_user, member, group, payload, status, field):
    _author, _d, p = await thread(make_client, member, group)
    f = await make_client(await make_user())
    r = await f.api("POST", f"/api/v1/posts/{p['id']}/flags", json=payload)
    assert r.status_code == status
    if field:
        assert r.json().get("field") == field


async def test_own_and_deleted_posts_cannot_be_flagged(
    make_client, make_user, member, group, session
):
    author, _d, p = await thread(make_client, member, group)
    r = await author.api("POST", f"/api/v1/posts/{p['id']}/flags", json={"reason": "spam"})
    assert r.status_code == 422 and r.json()["code"] == "own_post"
    await author.api("DELETE", f"/api/v1/posts/{p['id']}")
    f = await make_client(await make_user())
    r = await f.api("POST", f"/api/v1/posts/{p['id']}/flags", json={"reason": "spam"})
    assert r.status_code == 422 and r.json()["code"] == "post_deleted"
    assert await session.scalar(select(func.count()).select_from(AuditEntry)) == 0


async def test_flag_form_without_javascript(make_client, make_user, member, group):
    _author, d, p = await thread(make_client, member, group)
    f = await make_client(await make_user())
    form = await f.get(f"/posts/{p['id']}/flag")
    assert form.status_code == 200 and "Medical misinformation" in form.text
    r = await f.form(f"/posts/{p['id']}/flag", {"reason": "other", "note": ""})
    assert r.status_code == 422 and "note" in r.text.lower()
    r = await f.form(f"/posts/{p['id']}/flag", {"reason": "misinformation", "note": "dangerous"})
    assert r.status_code == 303
