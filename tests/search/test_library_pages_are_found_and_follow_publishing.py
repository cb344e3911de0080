"""The health library's published pages are search results of their own type: found by the
words of their sections and by their other names, filtered with type=library, kept current
by imports, publishing and unpublishing in the same transaction, and rebuilt by the
reindex. An unpublished page is found by nobody. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from sqlalchemy import func, select

from app.demo.library import PAGE_FILES
from app.demo.seed import load_demo
from app.library.content import parse_page_file
from app.library.service import import_pages, index_for_search, set_published
from app.search import engine
from app.search.index import rebuild
from app.search.library import LIBRARY
from app.search.models import SearchDocument
from app.search.query import parse_query

SLUG = "infantile-neutropenia"
URL = f"/library/{SLUG}"


async def found(session: Any, q: str, kind: str = "all", viewer: Any = None) -> list[Any]:
    results = await engine.search(
        session, parsed=parse_query(q), viewer=viewer, kind=kind, limit=50
    )
    return results.hits


def library_hits(hits: list[Any]) -> list[Any]:
    return [h for h in hits if h.kind == "library"]


async def library_documents(session: Any) -> int:
    count = select(func.count()).where(SearchDocument.source == LIBRARY)
    return int(await session.scalar(count) or 0)


async def test_the_page_is_found_by_its_definition_and_its_other_name(app, session):
    await load_demo(session, app.state.hasher)
    await session.commit()
    for q in (
        "abnormally low number of white blood cells",
        '"fight infection"',
        "Neutropenia - infants",
        '"Neutropenia - infants"',
        "Infantile Neutropenia",
        "neutropenia in:title",
    ):
        hits = library_hits(await found(session, q))
        assert [(h.title, h.url) for h in hits] == [("Infantile Neutropenia", URL)], q
        snippet = str(hits[0].snippet)
        assert "<mark>" in snippet, q
        assert set(re.findall(r"</?([a-z]+)", snippet)) == {"mark"}, q
    # an exact title comes first, before the discussions that name it
    assert (await found(session, "Infantile Neutropenia"))[0].url == URL
    # order:latest and a date filter reach the page too
    assert library_hits(await found(session, "neutrophils order:latest"))
    assert library_hits(await found(session, "neutrophils after:2000-01-01 order:latest"))


async def test_type_filters_and_post_operators_choose_what_is_searched(app, session):
    await load_demo(session, app.state.hasher)
    await session.commit()
    only = await found(session, "neutropenia", kind="library")
    assert [h.url for h in only] == [URL]
    assert not library_hits(await found(session, "neutropenia", kind="posts"))
    assert not library_hits(await found(session, "neutropenia", kind="discussions"))
    mixed = await found(session, "neutropenia")
    assert library_hits(mixed) and [h for h in mixed if h.kind != "library"]
    # a page has no author, group or answers: those operators leave it out
    for q in (
        "neutropenia @sonia85",
        "neutropenia #blood-cancers-disorders",
        "neutropenia status:answered",
    ):
        assert not library_hits(await found(session, q)), q
    assert not library_hits(await found(session, "neutropenia before:2000-01-01"))


async def test_the_api_and_the_page_show_library_results_with_their_type(app, session, client):
    await load_demo(session, app.state.hasher)
    await session.commit()
    api = await client.get("/api/v1/search", params={"q": "neutrophils", "type": "library"})
    assert api.status_code == 200
    results = api.json()["results"]
    assert [(r["kind"], r["title"], r["url"]) for r in results] == [
        ("library", "Infantile Neutropenia", URL)
    ]
    assert "<mark>" in results[0]["snippet_html"]
    page = await client.get("/search", params={"q": "Neutropenia - infants", "type": "library"})
    assert page.status_code == 200
    assert '<option value="library" selected>' in page.text
    assert f'href="{URL}"' in page.text and "Health library: Infantile Neutropenia" in page.text
    bad = await client.get("/api/v1/search", params={"q": "x", "type": "pages"})
    assert bad.status_code == 422 and "library" in bad.json()["detail"]


async def test_an_unpublished_page_is_found_by_nobody_until_it_is_published_again(
    app, session, make_client, member, admin
):
    await load_demo(session, app.state.hasher)
    await session.commit()
    await set_published(session, slug=SLUG, published=False)
    # in the same transaction, before any commit: the index follows
    assert await library_documents(session) == 0
    await session.commit()
    visitor = await make_client()
    signed_in = await make_client(member)
    boss = await make_client(admin)
    for who in (visitor, signed_in, boss):
        for params in ({"q": "neutrophils"}, {"q": "Neutropenia - infants", "type": "library"}):
            api = await who.get("/api/v1/search", params=params)
            assert api.status_code == 200
            assert URL not in {r["url"] for r in api.json()["results"]}, params
        page = await who.get("/search", params={"q": "neutrophils"})
        assert f'href="{URL}"' not in page.text
    await set_published(session, slug=SLUG, published=True)
    await session.commit()
    api = await visitor.get("/api/v1/search", params={"q": "neutrophils", "type": "library"})
    assert [r["url"] for r in api.json()["results"]] == [URL]


async def test_imports_rewrite_the_document_and_the_reindex_rebuilds_it(app, session):
    await load_demo(session, app.state.hasher)
    await session.commit()
    content = parse_page_file(PAGE_FILES[0])
    first = replace(content.sections[0], body_md=content.sections[0].body_md + " zyxwvutsense")
    content = replace(content, sections=[first, *content.sections[1:]])
    await import_pages(session, pages=[content])
    assert await library_documents(session) == 1  # rewritten in place, in the transaction
    assert library_hits(await found(session, "zyxwvutsense"))
    await session.commit()
    await session.execute(SearchDocument.__table__.delete())
    assert not library_hits(await found(session, "neutrophils"))
    await rebuild(session)
    assert await library_documents(session) == 0  # posts only: the pages are the library's
    await index_for_search(session)
    await session.commit()
    assert await library_documents(session) == 1
    assert [h.url for h in library_hits(await found(session, "zyxwvutsense"))] == [URL]
    assert library_hits(await found(session, "Neutropenia - infants"))
