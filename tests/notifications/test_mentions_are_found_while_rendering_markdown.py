"""@mentions come from the Markdown parse (a markdown-it rule), not from a regex over HTML:
known names become links to the profile that survive the sanitizer, unknown ones stay
text; code, e-mail addresses, URLs and links are never mentions."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from app.accounts.models import Role, User
from app.core.markdown import render_markdown, sanitize_html
from app.db import utcnow
from app.discussions.rendering import render_body


@pytest.fixture
async def people(make_user: Any) -> dict[str, User]:
    names = ["sonia85", "johnbishop", "colleenyoung", "dsm", "j.doe-", "hopeful33250"]
    return {n: await make_user(n, Role.mentor if n == "johnbishop" else Role.member) for n in names}


def link(name: str) -> str:
    return f'<a href="/users/{name}" class="mention" rel="nofollow ugc noopener">@{name}</a>'


async def test_known_names_link_to_profiles_any_case(session, people):
    r = await render_body(session, "Dear @ColleenYoung and @SONIA85, thanks (@johnbishop).")
    assert link("colleenyoung") in r.html and link("sonia85") in r.html
    assert f"({link('johnbishop')})." in r.html
    assert r.mentioned_usernames == ["colleenyoung", "sonia85", "johnbishop"]
    assert r.mentioned_user_ids == [people[n].id for n in ("colleenyoung", "sonia85", "johnbishop")]
    assert r.unknown_mentions == {}


async def test_sentence_punctuation_after_a_name_is_not_part_of_it(session, people):
    r = await render_body(session, "Thanks @sonia85. And @dsm- too; and @j.doe- herself.")
    assert f"{link('sonia85')}." in r.html and f"{link('dsm')}-" in r.html
    q = await render_body(session, "Still there, @sonia85? @dsm! @johnbishop: hi; @hopeful33250's")
    assert q.mentioned_usernames == ["sonia85", "dsm", "johnbishop", "hopeful33250"]
    # a username may itself end in '.' or '-': the longest existing name wins
    assert link("j.doe-") in r.html
    assert r.mentioned_usernames == ["sonia85", "dsm", "j.doe-"]


@pytest.mark.parametrize(
    "body",
    [
        "`@sonia85` in code",
        "```\n@sonia85 in a fence\n```",
        "    @sonia85 in an indented block",
        "write to sonia85@example.org or sonia85@hotmail",
        "https://example.org/@sonia85 and www.example.org/@sonia85",
        "<https://example.org/@sonia85> and <sonia85@example.org>",
        "[@sonia85](https://example.org/profile)",
        "![@sonia85](https://example.org/a.png)",
        "an escaped \\@sonia85",
        "a@sonia85 and @@sonia85 and @sonia85@example.org",
        "?to=@sonia85 and /path/@sonia85",
    ],
)
async def test_code_addresses_urls_and_links_are_not_mentions(session, people, body):
    r = await render_body(session, body)
    assert 'class="mention"' not in r.html, r.html
    assert r.mentioned_user_ids == [] and r.unknown_mentions == {}


async def test_unknown_names_stay_text_and_suggest_the_closest_members(session, people):
    r = await render_body(session, "Dear @colleeyoung, ask @nobody_at_all or @sonia58")
    assert "Dear @colleeyoung," in r.html and 'class="mention"' not in r.html
    assert r.mentioned_user_ids == []
    assert r.unknown_mentions["colleeyoung"] == ["colleenyoung"]
    assert r.unknown_mentions["sonia58"] == ["sonia85"]
    assert r.unknown_mentions["nobody_at_all"] == []


async def test_names_too_short_or_too_long_are_plain_text(session, people):
    r = await render_body(session, "@ab and @" + "x" * 31)
    assert r.unknown_mentions == {} and "@ab" in r.html


async def test_suspended_members_are_linked_but_flagged(session, people):
    await session.execute(
        update(User).where(User.id == people["dsm"].id).values(suspended_at=utcnow())
    )
    r = await render_body(session, "@dsm and @sonia85")
    assert link("dsm") in r.html
    assert r.suspended_user_ids == [people["dsm"].id]
    assert r.notifiable_user_ids == [people["sonia85"].id]


async def test_the_mention_link_is_the_only_class_the_sanitizer_keeps(session, people):
    r = await render_body(session, '<a class="mention" href="/users/x">@x</a> @sonia85')
    assert '&lt;a class="mention"' in r.html  # raw HTML is shown as text
    assert r.html.count("<a ") == 1 and link("sonia85") in r.html
    # the allow-list keeps this one class on links, and nothing else
    cleaned = sanitize_html('<a class="mention evil" href="/users/x" onclick="x()">@x</a>')
    assert cleaned == '<a class="mention" href="/users/x" rel="nofollow ugc noopener">@x</a>'
    assert 'class="evil"' not in sanitize_html('<p class="evil">x</p>')


def test_rendering_without_a_lookup_leaves_names_as_text():
    # previews and e-mails render Markdown with no member list: names are plain text
    assert render_markdown("hi @sonia85") == "<p>hi @sonia85</p>\n"


async def test_more_than_ten_mentioned_members_is_refused_before_anything_is_written(
    app, make_client, make_user, group, session
):
    author = await make_user("chatty_cathy", Role.mentor)
    names = [f"pal{n:02d}" for n in range(11)]
    for name in names:
        await make_user(name)
    c = await make_client(author)
    r = await c.api(
        "POST",
        f"/api/v1/groups/{group.slug}/discussions",
        json={"title": "Hello all", "body": " ".join("@" + n for n in names)},
    )
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "too_many_mentions"
    assert "at most 10 members" in r.json()["detail"] and "mentions 11" in r.json()["detail"]
    r = await c.api(
        "POST",
        f"/api/v1/groups/{group.slug}/discussions",
        json={"title": "Hello all", "body": " ".join("@" + n for n in names[:10])},
    )
    assert r.status_code == 201, r.text
    d = r.json()
    # the same limit holds for replies and edits
    r = await c.api(
        "POST",
        f"/api/v1/discussions/{d['id']}/posts",
        json={"body": " ".join("@" + n for n in names)},
    )
    assert r.status_code == 422 and r.json()["code"] == "too_many_mentions"
    r = await c.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "@pal00"})
    assert r.status_code == 201
    r = await c.api(
        "PATCH", f"/api/v1/posts/{r.json()['id']}", json={"body": " ".join("@" + n for n in names)}
    )
    assert r.status_code == 422 and r.json()["code"] == "too_many_mentions"
    # unknown names and repeats do not count
    r = await c.api(
        "POST",
        f"/api/v1/discussions/{d['id']}/posts",
        json={"body": " ".join("@" + n for n in names[:10] * 2) + " @ghost1 @ghost2"},
    )
    assert r.status_code == 201, r.text
