"""The canary: held, hidden and deleted posts, each carrying a marker word, and every GET route
the app registers requested as a visitor, an unrelated member and a mentor. No marker may
appear in any page, JSON answer, event stream or e-mail. Moderators do see them, marked.

Routes are enumerated from the app itself, so a route added tomorrow is walked without
anyone remembering to add it here. Each marked post carries two words side by side: a query
word (given as `q=`, `title=`, ...) and a leak word (looked for in the answers). A search
page may echo the query word back; it can only show the leak word by showing the post.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select, update
from starlette.routing import Route

from app.accounts.models import Role, User
from app.db import utcnow
from app.email.worker import OutboxWorker
from app.notifications.models import Notification

pytestmark = pytest.mark.hold_first_posts

# what each marked post is: its query word and its leak word
MARKERS = {
    "held discussion": ("qheldthread", "leakheldthread"),
    "held reply": ("qheldreply", "leakheldreply"),
    "hidden reply": ("qhiddenreply", "leakhiddenreply"),
    "hidden discussion": ("qhiddenthread", "leakhiddenthread"),
    "reply in a hidden discussion": ("qinhidden", "leakinhidden"),
    "deleted post": ("qdeleted", "leakdeleted"),
}
LEAK = re.compile("|".join(leak for _q, leak in MARKERS.values()), re.IGNORECASE)

# parameters whose value is no object of the fixture: a syntactically fine value is enough
FALLBACK = "1"


def text_of(kind: str, extra: str = "") -> str:
    query, leak = MARKERS[kind]
    return f"{query} {leak} {extra}".strip()


@dataclass
class Canary:
    values: dict[str, list[str]] = field(default_factory=dict)
    slugs: dict[str, str] = field(default_factory=dict)  # discussion id -> its title slug


async def post_json(client: Any, url: str, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.api("POST", url, json=body)
    assert r.status_code in (200, 201), (url, r.status_code, r.text)
    return r.json()


@pytest.fixture
async def canary(app, make_user, make_client, group, session) -> Canary:
    # who writes: trusted members post straight away; newcomers are held for review
    trusted = await make_user("canary_trusted", Role.mentor)
    other = await make_user("canary_other", Role.mentor)
    newcomer_a = await make_user("canary_new_a")
    newcomer_b = await make_user("canary_new_b")
    moderator = await make_user("canary_mod", Role.moderator)
    reader = await make_user("canary_reader")
    await make_user("canary_mentor", Role.mentor)
    for user in (trusted, other, newcomer_a, newcomer_b, reader):
        # verified addresses, so that e-mail would be sent to them
        await session.execute(
            update(User).where(User.id == user.id).values(email_verified_at=utcnow())
        )
    await session.commit()
    t, o = await make_client(trusted), await make_client(other)
    a, b = await make_client(newcomer_a), await make_client(newcomer_b)
    mod, r = await make_client(moderator), await make_client(reader)
    g = group.slug
    mention = "@canary_reader @canary_mentor"

    # the reader watches the group and the ordinary discussion, so that any post of either
    # would reach them as a notification and an e-mail
    await r.api("POST", f"/api/v1/groups/{g}/follow", json={"level": "watching"})
    ordinary = await post_json(
        t, f"/api/v1/groups/{g}/discussions", {"title": "Ordinary question", "body": "Hello all"}
    )
    d1 = ordinary["id"]
    await r.api("POST", f"/api/v1/discussions/{d1}/follow", json={"level": "watching"})
    visible_reply = await post_json(t, f"/api/v1/discussions/{d1}/posts", {"body": "A reply"})

    held_thread = await post_json(
        a,
        f"/api/v1/groups/{g}/discussions",
        {"title": text_of("held discussion"), "body": text_of("held discussion", mention)},
    )
    held_reply = await post_json(
        b, f"/api/v1/discussions/{d1}/posts", {"body": text_of("held reply", mention)}
    )
    hidden_reply = await post_json(
        t, f"/api/v1/discussions/{d1}/posts", {"body": text_of("hidden reply", mention)}
    )
    r_ = await mod.api(
        "POST", f"/api/v1/mod/posts/{hidden_reply['id']}/hide", json={"reason": "personal"}
    )
    assert r_.status_code in (200, 204), r_.text

    hidden_thread = await post_json(
        t,
        f"/api/v1/groups/{g}/discussions",
        {"title": text_of("hidden discussion"), "body": text_of("hidden discussion", mention)},
    )
    # the reader saved it for later while it was published (the saved list must drop it)
    await post_json(
        r, "/api/v1/saved", {"kind": "discussion", "discussion_id": hidden_thread["id"]}
    )
    in_hidden = await post_json(
        o,
        f"/api/v1/discussions/{hidden_thread['id']}/posts",
        {"body": text_of("reply in a hidden discussion", mention)},
    )
    opening = (await t.get(f"/api/v1/discussions/{hidden_thread['id']}")).json()
    opening_id = opening.get("opening", {}).get("id") or opening.get("opening_post_id")
    if opening_id is None:
        async with app.state.db.sessionmaker() as s:
            from app.discussions.models import Post

            opening_id = await s.scalar(
                select(Post.id).where(
                    Post.discussion_id == hidden_thread["id"], Post.is_opening.is_(True)
                )
            )
    r_ = await mod.api("POST", f"/api/v1/mod/posts/{opening_id}/hide", json={"reason": "x"})
    assert r_.status_code in (200, 204), r_.text

    deleted = await post_json(
        t, f"/api/v1/discussions/{d1}/posts", {"body": text_of("deleted post", mention)}
    )
    r_ = await t.api("DELETE", f"/api/v1/posts/{deleted['id']}")
    assert r_.status_code in (200, 204), r_.text

    async with app.state.db.sessionmaker() as s:
        notification_ids = list((await s.scalars(select(Notification.id))).all())

    # a health library page linked to the group: its "from the community" list
    await import_library_page(app, g)

    discussions = [d1, held_thread["id"], hidden_thread["id"]]
    canary = Canary()
    canary.values = {
        "discussion_id": [str(i) for i in discussions],
        "post_id": [
            str(i)
            for i in (
                visible_reply["id"],
                held_reply["id"],
                hidden_reply["id"],
                opening_id,
                in_hidden["id"],
                deleted["id"],
            )
        ],
        "username": [
            u.username for u in (trusted, other, newcomer_a, newcomer_b, reader, moderator)
        ],
        "slug": [g, LIBRARY_SLUG],
        "notification_id": [str(i) for i in notification_ids] or [FALLBACK],
    }
    canary.slugs[str(d1)] = ordinary["url"].rsplit("/", 1)[1]
    return canary


LIBRARY_SLUG = "canary-condition"


async def import_library_page(app: Any, group_slug: str) -> None:
    from app.library.content import parse_page_text
    from app.library.service import import_pages

    text = (
        f"---\ntitle: Canary condition\nslug: {LIBRARY_SLUG}\nsummary: For the canary.\n"
        f"published: 2025-01-01\ngroups: [{group_slug}]\n---\n## Definition\n\nA condition.\n"
    )
    async with app.state.db.sessionmaker() as s:
        await import_pages(s, pages=[parse_page_text(text, "canary.md")])
        await s.commit()


def get_routes(app: Any) -> list[str]:
    found: set[str] = set()

    def walk(routes: list[Any]) -> None:
        for route in routes:
            if hasattr(route, "original_router"):
                walk(route.original_router.routes)
            elif isinstance(route, Route) and "GET" in (route.methods or ()):
                found.add(route.path)

    walk(app.routes)
    return sorted(found)


PARAM = re.compile(r"\{([a-z_]+)(?::[a-z]+)?\}")


def urls_for(path: str, canary: Canary) -> list[str]:
    """Every way to fill this route's path with the fixture's objects, each with the query
    words as query parameters."""
    names = PARAM.findall(path)
    choices = [
        canary.values.get(name, [FALLBACK])
        if name != "slug" or "discussion_id" not in names
        # /discussions/{discussion_id}/{slug}: the discussion's own slug, filled below
        else ["{slug}"]
        for name in names
    ]
    queries = [q for q, _leak in MARKERS.values()]
    urls = []
    for n, combo in enumerate(itertools.product(*choices)):
        url = path
        for name, value in zip(names, combo, strict=True):
            url = re.sub(r"\{" + name + r"(?::[a-z]+)?\}", value, url, count=1)
        if "{slug}" in url:
            # the title's slug carries the leak word itself: only the visible discussion's
            # own slug is filled in; the others get a slug anybody could type
            url = url.replace("{slug}", canary.slugs.get(combo[0], "x"))
        # search-like routes get every query word; others one, in turn
        words = queries if not names else [queries[n % len(queries)]]
        for word in words:
            params = {"q": word, "title": word, "after": "1", "cursor": ""}
            urls.append(url + "?" + urlencode(params))
    return urls


def observers_mail(folder: Path) -> list[tuple[str, str]]:
    """The e-mails written to the reader and the mentor (authors are told of their own
    posts being hidden: theirs to see)."""
    found = []
    for mail in sorted(folder.glob("**/*.eml")):
        text = mail.read_text(errors="replace")
        to = next((line for line in text.splitlines() if line.lower().startswith("to:")), "")
        if "canary_reader@" in to or "canary_mentor@" in to:
            found.append((mail.name, text))
    return found


def leaks(body: str) -> list[str]:
    return sorted({m.group(0).lower() for m in LEAK.finditer(body)})


async def test_no_get_route_shows_held_hidden_or_deleted_posts(
    app, make_user, make_client, canary: Canary, settings
):
    viewers: dict[str, Any] = {"visitor": await make_client()}
    async with app.state.db.sessionmaker() as s:
        for name in ("canary_reader", "canary_mentor"):
            user = await s.scalar(select(User).where(User.username == name))
            viewers[name] = await make_client(user)
        # the page cache is on (app/cache): a moderator, who sees every marker, reads each
        # address first, and the visitor reads it twice (the second read is a hit when the
        # page was kept), so a moderator's page kept and served to a visitor would show
        moderator = await make_client(
            await s.scalar(select(User).where(User.username == "canary_mod"))
        )

    routes = get_routes(app)
    requested = 0
    failures: list[str] = []
    for path in routes:
        urls = urls_for(path, canary)
        # and each address without the query words, as pages are usually read (and kept)
        urls += sorted({url.partition("?")[0] for url in urls} - set(urls))
        for url in urls:
            if (await moderator.get(url)).status_code >= 500:
                failures.append(f"moderator GET {url}: 500")
            for who, client in viewers.items():
                for _ in range(2 if who == "visitor" else 1):
                    response = await client.get(url)
                    requested += 1
                    if response.status_code >= 500:
                        failures.append(f"{who} GET {url}: {response.status_code}")
                    found = leaks(response.text)
                    if found:
                        failures.append(f"{who} GET {url}: shows {', '.join(found)}")
    assert requested > 200, requested
    assert app.state.page_cache.store.hits > 10, "the visitor's pages came from the cache"
    # the library page's community list does show the published discussion
    page = await viewers["visitor"].get(f"/library/{LIBRARY_SLUG}")
    assert page.status_code == 200 and "Ordinary question" in page.text
    assert len(routes) > 30, routes

    # and the e-mail: everything queued meanwhile, composed and written out
    worker = OutboxWorker(app.state.db.sessionmaker, app.state.settings, app.state.signer)
    later = utcnow() + timedelta(days=2)
    while await worker.run_once(later):
        pass
    mails = observers_mail(Path(settings.var_dir, "mail"))
    for name, text in mails:
        found = leaks(text)
        if found:
            failures.append(f"e-mail {name}: shows {', '.join(found)}")
    assert mails, "the ordinary reply should have been e-mailed to the watching reader"
    assert not failures, f"{len(failures)} leaks:\n" + "\n".join(failures[:60])


async def test_moderators_see_the_marked_posts_marked(app, make_client, canary: Canary):
    async with app.state.db.sessionmaker() as s:
        moderator = await s.scalar(select(User).where(User.username == "canary_mod"))
    client = await make_client(moderator)
    held_id, hidden_id = canary.values["discussion_id"][1:3]
    page = await client.get(f"/discussions/{held_id}", follow_redirects=True)
    assert page.status_code == 200
    assert "leakheldthread" in page.text
    assert re.search(r"(?i)awaiting approval|held", page.text)
    page = await client.get(f"/discussions/{hidden_id}", follow_redirects=True)
    assert page.status_code == 200
    assert "leakinhidden" in page.text and "leakhiddenthread" in page.text
    assert re.search(r"(?i)hidden", page.text)
    ordinary = canary.values["discussion_id"][0]
    page = await client.get(f"/discussions/{ordinary}", follow_redirects=True)
    assert "leakheldreply" in page.text and "leakhiddenreply" in page.text
