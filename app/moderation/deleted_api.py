"""Restoring a deleted post from a script: the API twin of the moderators' page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from app.access.permissions import Action
from app.accounts.deps import CurrentUser, requires
from app.core.validation import MAX_ID
from app.db import SessionDep
from app.moderation import deleted
from app.moderation.schemas import ActionIn

router = APIRouter(prefix="/api/v1", tags=["moderation"])
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.post(
    "/mod/deleted/{post_id}/restore",
    status_code=204,
    dependencies=[requires(Action.delete_any_post)],
)
async def restore(
    post_id: IdPath, data: ActionIn, session: SessionDep, user: CurrentUser
) -> Response:
    post = await deleted.access_any_post(session, post_id, moderator=user)
    await deleted.restore_deleted_post(session, moderator=user, post=post, reason=data.reason)
    return Response(status_code=204)
