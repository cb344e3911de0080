"""The seed exchange searched as people would: words, numbers as typed, short medical terms,
phrases, @author and #group; through the API and the page, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from app.demo.seed import load_demo
from app.search import engine
from app.search.query import parse_query


async def demo(app: Any, session: Any) -> Any:
    discussion = await load_demo(session, app.state.hasher)
    await session.commit()
    return discussion


async def found(session: Any, q: str, kind: str = "all", viewer: Any = None) -> list[Any]:
    results = await engine.search(
        session, parsed=parse_query(q), viewer=viewer, kind=kind, limit=50
    )
    return results.hits


async def test_words_numbers_and_short_terms_find_the_posts_that_say_them(app, session):
    discussion = await demo(app, session)
    hits = await found(session, "neutrophil count")
    assert hits, "neutrophil count finds posts"
    assert all("neutrophil" in h.snippet.lower() or "count" in h.snippet.lower() for h in hits)
    assert discussion.id in {h.discussion_id for h in hits}
    # lab values as typed: 310 and 1,500 are in the question
    for number in ("310", "1,500"):
        hits = await found(session, number)
        assert [h.kind for h in hits if h.discussion_id == discussion.id][:1] == ["discussion"], (
            number
        )
    ebv = await found(session, "EBV")
    authors = {h.author for h in ebv}
    assert "sonia85" in authors and "johnbishop" in authors
    assert all("<mark>" in h.snippet or h.kind == "discussion" for h in ebv)
    marrow = await found(session, '"bone marrow"')
    assert len(marrow) >= 3
    assert all(
        "bone marrow" in h.snippet.lower().replace("<mark>", "").replace("</mark>", "")
        for h in marrow
        if h.kind == "post"
    )
    # stemming: "appointment" finds "appointments" too
    appointment = await found(session, "appointment")
    assert {"colleenyoung", "hopeful33250"} <= {h.author for h in appointment}


async def test_title_matches_weigh_most_and_an_exact_title_comes_first(app, session):
    await demo(app, session)
    hits = await found(session, "EBV and CMV results: questions to ask your doctor")
    assert hits[0].title == "EBV and CMV results: questions to ask your doctor"
    assert hits[0].kind == "discussion"
    titles = await found(session, "EBV in:title")
    assert [h.title for h in titles] == ["EBV and CMV results: questions to ask your doctor"]


async def test_author_and_group_operators_work_with_and_without_words(app, session):
    discussion = await demo(app, session)
    by_colleen = await found(session, "@colleenyoung")
    assert by_colleen and {h.author for h in by_colleen} == {"colleenyoung"}
    in_group = await found(session, "#blood-cancers-disorders")
    assert in_group and {h.group_slug for h in in_group} == {"blood-cancers-disorders"}
    assert discussion.id in {h.discussion_id for h in in_group}
    both = await found(session, "@dsm #blood-cancers-disorders")
    assert both and {h.author for h in both} == {"dsm"}
    assert await found(session, "@dsm #childrens-health") == []
    appointment_by_colleen = await found(session, "appointment @ColleenYoung")
    assert {h.author for h in appointment_by_colleen} == {"colleenyoung"}


async def test_the_api_and_the_page_answer_the_same_search(app, session, make_client):
    await demo(app, session)
    client = await make_client()
    api = await client.get("/api/v1/search", params={"q": "EBV", "type": "posts"})
    assert api.status_code == 200
    body = api.json()
    assert body["total"] == len(body["results"]) > 0
    assert {r["kind"] for r in body["results"]} == {"post"}
    assert all("<mark>" in r["snippet_html"] for r in body["results"])
    page = await client.get("/search", params={"q": "EBV", "type": "posts"})
    assert page.status_code == 200
    for r in body["results"]:
        assert r["url"] in page.text.replace("&amp;", "&")
    # the filters as form controls: group and author fields
    page = await client.get(
        "/search", params={"q": "", "author": "dsm", "group": "blood-cancers-disorders"}
    )
    assert page.status_code == 200 and "result" in page.text


async def test_pages_of_results_follow_each_other_without_repeats(app, session):
    await demo(app, session)
    for q in ("sonia85", "husband order:latest", "#blood-cancers-disorders", "@sonia85"):
        everything = await found(session, q)
        assert len(everything) > 2, q
        seen: list[int] = []
        cursor = None
        for _ in range(50):
            page = await engine.search(
                session, parsed=parse_query(q), viewer=None, cursor=cursor, limit=2
            )
            assert page.total == len(everything), q
            seen += [h.document_id for h in page.hits]
            cursor = page.next_cursor
            if not cursor:
                break
        assert seen == [h.document_id for h in everything], q


async def test_status_and_date_operators(app, session):
    discussion = await demo(app, session)
    waiting = await found(session, "status:unanswered", kind="discussions")
    assert {h.title for h in waiting} == {
        "Keeping a toddler's infection diary",
        "EBV and CMV results: questions to ask your doctor",
    }
    answered = await found(session, "status:answered", kind="discussions")
    assert [h.discussion_id for h in answered] == [discussion.id]
    assert await found(session, "EBV status:unanswered in:title") != []
    assert await found(session, "EBV status:answered in:title") == []
    today = discussion.created_at.date()
    assert len(await found(session, f"after:{today.isoformat()} EBV")) == len(
        await found(session, "EBV")
    )
    assert await found(session, f"before:{today.isoformat()} EBV") == []
    assert await found(session, "before:2000-01-01") == []
    latest = await found(session, "#blood-cancers-disorders order:latest")
    stamps = [(h.created_at, h.document_id) for h in latest]
    assert stamps == sorted(stamps, reverse=True)
