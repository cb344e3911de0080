"""Rough edges a reader hits: a discussion address that is not a number is 404; authors
read their own post's edit history; profile excerpts are text, not Markdown; titles and
bodies carry dir="auto" so right-to-left languages read right."""

from __future__ import annotations

import re


async def start(c, group, title, body):
    r = await c.api(
        "POST", f"/api/v1/groups/{group.slug}/discussions", json={"title": title, "body": body}
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_a_discussion_address_that_is_not_a_number_is_404_not_422(make_client):
    c = await make_client()
    for url in ("/discussions/abc", "/discussions/abc/some-title", "/posts/abc"):
        r = await c.get(url)
        assert r.status_code == 404, url
        assert "discussion_id" not in r.text and "post_id" not in r.text, url
    r = await c.get("/api/v1/discussions/abc")
    assert r.status_code == 404
    assert r.json() == {"detail": "There is no page at this address.", "code": "not_found"}


async def test_the_author_reads_their_own_posts_history_and_others_do_not(
    make_client, member, make_user, moderator, group
):
    author = await make_client(member)
    d = await start(author, group, "First try", "version one")
    post_id = (await author.get(f"/api/v1/discussions/{d['id']}")).json()["posts"][0]["id"]
    r = await author.form(f"/posts/{post_id}/edit", {"body": "version two", "title": "First try"})
    assert r.status_code == 303, r.text
    # a moderator's edit is in the author's history too, with its reason
    mod = await make_client(moderator)
    r = await mod.form(
        f"/posts/{post_id}/edit",
        {"body": "version three", "title": "First try", "reason": "removed a phone number"},
    )
    assert r.status_code == 303, r.text

    page = await author.get(f"/posts/{post_id}/history")
    assert page.status_code == 200
    assert "version one" in page.text and "version two" in page.text
    assert "removed a phone number" in page.text
    # the author finds the page from their post
    assert f'href="/posts/{post_id}/history"' in (await author.get(d["url"])).text
    stranger = await make_client(await make_user("stranger_sam"))
    assert (await stranger.get(f"/posts/{post_id}/history")).status_code == 403
    assert (await stranger.get(f"/api/v1/posts/{post_id}/history")).status_code == 403
    assert f'href="/posts/{post_id}/history"' not in (await stranger.get(d["url"])).text


async def test_profile_excerpts_show_text_not_markdown(make_client, member, group):
    c = await make_client(member)
    await start(c, group, "Cycles", "Starting my **third cycle** of [chemo](https://example.org)")
    html = (await c.get(f"/users/{member.username}")).text
    excerpt = re.search(r'<p class="excerpt" dir="auto">([^<]*)</p>', html)
    assert excerpt, html
    assert excerpt.group(1) == "Starting my third cycle of chemo"
    assert "**" not in html and "](" not in html


async def test_held_and_hidden_posts_stay_off_a_public_profile(
    make_client, member, moderator, group
):
    c = await make_client(member)
    d = await start(c, group, "Visible one", "kept")
    reply = (
        await c.api("POST", f"/api/v1/discussions/{d['id']}/posts", json={"body": "hide me"})
    ).json()
    mod = await make_client(moderator)
    r = await mod.api("POST", f"/api/v1/mod/posts/{reply['id']}/hide", json={"reason": "x"})
    assert r.status_code == 204
    html = (await (await make_client()).get(f"/users/{member.username}")).text
    assert "kept" in html and "hide me" not in html


async def test_titles_and_bodies_carry_dir_auto(make_client, member, group):
    c = await make_client(member)
    title, body = "سؤال عن العدلات", "ابني عمره سنة واحدة"
    d = await start(c, group, title, body)
    page = (await c.get(d["url"])).text
    assert f'<h1 class="discussion-heading" dir="auto">{title}</h1>' in page
    assert re.search(r'<div class="post-body" dir="auto"><p>' + body, page)
    listing = (await c.get(f"/groups/{group.slug}")).text
    assert re.search(r'<a class="discussion-title" dir="auto" href="[^"]+">' + title, listing)
    profile = (await c.get(f"/users/{member.username}")).text
    assert f'<bdi dir="auto">{title}</bdi>' in profile
    assert f'<p class="excerpt" dir="auto">{body}</p>' in profile
