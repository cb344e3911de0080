"""Members-only groups: a visitor finds nothing of them on any GET route (the canary walk,
with a members-only marker), while signed-in members see them; their pages send noindex;
switching a group's visibility is an administrator's action in the audit log."""

from __future__ import annotations

import itertools
import re
from typing import Any
from urllib.parse import urlencode

from app.accounts.models import Role
from app.groups.service import create_group
from tests.access.test_no_route_shows_what_its_viewer_may_not_see import (
    LIBRARY_SLUG,
    PARAM,
    get_routes,
    import_library_page,
)

QUERY, LEAK = "qmembersonly", "leakmembersonly"
MARKED = f"{QUERY} {LEAK}"


async def _members_only_world(app, make_user, make_client) -> dict[str, Any]:
    async with app.state.db.sessionmaker() as s:
        private = await create_group(
            s, slug="private-circle", name=f"Private circle {LEAK}", description=MARKED
        )
        public = await create_group(s, slug="open-square", name="Open square")
        await s.commit()
    admin = await make_user("vis_admin", Role.admin)
    author = await make_user("vis_author", Role.mentor)
    a, adm = await make_client(author), await make_client(admin)
    r = await adm.api(
        "PATCH", "/api/v1/groups/private-circle", json={"visibility": "members", "reason": "why"}
    )
    assert r.status_code == 200 and r.json()["visibility"] == "members", r.text
    r = await a.api(
        "POST",
        "/api/v1/groups/private-circle/discussions",
        json={"title": f"Thread {LEAK}", "body": f"Opening {MARKED}"},
    )
    assert r.status_code == 201, r.text
    d = r.json()
    r = await a.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": f"R {MARKED}"})
    assert r.status_code == 201
    reply = r.json()
    r = await a.api(
        "POST",
        "/api/v1/groups/open-square/discussions",
        json={"title": "Public thread", "body": "Hello everybody"},
    )
    assert r.status_code == 201
    # a health library page linked to both groups: its "Discussed in" links and its list of
    # the groups' discussions
    await import_library_page(app, "private-circle, open-square")
    return {
        "private": private,
        "public": public,
        "discussion": d,
        "reply": reply,
        "author": author,
        "admin": admin,
        "public_discussion": r.json(),
    }


def _urls(app: Any, world: dict[str, Any]) -> list[str]:
    values = {
        "discussion_id": [str(world["discussion"]["id"])],
        "post_id": [str(world["reply"]["id"]), str(world["discussion"]["id"])],
        "username": [world["author"].username],
        "slug": ["private-circle", LIBRARY_SLUG],
    }
    urls = []
    for path in get_routes(app):
        names = PARAM.findall(path)
        choices = [values.get(n, ["1"]) for n in names]
        for combo in itertools.product(*choices):
            url = path
            for name, value in zip(names, combo, strict=True):
                url = re.sub(r"\{" + name + r"(?::[a-z]+)?\}", value, url, count=1)
            urls.append(url + "?" + urlencode({"q": QUERY, "title": QUERY, "after": "1"}))
    return urls


