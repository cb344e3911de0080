"""The seed exchange, answered with the built-in canned responses through the real composer
flow (fill in, edit, post with the template's id):

- colleenyoung (moderator) answers dsm with "Request an appointment": the reply carries her
  Moderator badge, mentions @dsm and links only to the configured appointment page;
- johnbishop (volunteer mentor) answers sonia85 with "We are not medical professionals";
- sonia85, writing from Iraq, gets "International patients".
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from app.accounts import service as accounts
from app.demo.seed import EXCHANGE, load_demo
from app.discussions.models import Post
from app.moderation.models import CannedResponse

REQUEST_URL = "https://www.mayoclinic.org/appointments"
INTERNATIONAL_URL = "https://www.mayoclinic.org/patient-visitor-guide/international-services"


async def canned_id(session: Any, key: str) -> int:
    return int(await session.scalar(select(CannedResponse.id).where(CannedResponse.key == key)))


def seed_index(author: str, contains: str, bodies: list[Any]) -> int:
    for index, seed in enumerate(EXCHANGE):
        if seed.author == author and contains in bodies[index].body_md:
            return index
    raise AssertionError(f"no seed post by {author} with {contains!r}")


async def answer_with(
    client: Any, session: Any, discussion_id: int, post_id: int, key: str, edit: Any = None
) -> dict[str, Any]:
    """What the composer does: fill the template in, let the person edit it, post it."""
    canned = await canned_id(session, key)
    r = await client.api(
        "POST",
        f"/api/v1/canned-responses/{canned}/render",
        json={"discussion_id": discussion_id, "reply_to": post_id},
    )
    assert r.status_code == 200, r.text
    markdown = r.json()["markdown"]
    body = edit(markdown) if edit else markdown
    r = await client.form(
        f"/discussions/{discussion_id}/replies",
        {
            "body": body,
            "reply_to": str(post_id),
            "client_key": f"seed-{key}",
            "canned_response_id": str(canned),
        },
    )
    assert r.status_code == 303, r.text
    post_id_new = int(r.headers["location"].rsplit("#post-", 1)[1])
    return {"id": post_id_new, "markdown": markdown, "body": body}


def hrefs(html: str) -> list[str]:
    return re.findall(r'<a [^>]*href="([^"]*)"', html)


def external_links(html: str) -> list[str]:
    return [h for h in hrefs(html) if not h.startswith("/users/")]


async def test_seed_exchange_answered_with_canned_responses(app, session, make_client):
    discussion = await load_demo(session, app.state.hasher)
    await session.commit()
    posts = list(
        (
            await session.scalars(
                select(Post).where(Post.discussion_id == discussion.id).order_by(Post.id)
            )
        ).all()
    )
    users = {
        name: await accounts.get_user_by_username(session, name)
        for name in ("colleenyoung", "johnbishop", "dsm", "sonia85")
    }
    colleen = await make_client(users["colleenyoung"])
    john = await make_client(users["johnbishop"])

    # -- colleenyoung answers dsm's request for a second opinion ---------------------------
    dsm_post = posts[seed_index("dsm", "second opinion", posts)]
    written = await answer_with(
        colleen,
        session,
        discussion.id,
        dsm_post.id,
        "request-appointment",
        edit=lambda text: text.replace(
            "If you would like",
            "You asked about virtual appointments. If you would like",
        ),
    )
    assert written["markdown"].startswith("Hi @dsm,")
    assert f"[Request an appointment]({REQUEST_URL})" in written["markdown"]
    api_post = (await colleen.get(f"/api/v1/posts/{written['id']}")).json()
    assert api_post["author"] == {
        "username": "colleenyoung",
        "role": "moderator",
        "badge": "Moderator",
    }
    assert api_post["reply_to"] == dsm_post.id
    assert api_post["body"] == written["body"]  # her edit was kept
    assert "You asked about virtual appointments." in api_post["body"]
    html = api_post["body_html"]
    assert re.search(r'<a href="/users/dsm"[^>]*>@dsm</a>', html)  # a mention of dsm
    assert external_links(html) == [REQUEST_URL]  # the configured page, and nothing else
    link = re.search(r'<a [^>]*href="' + re.escape(REQUEST_URL) + r'"[^>]*>', html).group(0)
    assert 'rel="nofollow ugc noopener"' in link

    page = await colleen.get(f"/discussions/{discussion.id}/{discussion.slug}")
    assert page.status_code == 200
    article = re.search(
        rf'<article [^>]*id="post-{written["id"]}".*?</article>', page.text, re.S
    ).group(0)
    assert 'href="/users/colleenyoung"' in article
    assert '<span class="badge badge-moderator"' in article and "Moderator</span>" in article
    assert f'href="{REQUEST_URL}" rel="nofollow ugc noopener"' in article

    # -- johnbishop (mentor) answers sonia85's "i need your help" ------------------------
    sonia_help = posts[seed_index("sonia85", "i need your help", posts)]
    written = await answer_with(
        john, session, discussion.id, sonia_help.id, "not-medical-professionals"
    )
    api_post = (await john.get(f"/api/v1/posts/{written['id']}")).json()
    assert api_post["author"]["badge"] == "Volunteer Mentor"
    assert api_post["body"].startswith("Hi @sonia85,")
    assert "we are patients and caregivers, not medical professionals" in api_post["body"].replace(
        "members of Blood Cancers & Disorders are", "we are"
    )
    assert "can't diagnose" in api_post["body"]
    assert api_post["body"].rstrip().endswith("johnbishop")
    assert external_links(api_post["body_html"]) == []

    # -- sonia85 writes from Iraq: the international patients answer ----------------------
    sonia_iraq = posts[seed_index("sonia85", "iraq", posts)]
    written = await answer_with(
        colleen, session, discussion.id, sonia_iraq.id, "international-patients"
    )
    api_post = (await colleen.get(f"/api/v1/posts/{written['id']}")).json()
    assert api_post["body"].startswith("Hi @sonia85,")
    assert f"[International patients]({INTERNATIONAL_URL})" in api_post["body"]
    assert external_links(api_post["body_html"]) == [INTERNATIONAL_URL]

    # each template was used once; the library page shows it
    for key in ("request-appointment", "not-medical-professionals", "international-patients"):
        row = await session.get(CannedResponse, await canned_id(session, key))
        await session.refresh(row)
        assert row.usage_count == 1, key
    library = await colleen.get("/mod/canned")
    assert library.text.count("used 1 time") == 3
