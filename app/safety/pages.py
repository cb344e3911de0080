from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from app.access.permissions import Action, check_permission
from app.accounts import signin
from app.accounts.deps import SESSION_COOKIE, CurrentUser, HasherDep, requires
from app.core.errors import Invalid
from app.core.ratelimit import limit
from app.core.templating import render
from app.core.validation import MAX_ID
from app.db import SessionDep, keep_nothing
from app.safety import deletion, queue, settings
from app.safety.api import export_response

router = APIRouter(include_in_schema=False)
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.post("/settings/country", dependencies=[requires(Action.edit_own_profile)])
async def set_country(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    check_permission(user, Action.edit_own_profile)
    raw = (await request.form()).get("country", "")
    if not isinstance(raw, str) or len(raw) > 10:
        raise Invalid("Choose a country from the list.", field="country")
    await settings.set_country(session, user=user, country=raw)
    return RedirectResponse("/settings?notice=country-saved#country-heading", status_code=303)


@router.get("/settings/export", dependencies=[requires(Action.edit_own_profile)])
async def export_my_data(request: Request, user: CurrentUser) -> Response:
    """The settings page's "Download my data": the same ZIP as GET /api/v1/me/export."""
    await limit(request, "export_user", str(user.id))
    return export_response(request, user)


@router.post("/mod/safety/{review_id}/resolve", dependencies=[requires(Action.moderate)])
async def mark_reviewed(
    request: Request, review_id: IdPath, session: SessionDep, user: CurrentUser
) -> Response:
    check_permission(user, Action.moderate)
    reason = (await request.form()).get("reason", "")
    await queue.mark_reviewed(
        session,
        moderator=user,
        review_id=review_id,
        reason=reason[:1000] if isinstance(reason, str) else "",
    )
    return RedirectResponse("/mod/queue?notice=moderated", status_code=303)


@router.get("/settings/delete", dependencies=[requires(Action.edit_own_profile)])
async def delete_account_form(request: Request, user: CurrentUser) -> Response:
    return render(request, "safety/delete_account.html", {"errors": {}, "values": {}})


@router.post("/settings/delete", dependencies=[requires(Action.edit_own_profile)])
async def delete_account(
    request: Request, user: CurrentUser, session: SessionDep, hasher: HasherDep
) -> Response:
    form = await request.form()
    password, mode = form.get("password", ""), form.get("mode", "")
    values = {"mode": mode if isinstance(mode, str) else ""}
    await signin.check_current_password(request, user)
    try:
        await deletion.delete_account(
            session,
            hasher,
            user=user,
            password=password if isinstance(password, str) else "",
            mode=values["mode"],
        )
    except Invalid as exc:
        keep_nothing(session)  # a refusal shown on the form: nothing of it is kept
        await signin.count_wrong_current_password(request, user, exc)
        errors = {exc.field or "form": exc.detail}
        context = {"errors": errors, "values": values}
        return render(request, "safety/delete_account.html", context, 422)
    response = RedirectResponse("/?notice=account-deleted", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
