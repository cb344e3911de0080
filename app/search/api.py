"""Search, similar discussions and the unanswered queue as JSON under /api/v1."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from app.access.permissions import Action, check_permission
from app.accounts.deps import Auth, AuthDep, plain_page, requires
from app.db import SessionDep
from app.search import engine, service
from app.search.query import MAX_QUERY_CHARS
from app.search.schemas import (
    GroupMedianOut,
    SearchHitOut,
    SearchLogOut,
    SearchOut,
    SimilarOut,
    TermCountOut,
    UnansweredOut,
    WaitingOut,
)

router = APIRouter(prefix="/api/v1", tags=["search"])

Text = Annotated[str, Query(max_length=MAX_QUERY_CHARS)]
Short = Annotated[str, Query(max_length=80)]
Cursor = Annotated[str | None, Query(max_length=200)]


@router.get("/search", response_model=SearchOut)
async def search(
    session: SessionDep,
    auth: AuthDep,
    q: Text = "",
    type: Short = "all",
    group: Short = "",
    author: Short = "",
    after: Short = "",
    before: Short = "",
    cursor: Cursor = None,
) -> SearchOut:
    """Discussions and posts matching `q` (words, "phrases", @user, #group, in:title,
    status:unanswered|answered, before:/after:YYYY-MM-DD, order:latest|relevance), and the
    health library's published pages (kind "library", no group or author; `type=library`
    for them alone), only what the caller may see. `snippet_html` is escaped text with
    <mark> around matches."""
    check_permission(auth.viewer, Action.read)
    form = service.SearchForm(q, type, group, author, after, before, cursor)
    _parsed, results = await service.search(session, form=form, viewer=auth.viewer)
    if results is None:
        return SearchOut(results=[], total=0, total_capped=False, next_cursor=None)
    return SearchOut(
        results=[
            SearchHitOut(
                kind=h.kind,
                title=h.title,
                url=h.url,
                group=h.group_slug,
                group_name=h.group_name,
                author=h.author,
                created_at=h.created_at,
                snippet_html=str(h.snippet),
                reply_count=h.reply_count,
                marker=h.marker,
            )
            for h in results.hits
        ],
        total=results.total,
        total_capped=results.total_capped,
        next_cursor=results.next_cursor,
    )


# routes create_app puts ahead of every router
PLAIN_ROUTES: list[BaseRoute] = []


async def _similar(session: AsyncSession, auth: Auth, title: str) -> list[SimilarOut]:
    check_permission(auth.viewer, Action.read)
    found = await engine.similar_discussions(session, title=title, viewer=auth.viewer)
    return [
        SimilarOut(
            id=s.discussion_id,
            title=s.title,
            url=s.url,
            group_name=s.group_name,
            reply_count=s.reply_count,
            answered=s.answered,
        )
        for s in found
    ]


@router.get("/discussions/similar", response_model=list[SimilarOut])
async def similar(session: SessionDep, auth: AuthDep, title: Text = "") -> list[SimilarOut]:
    """Up to five discussions like a title being written, with whether they were answered.
    (Answered by `similar_as_typed`, ahead of the routers; this route documents it.)"""
    return await _similar(session, auth, title)


class _SimilarQuery(BaseModel):
    title: str = Field("", max_length=MAX_QUERY_CHARS)


_SIMILAR_LIST = TypeAdapter(list[SimilarOut])


@plain_page(PLAIN_ROUTES, "/api/v1/discussions/similar")
async def similar_as_typed(request: Request, session: AsyncSession, auth: Auth) -> Response:
    """`similar` as a plain route (`accounts.deps.plain_page`): it is called as a member
    types a title, every few keystrokes, and once the statements were cheap FastAPI's
    routing (some 75 routes tried before this one) and dependency solving were half of
    its CPU (cProfile, `bench.asgi_cost`). The same parameter check (a 422 naming
    `title`), permission and JSON."""
    query = _SimilarQuery.model_validate({"title": request.query_params.get("title", "")})
    found = await _similar(session, auth, query.title)
    return Response(_SIMILAR_LIST.dump_json(found), media_type="application/json")


@router.get(
    "/unanswered", response_model=UnansweredOut, dependencies=[requires(Action.see_unanswered)]
)
async def unanswered(
    session: SessionDep, auth: AuthDep, group: Short = "", cursor: Cursor = None
) -> UnansweredOut:
    check_permission(auth.viewer, Action.see_unanswered)
    queue = await service.unanswered(
        session, viewer=auth.viewer, group=group or None, cursor=cursor, with_medians=not cursor
    )
    return UnansweredOut(
        items=[
            WaitingOut(
                id=w.discussion_id,
                title=w.title,
                url=w.url,
                group=w.group_slug,
                author=w.author,
                created_at=w.created_at,
                waited_seconds=int(w.waited.total_seconds()),
            )
            for w in queue.items
        ],
        next_cursor=queue.next_cursor,
        medians=[
            GroupMedianOut(
                group=m.group_slug,
                group_name=m.group_name,
                asked=m.asked,
                answered=m.answered,
                median_seconds=int(m.median.total_seconds()) if m.median is not None else None,
            )
            for m in queue.medians
        ],
    )


@router.get("/mod/searches", response_model=SearchLogOut, dependencies=[requires(Action.moderate)])
async def search_log(session: SessionDep, auth: AuthDep) -> SearchLogOut:
    assert auth.viewer is not None
    top, missing = await service.search_log(session, viewer=auth.viewer)
    return SearchLogOut(
        days=service.LOG_DAYS,
        top=[
            TermCountOut(terms=t.terms, searches=t.searches, zero_results=t.zero_results)
            for t in top
        ],
        found_nothing=[
            TermCountOut(terms=t.terms, searches=t.searches, zero_results=t.zero_results)
            for t in missing
        ],
    )
