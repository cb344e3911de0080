"""HTML pages of the canned-response library (/mod/canned), and the composer's picker."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from app.access.permissions import Action, can
from app.accounts.deps import CurrentUser, requires
from app.accounts.models import User
from app.core.errors import Conflict, Invalid, NotFound
from app.core.forms import read_form, submit_form
from app.core.templating import render
from app.core.validation import MAX_ID
from app.db import SessionDep
from app.discussions.models import Discussion, Post
from app.moderation.canned import appointments
from app.moderation.canned import service as canned
from app.moderation.canned.schemas import CannedIn
from app.moderation.models import CannedResponse

router = APIRouter(include_in_schema=False)
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
USE = requires(Action.use_canned_responses)
MANAGE = requires(Action.manage_canned_responses)
FORM_FIELDS = ("title", "category", "body")


# -- the library --------------------------------------------------------------------------


@router.get("/mod/canned", dependencies=[USE])
async def library(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    q: Annotated[str, Query(max_length=canned.SEARCH_MAX)] = "",
) -> Response:
    manages = can(user, Action.manage_canned_responses)
    responses = await canned.list_responses(session, viewer=user, q=q, include_retired=manages)
    return render(
        request,
        "moderation/canned.html",
        {
            "active": [r for r in responses if r.retired_at is None],
            "retired": [r for r in responses if r.retired_at is not None],
            "missing": await canned.missing_destinations(session, responses),
            "can_manage": manages,
            "q": q,
        },
    )


async def _form_page(
    request: Request,
    session: SessionDep,
    response: CannedResponse | None,
    values: dict[str, str],
    errors: dict[str, str],
) -> Response:
    return render(
        request,
        "moderation/canned_form.html",
        {
            "response": response,
            "values": values,
            "errors": errors,
            "destinations": await appointments.list_destinations(session),
        },
    )


@router.get("/mod/canned/new", dependencies=[MANAGE])
async def new_form(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    return await _form_page(request, session, None, {"category": "General"}, {})


@router.post("/mod/canned/new", dependencies=[MANAGE])
async def create(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    form = await read_form(request, CannedIn, FORM_FIELDS)

    async def save(data: CannedIn) -> Response:
        await canned.create_response(
            session, moderator=user, title=data.title, category=data.category, body=data.body
        )
        return RedirectResponse("/mod/canned?notice=canned-saved", 303)

    return await submit_form(
        session,
        form,
        save=save,
        show=lambda values, errors: _form_page(request, session, None, values, errors),
    )


@router.get("/mod/canned/{canned_id}/edit", dependencies=[MANAGE])
async def edit_form(
    request: Request, canned_id: IdPath, session: SessionDep, user: CurrentUser
) -> Response:
    response = await canned.access_response(session, canned_id, viewer=user)
    values = {"title": response.title, "category": response.category, "body": response.body_md}
    return await _form_page(request, session, response, values, {})


@router.post("/mod/canned/{canned_id}/edit", dependencies=[MANAGE])
async def edit(
    request: Request, canned_id: IdPath, session: SessionDep, user: CurrentUser
) -> Response:
    response = await canned.access_response(session, canned_id, viewer=user)
    form = await read_form(request, CannedIn, FORM_FIELDS)

    async def save(data: CannedIn) -> Response:
        await canned.update_response(
            session,
            moderator=user,
            response=response,
            title=data.title,
            category=data.category,
            body=data.body,
        )
        return RedirectResponse("/mod/canned?notice=canned-saved", 303)

    return await submit_form(
        session,
        form,
        save=save,
        show=lambda values, errors: _form_page(request, session, response, values, errors),
    )


@router.post("/mod/canned/{canned_id}/retire", dependencies=[MANAGE])
async def retire(canned_id: IdPath, session: SessionDep, user: CurrentUser) -> Response:
    response = await canned.access_response(session, canned_id, viewer=user)
    await canned.retire_response(session, moderator=user, response=response)
    return RedirectResponse("/mod/canned?notice=canned-retired", 303)


@router.post("/mod/canned/{canned_id}/restore", dependencies=[MANAGE])
async def restore(canned_id: IdPath, session: SessionDep, user: CurrentUser) -> Response:
    response = await canned.access_response(session, canned_id, viewer=user)
    await canned.update_response(session, moderator=user, response=response, retired=False)
    return RedirectResponse("/mod/canned?notice=canned-restored", 303)


# -- the composer -------------------------------------------------------------------------


async def composer_context(
    session: SessionDep,
    *,
    viewer: User,
    discussion: Discussion,
    parent: Post | None,
    canned_id: int | None = None,
) -> dict[str, Any]:
    """What the reply page needs for the "Use a canned response" picker: the choices (none
    for members, and no query), and with `?canned=ID` the filled-in text for the textarea.
    A member asking for `?canned=` gets 403 like on every canned-response route."""
    context: dict[str, Any] = {
        "canned_options": await canned.composer_options(session, viewer=viewer),
        "canned_error": None,
        "canned_selected": None,
        "canned_prefill": {},
    }
    if canned_id is None:
        return context
    try:
        response = await canned.access_response(session, canned_id, viewer=viewer)
        filled = await canned.render_response(
            session,
            user=viewer,
            response=response,
            discussion_id=discussion.id,
            reply_to=parent.id if parent is not None else None,
        )
    except (Conflict, NotFound, Invalid) as exc:
        context["canned_error"] = exc.detail
        return context
    context["canned_selected"] = filled.canned_response_id
    context["canned_prefill"] = {
        "body": filled.markdown,
        "canned_response_id": str(filled.canned_response_id),
    }
    return context
