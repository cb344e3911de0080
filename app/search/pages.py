"""The search page, the unanswered queue and the moderators' search log (HTML)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.permissions import Action, check_permission
from app.accounts.deps import AuthDep, requires
from app.core.markdown import render_markdown
from app.core.templating import render
from app.db import SessionDep
from app.discussions.schemas import BODY_MAX
from app.groups.models import Group
from app.groups.service import list_groups
from app.search import engine, service
from app.search.query import MAX_QUERY_CHARS

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Query(max_length=MAX_QUERY_CHARS)]
Short = Annotated[str, Query(max_length=80)]
Cursor = Annotated[str | None, Query(max_length=200)]


async def new_discussion_preview(
    request: Request,
    session: AsyncSession,
    group: Group,
    values: dict[str, str],
    errors: dict[str, str],
) -> Response:
    """The new-discussion form again, with its text rendered and the discussions like its
    title: what the page's script shows while typing, for browsers without it."""
    auth = request.state.auth
    title, body = values.get("title", ""), values.get("body", "")
    similar = await engine.similar_discussions(session, title=title[:200], viewer=auth.viewer)
    preview = render_markdown(body) if body.strip() and len(body) <= BODY_MAX else ""
    return render(
        request,
        "discussions/new.html",
        {
            "group": group,
            "errors": errors,
            "values": values,
            "similar": similar,
            "preview_html": Markup(preview),  # noqa: S704 (sanitized by render_markdown)
        },
    )


@router.get("/search")
async def search_page(
    request: Request,
    session: SessionDep,
    auth: AuthDep,
    q: Text = "",
    type: Short = "all",
    group: Short = "",
    author: Short = "",
    after: Short = "",
    before: Short = "",
    cursor: Cursor = None,
) -> Response:
    check_permission(auth.viewer, Action.read)
    form = service.SearchForm(q, type, group, author, after, before, cursor or None)
    parsed, results = await service.search(session, form=form, viewer=auth.viewer)
    next_params = None
    if results is not None and results.next_cursor:
        next_params = {
            "q": q,
            "type": type,
            "group": group,
            "author": author,
            "after": after,
            "before": before,
            "cursor": results.next_cursor,
        }
    return render(
        request,
        "search/search.html",
        {
            "form": form,
            "results": results,
            "groups": await list_groups(session, viewer=auth.viewer),
            "kinds": [
                ("all", "Everything"),
                ("discussions", "Discussions"),
                ("posts", "Replies"),
                ("library", "Health library"),
            ],
            "next_params": next_params,
        },
    )


@router.get("/unanswered", dependencies=[requires(Action.see_unanswered)])
async def unanswered_page(
    request: Request, session: SessionDep, auth: AuthDep, group: Short = "", cursor: Cursor = None
) -> Response:
    check_permission(auth.viewer, Action.see_unanswered)
    queue = await service.unanswered(
        session, viewer=auth.viewer, group=group or None, cursor=cursor, with_medians=not cursor
    )
    return render(
        request,
        "search/unanswered.html",
        {
            "queue": queue,
            "group": group,
            "groups": await list_groups(session, viewer=auth.viewer),
            "waited": service.waited_label,
        },
    )


@router.get("/mod/searches", dependencies=[requires(Action.moderate)])
async def search_log_page(request: Request, session: SessionDep, auth: AuthDep) -> Response:
    assert auth.viewer is not None
    top, missing = await service.search_log(session, viewer=auth.viewer)
    return render(
        request,
        "search/search_log.html",
        {"top": top, "missing": missing, "days": service.LOG_DAYS},
    )
