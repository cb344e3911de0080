"""Where moderators and administrators start: the moderation page linked from the header,
and the member directory."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.access.permissions import Action, can, check_permission
from app.accounts.deps import AuthDep
from app.accounts.models import Role
from app.core.templating import render
from app.db import SessionDep
from app.moderation import members

router = APIRouter(include_in_schema=False)


@router.get("/mod")
async def hub(request: Request, auth: AuthDep) -> Response:
    """Links to every moderation and administration page; the queue's count comes with the
    sign-in look-up (`Viewer.queue_open`), so this page reads nothing more."""
    check_permission(auth.viewer, Action.moderate)
    return render(
        request,
        "moderation/hub.html",
        {"is_admin": can(auth.viewer, Action.manage_site_settings)},
    )


@router.get("/mod/users")
async def directory(request: Request, session: SessionDep, auth: AuthDep) -> Response:
    check_permission(auth.viewer, Action.suspend_members)
    params = request.query_params
    page = await members.list_members(
        session,
        moderator=auth.viewer,
        query=params.get("q", ""),
        role=params.get("role", ""),
        after=params.get("after", ""),
    )
    return render(
        request, "moderation/members.html", {"page": page, "roles": [r.value for r in Role]}
    )
