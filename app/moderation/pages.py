from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.fetch import access_discussion, access_group, access_post
from app.access.permissions import Action, check_permission
from app.accounts import service as accounts
from app.accounts.deps import CurrentUser
from app.accounts.models import Role, User
from app.core.errors import Invalid, NotFound
from app.core.forms import read_form
from app.core.ratelimit import limit
from app.core.templating import render
from app.core.urls import discussion_url, safe_next
from app.core.validation import MAX_ID
from app.db import SessionDep, keep_nothing, utcnow
from app.groups.service import list_groups
from app.moderation import audit, flags, service, site
from app.moderation.api import POST_ACTIONS
from app.moderation.models import FLAG_REASON_LABELS
from app.moderation.schemas import SETTINGS_FIELDS, FlagIn, SiteSettingsIn, SuspensionIn

router = APIRouter(include_in_schema=False)
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


async def _form_text(request: Request, name: str, limit_chars: int = 1000) -> str:
    value = (await request.form()).get(name, "")
    return value[:limit_chars] if isinstance(value, str) else ""


async def _back(request: Request, fallback: str, notice: str) -> RedirectResponse:
    """Back to where the moderator acted (a local path only), or to `fallback`."""
    target = safe_next(await _form_text(request, "return_to", 2000), default=fallback)
    path, _, fragment = target.partition("#")
    joiner = "&" if "?" in path else "?"
    return RedirectResponse(
        f"{path}{joiner}notice={notice}" + (f"#{fragment}" if fragment else ""), 303
    )


# -- flagging (members) -------------------------------------------------------------------


@router.get("/posts/{post_id}/flag")
async def flag_form(
    request: Request, post_id: IdPath, session: SessionDep, user: CurrentUser
) -> Response:
    check_permission(user, Action.flag_post)
    post = await access_post(session, post_id, viewer=user)
    discussion, _group = await access_discussion(session, post.discussion_id, viewer=user)
    return render(
        request,
        "moderation/flag.html",
        {
            "post": post,
            "discussion": discussion,
            "reasons": FLAG_REASON_LABELS,
            "errors": {},
            "values": {},
        },
    )


@router.post("/posts/{post_id}/flag")
async def flag_post(
    request: Request, post_id: IdPath, session: SessionDep, user: CurrentUser
) -> Response:
    check_permission(user, Action.flag_post)
    post = await access_post(session, post_id, viewer=user)
    discussion, _group = await access_discussion(session, post.discussion_id, viewer=user)
    form = await read_form(request, FlagIn, ("reason", "note"))
    errors = dict(form.errors)
    if form.model is not None:
        try:
            reason = flags.parse_reason(form.model.reason)
            await limit(request, "flag_user", str(user.id))
            await flags.flag_post(
                session, reporter=user, post=post, reason=reason, note=form.model.note
            )
        except Invalid as exc:
            keep_nothing(session)  # a refusal shown on the form: nothing of it is kept
            errors[exc.field or "form"] = exc.detail
    if errors:
        return render(
            request,
            "moderation/flag.html",
            {
                "post": post,
                "discussion": discussion,
                "reasons": FLAG_REASON_LABELS,
                "errors": errors,
                "values": form.values,
            },
            422,
        )
    return RedirectResponse(f"{discussion_url(discussion.id, discussion.slug)}?notice=flagged", 303)


# -- the queue ----------------------------------------------------------------------------


