"""Without JavaScript a mentor or moderator picks a canned response on the reply page
(/posts/{id}/reply?canned=ID): the textarea starts with it filled in, still editable, and
posting counts one use. With JavaScript the same picker is on the discussion page."""

from __future__ import annotations

import re
from html import escape
from typing import Any

import pytest
from sqlalchemy import delete, select

from app.moderation.models import AppointmentDestination, CannedResponse


async def canned_id(session: Any, key: str) -> int:
    return int(await session.scalar(select(CannedResponse.id).where(CannedResponse.key == key)))


async def usage(session: Any, canned: int) -> int:
    row = await session.get(CannedResponse, canned)
    await session.refresh(row)
    return row.usage_count


@pytest.fixture
async def question(make_client, make_user, group):
    asker = await make_client(await make_user("worried_wendy"))
    d = (
        await asker.api(
            "POST",
            f"/api/v1/groups/{group.slug}/discussions",
            json={"title": "My son's counts", "body": "His neutrophils are 310."},
        )
    ).json()
    opening = (await asker.get(f"/api/v1/discussions/{d['id']}")).json()["posts"][0]
    return {"discussion": d, "opening_id": opening["id"]}


async def test_reply_page_fills_the_textarea_and_posting_counts_one_use(
    make_client, mentor, session, question
):
    c = await make_client(mentor)
    nmp = await canned_id(session, "not-medical-professionals")
    url = f"/posts/{question['opening_id']}/reply"
    page = await c.get(url)
    assert page.status_code == 200
    assert "data-canned-picker" in page.text and 'name="canned"' in page.text
    assert f'<option value="{nmp}">We are not medical professionals</option>' in page.text
    assert '<optgroup label="Safety">' in page.text

    page = await c.get(url, params={"canned": nmp})
    assert page.status_code == 200
    body = re.search(r'<textarea id="body"[^>]*>(.*?)</textarea>', page.text, re.S).group(1)
    assert body.startswith("Hi @worried_wendy,")
    assert escape(mentor.username) in body
    assert f'name="canned_response_id" value="{nmp}"' in page.text
    assert f'<option value="{nmp}" selected>' in page.text
    assert await usage(session, nmp) == 0  # filling in is not a use

    # the mentor edits the text, then posts it
    form = {
        "csrf_token": c.csrf,
        "body": "Hi @worried_wendy, I was there too. We are not medical professionals, but...",
        "reply_to": str(question["opening_id"]),
        "client_key": "canned-form-1",
        "canned_response_id": str(nmp),
    }
    r = await c.post(f"/discussions/{question['discussion']['id']}/replies", data=form)
    assert r.status_code == 303, r.text
    assert await usage(session, nmp) == 1
    # the same form sent twice (double click, retry): one post, one use
    r = await c.post(f"/discussions/{question['discussion']['id']}/replies", data=form)
    assert r.status_code == 303
    assert await usage(session, nmp) == 1
    posts = (await c.get(f"/api/v1/discussions/{question['discussion']['id']}")).json()["posts"]
    assert [p["body"] for p in posts[1:]] == [form["body"]]


async def test_api_reply_counts_the_use_too(make_client, moderator, session, question):
    c = await make_client(moderator)
    welcome = await canned_id(session, "welcome")
    filled = (
        await c.api(
            "POST",
            f"/api/v1/canned-responses/{welcome}/render",
            json={"discussion_id": question["discussion"]["id"]},
        )
    ).json()
    r = await c.api(
        "POST",
        f"/api/v1/discussions/{question['discussion']['id']}/posts",
        json={"body": filled["markdown"], "canned_response_id": filled["canned_response_id"]},
    )
    assert r.status_code == 201, r.text
    assert "Welcome to Blood Cancers &amp; Disorders" in r.json()["body_html"]
    assert await usage(session, welcome) == 1


async def test_members_cannot_count_uses_or_fill_templates(make_client, member, session, question):
    c = await make_client(member)
    welcome = await canned_id(session, "welcome")
    page = await c.get(f"/posts/{question['opening_id']}/reply")
    assert page.status_code == 200 and "data-canned-picker" not in page.text
    assert (
        await c.get(f"/posts/{question['opening_id']}/reply?canned={welcome}")
    ).status_code == 403
    r = await c.api(
        "POST",
        f"/api/v1/discussions/{question['discussion']['id']}/posts",
        json={"body": "Welcome!", "canned_response_id": welcome},
    )
    assert r.status_code == 201  # the post is fine; the id is ignored
    assert await usage(session, welcome) == 0
    discussion = await c.get(question["discussion"]["url"])
    assert "data-canned-picker" not in discussion.text
    assert 'name="canned_response_id"' not in discussion.text


async def test_unknown_or_unusable_choice_shows_why_and_keeps_the_page(
    make_client, moderator, admin, session, question
):
    c = await make_client(moderator)
    url = f"/posts/{question['opening_id']}/reply"
    page = await c.get(url, params={"canned": 999_999})
    assert page.status_code == 200
    assert "There is no canned response with that number." in page.text
    assert re.search(r'<textarea id="body"[^>]*></textarea>', page.text)
    assert (await c.get(url, params={"canned": "abc"})).status_code == 422

    # deleting a link in use is refused (test_appointment_link_in_use_cannot_be_deleted);
    # one can still go missing (deleted before that rule, or a retired response put back
    # in use): it is removed underneath here, and must still never be linked
    await session.execute(
        delete(AppointmentDestination).where(AppointmentDestination.key == "international")
    )
    await session.commit()
    international = await canned_id(session, "international-patients")
    page = await c.get(url, params={"canned": international})
    assert page.status_code == 200 and "no longer configured" in page.text
    assert "patient-visitor-guide" not in page.text
    # a reply id that does not exist is ignored, not an error
    r = await c.api(
        "POST",
        f"/api/v1/discussions/{question['discussion']['id']}/posts",
        json={"body": "Plain reply", "canned_response_id": 2_147_483_647},
    )
    assert r.status_code == 201


async def test_discussion_page_offers_the_picker_to_mentors(make_client, mentor, question):
    c = await make_client(mentor)
    page = await c.get(question["discussion"]["url"])
    assert page.status_code == 200
    html = page.text
    discussion_id = question["discussion"]["id"]
    assert f'data-canned-picker data-form="composer" data-discussion-id="{discussion_id}"' in html
    assert f'<a href="/posts/{question["opening_id"]}/reply">Use a canned response</a>' in html
    assert 'name="canned_response_id" value=""' in html
    assert re.search(r'<script src="/static/canned\.js\?v=\w+" defer></script>', html)
    assert (await c.get("/static/canned.js")).status_code == 200


async def test_invalid_reply_comes_back_with_the_picker_and_the_choice(
    make_client, mentor, session, question
):
    c = await make_client(mentor)
    nmp = await canned_id(session, "not-medical-professionals")
    r = await c.form(
        f"/discussions/{question['discussion']['id']}/replies",
        {
            "body": "   ",
            "reply_to": str(question["opening_id"]),
            "client_key": "k-blank",
            "canned_response_id": str(nmp),
        },
    )
    assert r.status_code == 422
    assert "data-canned-picker" in r.text
    assert f'name="canned_response_id" value="{nmp}"' in r.text
    assert await usage(session, nmp) == 0