async def test_a_visitor_sees_nothing_of_a_members_only_group_on_any_route(
    app, make_user, make_client
):
    world = await _members_only_world(app, make_user, make_client)
    visitor = await make_client()
    failures = []
    urls = _urls(app, world)
    assert len(urls) > 30
    # the walk reaches the sitemaps and robots.txt too (marker in the group's name and in
    # the discussion's slug)
    walked = {u.split("?", 1)[0] for u in urls}
    assert {"/sitemap.xml", "/sitemaps/site.xml", "/sitemaps/discussions.xml"} <= walked
    for url in urls:
        r = await visitor.get(url)
        if r.status_code >= 500:
            failures.append(f"GET {url}: {r.status_code}")
        if LEAK in r.text.lower():
            failures.append(f"GET {url}: shows the members-only marker")
    # the discussion page itself, with its slug, and the group's page: not found
    r = await visitor.get(world["discussion"]["url"])
    assert r.status_code == 404
    assert (await visitor.get("/groups/private-circle")).status_code == 404
    assert (await visitor.get("/api/v1/groups/private-circle/discussions")).status_code == 404
    # the public group is still there, and its counts say nothing of the other one
    groups = (await visitor.get("/api/v1/groups")).json()
    assert [g["slug"] for g in groups] == ["open-square"]
    profile = (await visitor.get(f"/api/v1/users/{world['author'].username}")).json()
    assert profile["post_count"] == 1  # the public discussion only
    # the library page links the public group and lists its discussion, and only those
    for url in ("/library", f"/library/{LIBRARY_SLUG}"):
        page = await visitor.get(url)
        assert "/groups/open-square" in page.text and "/groups/private-circle" not in page.text
    page = await visitor.get(f"/library/{LIBRARY_SLUG}")
    assert "Public thread" in page.text
    assert not failures, "\n".join(failures[:40])


async def test_members_see_it_and_its_pages_send_noindex(app, make_user, make_client):
    world = await _members_only_world(app, make_user, make_client)
    member = await make_client(await make_user("vis_member"))
    page = await member.get("/groups/private-circle")
    assert page.status_code == 200 and LEAK in page.text
    assert page.headers["x-robots-tag"] == "noindex"
    assert '<meta name="robots" content="noindex">' in page.text
    page = await member.get(world["discussion"]["url"])
    assert page.status_code == 200 and f"R {MARKED}" in page.text
    assert page.headers["x-robots-tag"] == "noindex"
    home = await member.get("/")
    assert f"Thread {LEAK}" in home.text
    library = await member.get(f"/library/{LIBRARY_SLUG}")
    assert "/groups/private-circle" in library.text and f"Thread {LEAK}" in library.text
    # saved for later, it stays on the member's list
    d = world["discussion"]
    r = await member.api(
        "POST", "/api/v1/saved", json={"kind": "discussion", "discussion_id": d["id"]}
    )
    assert r.status_code in (200, 201), r.text
    assert [i["title"] for i in (await member.get("/api/v1/saved")).json()] == [f"Thread {LEAK}"]
    # and mentors find it waiting for an answer, its group in the medians
    mentor = await make_client(await make_user("vis_mentor", Role.mentor))
    waiting = (await mentor.get("/api/v1/unanswered")).json()
    assert d["id"] in [w["id"] for w in waiting["items"]]
    assert "private-circle" in [m["group"] for m in waiting["medians"]]
    assert "private-circle" in [g["slug"] for g in (await member.get("/api/v1/groups")).json()]
    public = await member.get(world["public_discussion"]["url"])
    assert "x-robots-tag" not in public.headers


async def test_switching_visibility_is_an_audited_admin_action(app, make_user, make_client):
    world = await _members_only_world(app, make_user, make_client)
    moderator = await make_client(await make_user("vis_mod", Role.moderator))
    r = await moderator.api("PATCH", "/api/v1/groups/open-square", json={"visibility": "members"})
    assert r.status_code == 403
    adm = await make_client(world["admin"])
    r = await adm.api("PATCH", "/api/v1/groups/open-square", json={"visibility": "secret"})
    assert r.status_code == 422
    page = await adm.get("/groups/private-circle")
    assert 'action="/groups/private-circle/visibility"' in page.text
    r = await adm.form("/groups/private-circle/visibility", {"visibility": "public"})
    assert r.status_code == 303
    audit = (await moderator.get("/api/v1/mod/audit")).json()["entries"]
    changes = [e for e in audit if e["action"] == "set_group_visibility"]
    assert [e["target"] for e in changes] == [
        f"Private circle {LEAK}: members \u2192 public",
        f"Private circle {LEAK}: public \u2192 members",
    ]
    assert changes[0]["actor"] == "vis_admin" and changes[1]["reason"] == "why"
    visitor = await make_client()
    assert (await visitor.get("/groups/private-circle")).status_code == 200
