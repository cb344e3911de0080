"""Every page renders through the real app, and every file in templates/ is used by one.

One walk through the site: an empty group, a new discussion with replies nested deeper than
the three indentation levels, a reaction, an edit and a deletion, then every HTML page around
them. Each template the app loads (pages, the base layout, includes and macro imports) is
recorded, and the test fails if a page template under templates/ was never rendered, so a
new template needs a page here, and a template nothing renders any more is noticed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import escape
from typing import Any

import httpx
import pytest

from app.accounts.models import Role
from app.core.templating import COMPONENTS, TEMPLATE_DIR

# Markup the Content-Security-Policy would block (script-src 'self', style-src 'self').
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.IGNORECASE)


# Not pages: e-mail bodies and subjects are rendered by the mailer, not by a request.
NOT_PAGES = ("emails/",)
# Pages only reachable through a signed link from an e-mail; their own tests open them.
# Keep this list short: a page template added anywhere else must be visited below.
REACHED_ONLY_FROM_EMAIL = {
    "accounts/email_verified.html",
    "accounts/reset_password.html",
    # tests/accounts/test_registration_never_reveals_an_address.py and
    # tests/accounts/test_changing_the_email_address.py open these
    "accounts/register_confirm.html",
    "accounts/email_change_confirm.html",
    "notifications/unsubscribe.html",
}


def template_files() -> set[str]:
    return {
        path.relative_to(TEMPLATE_DIR).as_posix()
        for path in TEMPLATE_DIR.rglob("*")
        if path.is_file() and not path.name.startswith(".")
    }


def page_templates() -> set[str]:
    return {
        name
        for name in template_files()
        if not name.startswith(NOT_PAGES) and name not in REACHED_ONLY_FROM_EMAIL
    }


@pytest.fixture
def rendered(app: Any) -> Iterator[set[str]]:
    """Names of the templates the app loads, includes and imports included, and of the
    component templates (COMPONENTS) whose macros a page called."""
    env = app.state.templates.env
    names: set[str] = set()
    original = env.get_template

    def recording_get_template(name: Any, *args: Any, **kwargs: Any) -> Any:
        template = original(name, *args, **kwargs)
        names.add(template.name)
        return template

    def recording(template_name: str, macro: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            names.add(template_name)
            return macro(*args, **kwargs)

        return call

    components = {
        macro_name: template_name
        for template_name, macro_names in COMPONENTS.items()
        for macro_name in macro_names
    }
    saved = {name: env.globals[name] for name in components}
    for name, template_name in components.items():
        env.globals[name] = recording(template_name, saved[name])
    env.get_template = recording_get_template  # the compiled templates call it too
    yield names
    del env.get_template
    env.globals.update(saved)


class Pages:
    """Fetches pages and checks what every HTML page must satisfy."""

    async def get(
        self, client: httpx.AsyncClient, url: str, status: int = 200, *expected: str
    ) -> str:
        r = await client.get(url)
        assert r.status_code == status, (url, r.status_code, r.text[:500])
        assert r.headers["content-type"].startswith("text/html"), url
        html = r.text
        self.check(url, html)
        for text in expected:
            assert text in html, (url, text)
        return html

    def check(self, url: str, html: str) -> None:
        assert html.startswith("<!doctype html>"), url
        assert '<html lang="en">' in html, url
        assert re.search(r"<title>[^<]+ &middot; Kindred</title>", html), url
        assert '<a class="skip-link" href="#main">' in html and 'id="main"' in html, url
        assert 'src="/static/kindred.js?v=' in html and " defer>" in html, url
        assert 'href="/static/kindred.css?v=' in html, url
        assert html.count("<h1") == 1, (url, "one h1 per page")
        assert not INLINE_SCRIPT.search(html), (url, "inline script")
        assert not INLINE_HANDLER.search(html), (url, "inline event handler")
        assert not INLINE_STYLE.search(html), (url, "inline style")
        ids = re.findall(r'\sid="([^"]+)"', html)
        duplicates = {i for i in ids if ids.count(i) > 1}
        assert not duplicates, (url, duplicates)


async def test_every_template_renders(
    app: Any, rendered: set[str], make_client: Any, make_user: Any, group: Any
) -> None:
    pages = Pages()
    # Mentors' posts are published at once (new members' first posts may wait for review).
    asker = await make_user("asker_ann", Role.mentor)
    helper = await make_user("helper_hal", Role.mentor)
    reader = await make_user("reader_rita")
    moderator = await make_user("mod_mona", Role.moderator)
    anon = await make_client()
    ann, hal = await make_client(asker), await make_client(helper)
    rita, mona = await make_client(reader), await make_client(moderator)

    # -- before anything is posted ----------------------------------------------------------
    await pages.get(anon, "/", 200, "Welcome to Kindred", "Recent discussions")
    await pages.get(anon, "/groups", 200, escape(group.name), f'href="/groups/{group.slug}"')
    await pages.get(anon, f"/groups/{group.slug}", 200, "No discussions here yet")
    await pages.get(anon, f"/groups/{group.slug}?cursor=nothing-older", 422, "Please check")
    new_url = f"/groups/{group.slug}/new"
    html = await pages.get(ann, new_url, 200, f'action="{new_url}"', 'name="title"', 'name="body"')
    assert re.search(r'name="client_key" value="[^"]+"', html)

    # a refused form comes back with its errors, linked to the fields
    r = await ann.form(new_url, {"title": "", "body": "Kept text", "client_key": "k-bad"})
    assert r.status_code == 422
    pages.check(new_url + " (422)", r.text)
    assert 'class="form-errors" role="alert"' in r.text and "Kept text" in r.text
    assert 'aria-invalid="true" aria-describedby="title-error"' in r.text

    # -- a discussion, replies six deep, a reaction, an edit, a deletion ---------------------
    r = await ann.form(
        new_url,
        {"title": "Low neutrophils at one year", "body": "Our son is **310**.", "client_key": "k1"},
    )
    assert r.status_code == 303, r.text
    url = r.headers["location"]
    discussion_id = int(url.split("/")[2])
    posts: list[dict[str, Any]] = []
    for depth in range(6):  # depths 0..5: deeper than the 3 indentation levels
        payload: dict[str, Any] = {"body": f"Answer at depth {depth}"}
        if posts:
            payload["reply_to"] = posts[-1]["id"]
        author = hal if depth % 2 == 0 else ann
        r = await author.api("POST", f"/api/v1/discussions/{discussion_id}/posts", json=payload)
        assert r.status_code == 201, r.text
        assert r.json()["depth"] == depth
        posts.append(r.json())
    r = await hal.api(
        "POST", f"/api/v1/discussions/{discussion_id}/posts", json={"body": "Posted by mistake"}
    )
    assert r.status_code == 201, r.text
    mistake = r.json()
    assert (await hal.form(f"/posts/{mistake['id']}/delete")).status_code == 303
    answer = posts[0]  # hal's top-level answer
    r = await rita.form(f"/posts/{answer['id']}/reactions", {"kind": "helpful"})
    assert r.status_code == 303, r.text
    r = await hal.form(
        f"/posts/{answer['id']}/edit",
        {"body": "Answer at depth 0, *clarified*", "reason": "typo"},
    )
    assert r.status_code == 303, r.text

    # -- the discussion page ----------------------------------------------------------------
    html = await pages.get(anon, url, 200, "<strong>310</strong>", "This post was deleted.")
    for level in range(4):
        assert f"post indent-{level}" in html, level
    assert "indent-4" not in html and "indent-5" not in html
    # deeper than three levels, a reply names the post it answers
    assert re.search(
        rf'class="in-reply-to">in reply to <a href="#post-{posts[3]["id"]}">@asker_ann</a>', html
    )
    assert re.search(
        rf'class="in-reply-to">in reply to <a href="#post-{posts[4]["id"]}">@helper_hal</a>', html
    )
    assert html.count('class="in-reply-to"') == 2
    assert 'class="post indent-0 opening"' in html and "<em>clarified</em>" in html
    assert f'href="/login?next={url}">Sign in</a> or' in html  # visitors: sign in to reply
    assert 'id="composer"' not in html

    html = await pages.get(rita, url, 200, 'id="composer"', 'id="reply_to"', 'id="replying-to"')
    assert 'id="body"' in html and 'name="client_key"' in html
    assert f'<a href="/posts/{posts[4]["id"]}/reply" class="reply-link">' in html
    assert 'aria-pressed="true"' in html  # rita found the answer helpful
    assert 'id="composer-status"' in html and 'role="status"' in html
    r = await rita.get(f"/discussions/{discussion_id}")
    assert r.status_code == 301 and r.headers["location"] == url
    await pages.get(hal, url, 200, 'id="composer"')  # mentors also get canned responses

    # -- pages around a post ----------------------------------------------------------------
    deep = posts[4]
    html = await pages.get(
        rita, f"/posts/{deep['id']}/reply", 200, "Reply to helper_hal", "Answer at depth 4"
    )
    assert f'name="reply_to" value="{deep["id"]}"' in html
    assert 'class="quoted-post"' in html
    r = await rita.form(
        f"/discussions/{discussion_id}/replies",
        {"body": "", "reply_to": str(deep["id"]), "client_key": "k-empty"},
    )
    assert r.status_code == 422
    pages.check("reply (422)", r.text)
    assert 'class="form-errors" role="alert"' in r.text and "must not be empty" in r.text
    assert "Answer at depth 4" in r.text  # the post being answered is quoted again

    await pages.get(
        hal,
        f"/posts/{answer['id']}/edit",
        200,
        "clarified",
        f'href="/posts/{answer["id"]}/delete"',  # to the confirmation page
    )
    r = await anon.get(f"/api/v1/discussions/{discussion_id}")
    opening = next(p for p in r.json()["posts"] if p["is_opening"])
    await pages.get(ann, f"/posts/{opening['id']}/edit", 200, 'name="title"', "Low neutrophils")
    await pages.get(
        mona, f"/posts/{answer['id']}/history", 200, "Answer at depth 0", "reason: typo"
    )
    await pages.get(mona, f"/posts/{posts[1]['id']}/history", 200, "has not been edited")
    # a moderator's view of a discussion carries the moderator tools and per-post actions
    await pages.get(
        mona, url, 200, "Moderator tools", f'action="/mod/discussions/{discussion_id}/lock"'
    )
    await pages.get(rita, f"/posts/{answer['id']}/history", 403, "Not allowed")
    await pages.get(
        anon, f"/posts/{answer['id']}/reactions", 200, "Found it helpful (1)", "reader_rita"
    )

    # -- people and accounts ----------------------------------------------------------------
    await pages.get(anon, "/users/helper_hal", 200, "Volunteer Mentor", "Recent posts")
    await pages.get(anon, "/users/reader_rita", 200, "reader_rita has not posted yet.")

    # -- notifications, following, mentions (templates/notifications) ----------------------
    await pages.get(ann, "/notifications", 200, "helper_hal replied to you", "Mark all as read")
    await pages.get(rita, "/notifications", 200, "No notifications yet.")
    html = await pages.get(rita, url, 200, 'class="follow-form"', 'id="live-updates"')
    await pages.get(rita, f"/groups/{group.slug}", 200, f'action="/groups/{group.slug}/follow"')
    fragment = await rita.get(f"/posts/{answer['id']}/fragment")
    assert fragment.status_code == 200 and fragment.text.startswith("<article")
    r = await rita.form(
        f"/discussions/{discussion_id}/replies", {"body": "Thanks @helper_hall", "client_key": "k9"}
    )
    assert r.status_code == 303, r.text
    await pages.get(rita, r.headers["location"], 200, "Did you mean <strong>@helper_hal</strong>?")
    await pages.get(
        rita,
        "/settings",
        200,
        'action="/settings/profile"',
        'action="/settings/password"',
        "Where you are signed in",
        "This browser",
    )
    await pages.get(rita, "/settings/email", 200, 'action="/settings/email"')
    await pages.get(anon, "/forgot-password", 200, 'action="/forgot-password"')
    r = await rita.form("/settings/password", {"current_password": "wrong", "new_password": "x"})
    assert r.status_code == 422
    pages.check("settings (422)", r.text)
    await pages.get(anon, "/login", 200, 'action="/login"', 'name="password"')
    await pages.get(anon, "/register", 200, 'action="/register"', 'name="email"')
    r = await anon.form(
        "/register",
        {
            "username": "walker_wes",
            "email": "wes@example.org",
            "password": "lantern orchard pebble",
        },
    )
    assert r.status_code == 200 and "Check your e-mail" in r.text
    pages.check("register (sent)", r.text)
    r = await anon.form("/login", {"username": "nobody", "password": "nothing!"})
    assert r.status_code == 401
    pages.check("login (401)", r.text)

    # -- notifications, mentions, live fragments -------------------------------------------
    await pages.get(rita, "/notifications", 200)
    await pages.get(hal, f"/posts/{answer['id']}/mentions", 200)
    r = await anon.get(f"/posts/{answer['id']}/fragment")  # one post, no page around it
    assert r.status_code == 200 and f'id="post-{answer["id"]}"' in r.text
    assert "<!doctype" not in r.text and not INLINE_SCRIPT.search(r.text)
    assert not INLINE_HANDLER.search(r.text) and not INLINE_STYLE.search(r.text)

    # -- safety: personal information asked about, a crisis answered (templates/safety) -----
    r = await rita.form(
        f"/discussions/{discussion_id}/replies",
        {"body": "You should stop taking it. Call 212-555-0187", "client_key": "k-pi"},
    )
    assert r.status_code == 422
    pages.check("reply with personal information (422)", r.text)
    assert "<mark>212-555-0187</mark>" in r.text and "Post anyway" in r.text
    assert "experience" in r.text  # the advice hint
    r = await rita.form(
        f"/discussions/{discussion_id}/replies",
        {"body": "Call 212-555-0187", "client_key": "k-pi", "confirm_personal_information": "1"},
    )
    assert r.status_code == 303, r.text
    r = await hal.form(
        f"/discussions/{discussion_id}/replies",
        {"body": "I can't go on anymore", "client_key": "k-crisis"},
    )
    assert r.status_code == 303 and "support=crisis" in r.headers["location"]
    await pages.get(hal, r.headers["location"], 200, "crisis-support", "findahelpline.com")
    await pages.get(rita, "/settings", 200, 'action="/settings/country"', "/settings/export")
    await pages.get(rita, "/settings/delete", 200, 'action="/settings/delete"')
    await pages.get(
        mona,
        "/mod/queue",
        200,
        "Possible crisis (1)",
        "Personal information confirmed by the author (low priority) (1)",
    )
    html = await pages.get(anon, url, 200, "Volunteer mentor: shares personal experience")

    # -- moderation and administration -----------------------------------------------------
    await pages.get(
        rita, f"/posts/{answer['id']}/flag", 200, f'action="/posts/{answer["id"]}/flag"'
    )
    await pages.get(mona, "/mod/queue", 200)
    await pages.get(mona, "/mod/users/reader_rita", 200, "reader_rita")
    await pages.get(mona, "/mod/audit", 200)
    await pages.get(rita, "/mod/queue", 403, "Not allowed")
    await pages.get(hal, "/mod/canned", 200)  # mentors use canned responses
    await pages.get(mona, "/mod/canned/new", 200, 'action="/mod/canned')
    library = (await hal.get("/api/v1/canned-responses")).json()
    welcome = next(c for c in library if c["key"] == "welcome")
    await pages.get(mona, f"/mod/canned/{welcome['id']}/edit", 200, "{member}")
    await pages.get(hal, url, 200, "data-canned-picker")  # the composer's picker
    await pages.get(
        hal, f"/posts/{deep['id']}/reply?canned={welcome['id']}", 200, "Welcome to", "@helper_hal"
    )
    siteadmin = await make_client(await make_user("admin_ada", Role.admin))
    await pages.get(siteadmin, "/admin/settings", 200, 'action="/admin/settings"')
    await pages.get(siteadmin, "/admin/appointments", 200)
    r = await siteadmin.form(
        "/admin/appointments",
        {"key": "hematology", "name": "Hematology clinic", "url": "https://example.org/book"},
    )
    assert r.status_code == 303, r.text
    await pages.get(siteadmin, "/admin/appointments/hematology/edit", 200, "Hematology clinic")
    await pages.get(
        siteadmin,
        "/admin/appointments/hematology/delete",
        200,
        'action="/admin/appointments/hematology/delete"',
    )
    await pages.get(siteadmin, "/admin/appointments/request/delete", 200, "cannot be deleted")
    await pages.get(siteadmin, "/admin/groups", 200, 'action="/admin/groups"', escape(group.name))
    await pages.get(
        siteadmin,
        f"/admin/groups/{group.slug}/edit",
        200,
        f'action="/admin/groups/{group.slug}/archive"',
    )
    # the moderation hub, the member directory, deleted posts and a delete confirmation
    await pages.get(mona, "/mod", 200, 'href="/mod/queue"', 'id="mod-link"')
    await pages.get(siteadmin, "/mod", 200, 'href="/admin/groups"')
    await pages.get(mona, "/mod/users?q=rita", 200, 'href="/mod/users/reader_rita"')
    await pages.get(mona, "/mod/deleted", 200, f'href="/mod/posts/{mistake["id"]}/deleted"')
    await pages.get(
        mona, f"/mod/posts/{mistake['id']}/deleted", 200, "Posted by mistake", "Restore the post"
    )
    await pages.get(
        hal, f"/posts/{answer['id']}/delete", 200, f'action="/posts/{answer["id"]}/delete"'
    )
    # a new member, once first posts are held, is told so in the composer
    r = await siteadmin.form(
        "/admin/settings", {"flag_hide_threshold": "3", "hold_first_posts": "2"}
    )
    assert r.status_code == 303, r.text
    newbie = await make_client(await make_user("newbie_nell"))
    await pages.get(newbie, url, 200, 'id="held-note"')

    # -- the health library and saved items (templates/library) ------------------------------
    await pages.get(siteadmin, "/admin/library", 200, "No pages yet")
    await pages.get(anon, "/library", 200, "The library has no pages yet", 'id="tiers"')
    from app.library.content import parse_page_text
    from app.library.service import import_pages

    content = (
        "---\ntitle: Infantile Neutropenia\nalso_called: [Neutropenia - infants]\n"
        "summary: Low neutrophils in babies.\npublished: 2021-12-10\nnext_review: 2022-01-01\n"
        f"groups: [{group.slug}]\nreferences: [One reference.]\n"
        "authors: [{name: A. Author, credentials: MD}]\n"
        "specialists: [{name: Sample, specialty: Hematology, tier: elite, city: Rochester, "
        "country: US, sample: true}]\n"
        "trials: [{id: NCT00027274, title: A trial, status: recruiting, min_age: 6 months, "
        "locations: [{city: Bethesda, country: US, status: recruiting}]}]\n"
        "advances: [{title: An advance, year: 2023}]\n"
        "---\n## Definition\n\nNeutropenia is <b>low</b>.\n\n## Treatments\n\n- one\n- two\n"
    )
    async with app.state.db.sessionmaker() as s:
        await import_pages(s, pages=[parse_page_text(content, "page.md")])
        await s.commit()
    page_url = "/library/infantile-neutropenia"
    await pages.get(anon, "/library", 200, f'href="{page_url}"', "Neutropenia - infants")
    await pages.get(anon, "/library?q=zzz", 200, "No condition matches")
    html = await pages.get(
        anon,
        page_url,
        200,
        'href="#definition"',
        "&lt;b&gt;low&lt;/b&gt;",
        'id="ref-1"',
        "Low neutrophils at one year",
        "Ask the community",
        'action="/saved/start"',  # a visitor's Save button: a GET form, no token
    )
    assert "Review overdue" not in html  # admins only
    await pages.get(siteadmin, page_url, 200, "Review overdue")
    await pages.get(anon, page_url + "?age=14&age_unit=months&country=US", 200, "How the trials")
    await pages.get(anon, page_url + "?age=14", 422, "age_unit:")
    await pages.get(anon, page_url + "?tier=elite&place=Rochester", 200, "1 specialist of 1")
    await pages.get(rita, "/saved", 200, "Nothing saved yet")
    r = await rita.form("/saved", {"kind": "library_page", "slug": "infantile-neutropenia"})
    assert r.status_code == 303, r.text
    await pages.get(rita, "/saved", 200, "Infantile Neutropenia", "Remove")
    await pages.get(rita, page_url, 200, "See your saved items")
    await pages.get(siteadmin, "/admin/library", 200, "Review overdue", "Unpublish")
    await pages.get(anon, "/library/no-such-page", 404, "There is no library page")

    # -- lists with content, notices and errors ---------------------------------------------
    await pages.get(anon, "/", 200, "Low neutrophils at one year", escape(group.name))
    await pages.get(ann, "/?notice=welcome", 200, "Welcome to the community!", 'role="status"')
    await pages.get(anon, f"/groups/{group.slug}", 200, "Low neutrophils at one year")
    await pages.get(anon, "/groups/no-such-group", 404, "Not found", "There is no group")
    await pages.get(anon, "/no/such/page", 404, "There is no page at this address.")
    await pages.get(anon, "/discussions/999999/nothing", 404, "There is no discussion")

    # -- search and discovery (templates/search) ---------------------------------------------
    await pages.get(anon, "/search", 200, 'name="q"', 'name="group"', 'name="author"')
    await pages.get(anon, "/search?q=310", 200, "Low neutrophils at one year", "<mark>310</mark>")
    await pages.get(anon, "/search?q=zzznothing", 200, "Nothing found")
    await pages.get(
        anon,
        "/search?q=neutrophils&type=library",
        200,
        "Health library: Infantile Neutropenia",
        '<option value="library" selected>',
    )
    await pages.get(hal, "/unanswered", 200, "Time to a first reply")
    await pages.get(mona, "/mod/searches", 200, "Top searches")
    await pages.get(rita, "/?tab=unanswered", 200, "Waiting for an answer")
    await pages.get(rita, "/?tab=following", 200, "What you follow")
    await pages.get(anon, "/?tab=following", 200, "Sign in</a> to see")
    r = await rita.form(
        new_url,
        {
            "title": "Low neutrophils again",
            "body": "My *question*",
            "client_key": "k-p",
            "preview": "1",
        },
    )
    assert r.status_code == 200, r.text
    pages.check(new_url + " (preview)", r.text)
    assert "Similar discussions" in r.text and "Low neutrophils at one year" in r.text
    assert "<em>question</em>" in r.text
    for page_url, feed in (
        ("/", "/feeds/latest.atom"),
        (f"/groups/{group.slug}", f"/groups/{group.slug}/feed.atom"),
        (url, f"/discussions/{discussion_id}/feed.atom"),
    ):
        html = await pages.get(anon, page_url)
        assert '<link rel="alternate" type="application/atom+xml"' in html and feed in html

    for asset in ("/static/kindred.css", "/static/kindred.js", "/static/favicon.svg"):
        r = await anon.get(asset)
        assert r.status_code == 200 and r.content, asset

    missing = page_templates() - rendered
    assert not missing, f"templates no page rendered: {sorted(missing)}"
