"""JSON API of the canned-response library (mentors use it; moderators change it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from app.access.permissions import Action
from app.accounts.deps import CurrentUser, requires
from app.core.validation import MAX_ID
from app.db import SessionDep
from app.moderation.canned import service as canned
from app.moderation.canned.schemas import (
    CannedIn,
    CannedOut,
    CannedPatchIn,
    RenderIn,
    RenderOut,
)
from app.moderation.models import CannedResponse

router = APIRouter(prefix="/api/v1", tags=["canned responses"])
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
# checked before the body is read, so a member gets 403 whatever they send
USE = requires(Action.use_canned_responses)
MANAGE = requires(Action.manage_canned_responses)


def canned_out(response: CannedResponse, missing: dict[int, list[str]]) -> CannedOut:
    return CannedOut(
        id=response.id,
        key=response.key,
        title=response.title,
        category=response.category,
        body=response.body_md,
        usage_count=response.usage_count,
        retired=response.retired_at is not None,
        retired_at=response.retired_at,
        created_at=response.created_at,
        updated_at=response.updated_at,
        appointment_keys=canned.appointment_keys(response.body_md),
        missing_appointments=missing.get(response.id, []),
    )


async def _out(session: SessionDep, response: CannedResponse) -> CannedOut:
    return canned_out(response, await canned.missing_destinations(session, [response]))


@router.get("/canned-responses", response_model=list[CannedOut], dependencies=[USE])
async def list_canned(
    session: SessionDep,
    user: CurrentUser,
    q: Annotated[
        str | None,
        Query(max_length=canned.SEARCH_MAX, description="words in the title, category or text"),
    ] = None,
    include_retired: Annotated[bool, Query(description="moderators only")] = False,
) -> list[CannedOut]:
    responses = await canned.list_responses(
        session, viewer=user, q=q, include_retired=include_retired
    )
    missing = await canned.missing_destinations(session, responses)
    return [canned_out(r, missing) for r in responses]


@router.post("/canned-responses", status_code=201, response_model=CannedOut, dependencies=[MANAGE])
async def create_canned(data: CannedIn, session: SessionDep, user: CurrentUser) -> CannedOut:
    response = await canned.create_response(
        session, moderator=user, title=data.title, category=data.category, body=data.body
    )
    return await _out(session, response)


@router.get("/canned-responses/{canned_id}", response_model=CannedOut, dependencies=[USE])
async def get_canned(canned_id: IdPath, session: SessionDep, user: CurrentUser) -> CannedOut:
    return await _out(session, await canned.access_response(session, canned_id, viewer=user))


@router.patch("/canned-responses/{canned_id}", response_model=CannedOut, dependencies=[MANAGE])
async def update_canned(
    canned_id: IdPath, data: CannedPatchIn, session: SessionDep, user: CurrentUser
) -> CannedOut:
    response = await canned.access_response(session, canned_id, viewer=user)
    await canned.update_response(
        session,
        moderator=user,
        response=response,
        title=data.title,
        category=data.category,
        body=data.body,
        retired=data.retired,
    )
    return await _out(session, response)


@router.delete("/canned-responses/{canned_id}", status_code=204, dependencies=[MANAGE])
async def retire_canned(canned_id: IdPath, session: SessionDep, user: CurrentUser) -> Response:
    """Retire: no longer offered, kept in the library's history with its usage count."""
    response = await canned.access_response(session, canned_id, viewer=user)
    await canned.retire_response(session, moderator=user, response=response)
    return Response(status_code=204)


@router.post("/canned-responses/{canned_id}/render", response_model=RenderOut, dependencies=[USE])
async def render_canned(
    canned_id: IdPath, data: RenderIn, session: SessionDep, user: CurrentUser
) -> RenderOut:
    """Fill the template in for a reply in a discussion; nothing is posted or counted."""
    response = await canned.access_response(session, canned_id, viewer=user)
    filled = await canned.render_response(
        session,
        user=user,
        response=response,
        discussion_id=data.discussion_id,
        reply_to=data.reply_to,
    )
    return RenderOut(
        canned_response_id=filled.canned_response_id, title=filled.title, markdown=filled.markdown
    )