@router.get("/mod/queue")
async def queue(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    loaded = await flags.load_queue(session, moderator=user)
    return render(
        request, "moderation/queue.html", {"queue": loaded, "reasons": FLAG_REASON_LABELS}
    )


@router.post("/mod/flags/{flag_id}/resolve")
async def resolve_flag(
    request: Request, flag_id: IdPath, session: SessionDep, user: CurrentUser
) -> Response:
    check_permission(user, Action.moderate)
    flag = await flags.access_flag(session, flag_id, moderator=user)
    action = await _form_text(request, "action", 20)
    await flags.resolve_flag(
        session,
        moderator=user,
        flag=flag,
        action=action,
        reason=await _form_text(request, "reason"),
    )
    return await _back(request, "/mod/queue", "moderated")


@router.post("/mod/posts/{post_id}/{action}")
async def moderate_post(
    request: Request, post_id: IdPath, action: str, session: SessionDep, user: CurrentUser
) -> Response:
    check_permission(user, Action.moderate)
    verb = POST_ACTIONS.get(action)
    if verb is None:
        raise NotFound(f"Unknown moderation action {action!r}.")
    post = await access_post(session, post_id, viewer=user)
    await verb(session, moderator=user, post=post, reason=await _form_text(request, "reason"))
    return await _back(request, "/mod/queue", "moderated")


# -- discussions --------------------------------------------------------------------------


@router.post("/mod/discussions/{discussion_id}/{action}")
async def moderate_discussion(
    request: Request, discussion_id: IdPath, action: str, session: SessionDep, user: CurrentUser
) -> Response:
    check_permission(user, Action.moderate)
    discussion, _group = await access_discussion(session, discussion_id, viewer=user)
    reason = await _form_text(request, "reason")
    if action in ("lock", "unlock"):
        await service.set_locked(
            session, moderator=user, discussion=discussion, locked=action == "lock", reason=reason
        )
    elif action in ("pin", "unpin"):
        await service.set_pinned(
            session, moderator=user, discussion=discussion, pinned=action == "pin", reason=reason
        )
    elif action == "move":
        group = await access_group(session, await _form_text(request, "group", 80))
        await service.move_discussion(
            session, moderator=user, discussion=discussion, group=group, reason=reason
        )
    else:
        raise NotFound(f"Unknown moderation action {action!r}.")
    return RedirectResponse(
        f"{discussion_url(discussion.id, discussion.slug)}?notice=moderated", 303
    )


# -- members ------------------------------------------------------------------------------


async def _member_page(
    request: Request,
    session: AsyncSession,
    user: User,
    member: User,
    *,
    before: int | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    history = await audit.member_history(session, viewer=user, member=member, before=before)
    return render(
        request,
        "moderation/member.html",
        {
            "member": member,
            "history": history,
            "before": before,
            "roles": [r.value for r in Role],
            "errors": errors or {},
            "values": values or {},
        },
        422 if errors else 200,
    )


@router.get("/mod/users/{username}")
async def member_page(
    request: Request,
    username: str,
    session: SessionDep,
    user: CurrentUser,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    check_permission(user, Action.suspend_members)
    member = await accounts.access_user(session, username)
    return await _member_page(request, session, user, member, before=before)


@router.post("/mod/users/{username}/{action}")
async def moderate_member(
    request: Request, username: str, action: str, session: SessionDep, user: CurrentUser
) -> Response:
    check_permission(user, Action.suspend_members)
    member = await accounts.access_user(session, username)
    reason = await _form_text(request, "reason")
    if action == "suspend":
        form = await read_form(request, SuspensionIn, ("days", "reason"), optional=("days",))
        errors = dict(form.errors)
        if form.model is not None:
            try:
                await service.suspend_member(
                    session,
                    moderator=user,
                    member=member,
                    until=form.model.until(utcnow()),
                    reason=form.model.reason,
                )
            except Invalid as exc:
                keep_nothing(session)  # a refusal shown on the form: nothing of it is kept
                errors[exc.field or "form"] = exc.detail
        if errors:
            return await _member_page(
                request, session, user, member, errors=errors, values=form.values
            )
    elif action == "unsuspend":
        await service.unsuspend_member(session, moderator=user, member=member, reason=reason)
    elif action == "role":
        value = await _form_text(request, "role", 20)
        try:
            role = Role(value)
        except ValueError:
            raise Invalid("Unknown role.", field="role") from None
        await service.set_role(session, admin=user, member=member, role=role, reason=reason)
    else:
        raise NotFound(f"Unknown moderation action {action!r}.")
    return RedirectResponse(f"/mod/users/{member.username}?notice=moderated", 303)


# -- audit log and site settings ----------------------------------------------------------


@router.get("/mod/audit")
async def audit_page(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    page = await audit.list_entries(session, viewer=user, before=before)
    return render(request, "moderation/audit.html", {"page": page})


@router.get("/admin/settings")
async def settings_page(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    check_permission(user, Action.manage_site_settings)
    row = await site.get_site_settings(session)
    return render(
        request,
        "admin/settings.html",
        {"settings": row, "errors": {}, "groups": await list_groups(session, viewer=user)},
    )


@router.post("/admin/settings")
async def update_settings(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    check_permission(user, Action.manage_site_settings)
    form = await read_form(
        request,
        SiteSettingsIn,
        SETTINGS_FIELDS,
        optional=SETTINGS_FIELDS,
    )
    if form.model is None:
        row = await site.get_site_settings(session)
        return render(
            request,
            "admin/settings.html",
            {
                "settings": row,
                "errors": form.errors,
                "groups": await list_groups(session, viewer=user),
            },
            422,
        )
    await site.update_site_settings(session, admin=user, **form.model.model_dump())
    return RedirectResponse("/admin/settings?notice=settings-saved", 303)
