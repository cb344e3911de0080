"""Atom feeds parsed by feedparser; similar discussions for a title close to an existing one;
the home page's tabs; the private search log (members only, counted per day, no identifier)."""

from __future__ import annotations

from typing import Any

import feedparser
from sqlalchemy import select

from app.demo.seed import EXCHANGE, load_demo
from app.search.models import SearchTermDay


async def demo(app: Any, session: Any) -> Any:
    discussion = await load_demo(session, app.state.hasher)
    await session.commit()
    return discussion


async def test_feeds_are_valid_atom_with_the_sanitized_html(app, session, make_client):
    discussion = await demo(app, session)
    client = await make_client()
    latest = await client.get("/feeds/latest.atom")
    assert latest.status_code == 200
    assert latest.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(latest.text)
    assert not feed.bozo, feed.bozo_exception
    assert feed.feed.title == "Kindred: latest discussions"
    titles = [e.title for e in feed.entries]
    assert (
        discussion.title in titles and "EBV and CMV results: questions to ask your doctor" in titles
    )
    entry = next(e for e in feed.entries if e.title == discussion.title)
    assert entry.link.endswith(f"/discussions/{discussion.id}/{discussion.slug}")
    assert entry.author == EXCHANGE[0].author
    assert "neutrophil count is very low (310)" in entry.content[0].value
    group = feedparser.parse((await client.get("/groups/childrens-health/feed.atom")).text)
    assert not group.bozo and [e.title for e in group.entries] == [
        "Keeping a toddler's infection diary"
    ]
    replies = feedparser.parse((await client.get(f"/discussions/{discussion.id}/feed.atom")).text)
    assert not replies.bozo
    assert len(replies.entries) == discussion.reply_count
    assert any("http://mayocl.in/1mtmR63" in e.content[0].value for e in replies.entries)
    assert all("<script" not in e.content[0].value for e in replies.entries)
    assert (await client.get("/groups/no-such/feed.atom")).status_code == 404
    assert (await client.get("/discussions/99999999/feed.atom")).status_code == 404
    assert (await client.get("/discussions/x/feed.atom")).status_code == 422


async def test_similar_discussions_for_a_close_title(app, session, make_client, member):
    discussion = await demo(app, session)
    client = await make_client(member)
    r = await client.get(
        "/api/v1/discussions/similar", params={"title": "My baby has neutropenia, what options?"}
    )
    assert r.status_code == 200
    found = r.json()
    assert 1 <= len(found) <= 5
    assert found[0]["id"] == discussion.id
    assert found[0]["reply_count"] == discussion.reply_count and found[0]["answered"] is True
    ebv = (await client.get("/api/v1/discussions/similar", params={"title": "EBV results"})).json()
    assert ebv[0]["title"] == "EBV and CMV results: questions to ask your doctor"
    assert ebv[0]["answered"] is False
    for nothing in ("", "the and of", "zzzqqq"):
        r = await client.get("/api/v1/discussions/similar", params={"title": nothing})
        assert r.json() == [], nothing


async def test_home_tabs_latest_unanswered_following(app, session, make_client, member):
    discussion = await demo(app, session)
    anon = await make_client()
    latest = await anon.get("/")
    assert discussion.title.replace("'", "&#39;") in latest.text
    waiting = await anon.get("/?tab=unanswered")
    assert "EBV and CMV results" in waiting.text and "My 1-year-old" not in waiting.text
    reader = await make_client(member)
    assert "You follow nothing yet" in (await reader.get("/?tab=following")).text
    r = await reader.form("/groups/childrens-health/follow", {"level": "watching"})
    assert r.status_code == 303, r.text
    following = await reader.get("/?tab=following")
    assert "Keeping a toddler" in following.text and "EBV and CMV" not in following.text
    odd = await anon.get("/?tab=<script>")
    assert odd.status_code == 200 and "<script>" not in odd.text.split("<main", 1)[1]


async def test_search_log_counts_members_words_per_day_without_identifiers(
    app, session, make_client, member, moderator
):
    await demo(app, session)
    anon, reader = await make_client(), await make_client(member)
    await anon.get("/search", params={"q": "visitorsecret"})
    await reader.get("/search", params={"q": "Bone marrow @dsm"})
    await reader.get("/api/v1/search", params={"q": "bone MARROW"})
    await reader.get("/search", params={"q": "qqqnothingqqq"})
    rows = (await session.execute(select(SearchTermDay))).scalars().all()
    assert {(r.terms, r.searches, r.zero_results) for r in rows} == {
        ("bone marrow", 2, 0),
        ("qqqnothingqqq", 1, 1),
    }
    assert set(SearchTermDay.__table__.columns.keys()) == {
        "day",
        "terms",
        "searches",
        "zero_results",
    }
    page = await (await make_client(moderator)).get("/mod/searches")
    assert page.status_code == 200
    top = page.text.split('id="top-heading"', 1)[1]
    assert "bone marrow" in top and "qqqnothingqqq" in top and "visitorsecret" not in page.text
    missing = page.text.split('id="missing-heading"', 1)[1]
    assert "qqqnothingqqq" in missing and "bone marrow" not in missing
    assert (await reader.get("/mod/searches")).status_code == 403
    # the same log as JSON, for the moderators alone
    log = (await (await make_client(moderator)).get("/api/v1/mod/searches")).json()
    assert [(t["terms"], t["searches"]) for t in log["top"]] == [
        ("bone marrow", 2),
        ("qqqnothingqqq", 1),
    ]
    assert [t["terms"] for t in log["found_nothing"]] == ["qqqnothingqqq"]
    assert (await reader.get("/api/v1/mod/searches")).status_code == 403
