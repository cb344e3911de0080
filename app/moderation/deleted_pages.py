"""Moderators' pages for deleted posts: the list, one post, and restoring it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from app.access.permissions import Action
from app.accounts.deps import CurrentUser, requires
from app.core.templating import render
from app.core.validation import MAX_ID
from app.db import SessionDep
from app.moderation import deleted

router = APIRouter(include_in_schema=False, dependencies=[requires(Action.see_hidden_content)])
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("/mod/deleted")
async def deleted_list(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    page = await deleted.list_deleted(session, moderator=user, before=before)
    return render(request, "moderation/deleted.html", {"page": page})


@router.get("/mod/posts/{post_id}/deleted")
async def deleted_one(
    request: Request, post_id: IdPath, session: SessionDep, user: CurrentUser
) -> Response:
    post = await deleted.access_any_post(session, post_id, moderator=user)
    item = await deleted.deleted_post(session, moderator=user, post=post)
    return render(request, "moderation/deleted_post.html", {"item": item})


@router.post("/mod/deleted/{post_id}/restore")
async def restore(
    request: Request, post_id: IdPath, session: SessionDep, user: CurrentUser
) -> Response:
    post = await deleted.access_any_post(session, post_id, moderator=user)
    reason = (await request.form()).get("reason", "")
    await deleted.restore_deleted_post(
        session, moderator=user, post=post, reason=reason[:1000] if isinstance(reason, str) else ""
    )
    return RedirectResponse(f"/posts/{post.id}?notice=post-restored", 303)
