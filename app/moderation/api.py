from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from app.access.fetch import access_discussion, access_group, access_post
from app.access.permissions import Action, check_permission
from app.accounts import service as accounts
from app.accounts.deps import CurrentUser, requires
from app.accounts.models import User, is_suspended
from app.core.errors import Invalid, NotFound
from app.core.ratelimit import limit
from app.core.validation import MAX_ID, Storable
from app.db import SessionDep, utcnow
from app.moderation import audit, flags, service, site
from app.moderation.flags import QueueItem
from app.moderation.schemas import (
    ActionIn,
    AuditEntryOut,
    AuditPageOut,
    DiscussionModIn,
    FlagIn,
    FlagOut,
    MemberModIn,
    MemberModOut,
    ModEditIn,
    QueueItemOut,
    QueueOut,
    ResolveIn,
    SiteSettingsIn,
    SiteSettingsOut,
)
from app.safety.api import safety_item_out

router = APIRouter(prefix="/api/v1", tags=["moderation"])
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


def queue_item_out(item: QueueItem) -> QueueItemOut:
    return QueueItemOut(
        post_id=item.post_id,
        discussion_id=item.discussion_id,
        discussion_title=item.discussion_title,
        author=item.author,
        excerpt=item.excerpt,
        status=item.status,
        flag_count=item.flag_count,
        first_flagged_at=item.first_flagged_at,
        first_flag_id=item.first_flag_id,
        reasons=item.reasons,
        notes=item.notes,
        url=f"/posts/{item.post_id}",
    )


def member_out(member: User) -> MemberModOut:
    return MemberModOut(
        username=member.username,
        role=member.role,
        suspended=is_suspended(member),
        suspended_until=member.suspended_until,
        suspension_reason=member.suspension_reason,
    )


@router.post(
    "/posts/{post_id}/flags",
    status_code=201,
    response_model=FlagOut,
    dependencies=[requires(Action.flag_post)],
)
async def flag_post(
    request: Request, post_id: IdPath, data: FlagIn, session: SessionDep, user: CurrentUser
) -> FlagOut:
    check_permission(user, Action.flag_post)
    post = await access_post(session, post_id, viewer=user)
    reason = flags.parse_reason(data.reason)
    await limit(request, "flag_user", str(user.id))
    result = await flags.flag_post(session, reporter=user, post=post, reason=reason, note=data.note)
    return FlagOut(id=result.flag.id, post_id=post.id, reason=reason.value, hidden=result.hidden)


@router.get("/mod/queue", response_model=QueueOut, dependencies=[requires(Action.moderate)])
async def queue(session: SessionDep, user: CurrentUser) -> QueueOut:
    loaded = await flags.load_queue(session, moderator=user)
    return QueueOut(
        crisis=[safety_item_out(i) for i in loaded.crisis],
        flagged=[queue_item_out(i) for i in loaded.flagged],
        pending=[queue_item_out(i) for i in loaded.pending],
        personal_information=[safety_item_out(i) for i in loaded.personal_information],
    )


@router.post("/mod/flags/{flag_id}/resolve", dependencies=[requires(Action.moderate)])
async def resolve_flag(
    flag_id: IdPath, data: ResolveIn, session: SessionDep, user: CurrentUser
) -> dict[str, str]:
    check_permission(user, Action.moderate)
    flag = await flags.access_flag(session, flag_id, moderator=user)
    resolution = await flags.resolve_flag(
        session, moderator=user, flag=flag, action=data.action, reason=data.reason
    )
    return {"resolution": resolution}


POST_ACTIONS = {
    "approve": service.approve_post,
    "hide": service.hide_post,
    "restore": service.restore_post,
    "dismiss-flags": service.dismiss_flags,
    "delete": service.moderator_delete_post,
}


@router.post(
    "/mod/posts/{post_id}/{action}", status_code=204, dependencies=[requires(Action.moderate)]
)
async def moderate_post(
    post_id: IdPath, action: str, data: ActionIn, session: SessionDep, user: CurrentUser
) -> Response:
    check_permission(user, Action.moderate)
    verb = POST_ACTIONS.get(action)
    if verb is None:
        raise NotFound(f"Unknown moderation action {action!r}.")
    post = await access_post(session, post_id, viewer=user)
    await verb(session, moderator=user, post=post, reason=data.reason)
    return Response(status_code=204)


@router.patch(
    "/mod/posts/{post_id}", status_code=204, dependencies=[requires(Action.edit_any_post)]
)
async def moderator_edit(
    post_id: IdPath, data: ModEditIn, session: SessionDep, user: CurrentUser
) -> Response:
    check_permission(user, Action.edit_any_post)
    post = await access_post(session, post_id, viewer=user)
    await service.moderator_edit_post(
        session, moderator=user, post=post, body=data.body, reason=data.reason
    )
    return Response(status_code=204)


@router.patch(
    "/mod/discussions/{discussion_id}", status_code=204, dependencies=[requires(Action.moderate)]
)
async def moderate_discussion(
    discussion_id: IdPath, data: DiscussionModIn, session: SessionDep, user: CurrentUser
) -> Response:
    check_permission(user, Action.moderate)
    discussion, _group = await access_discussion(session, discussion_id, viewer=user)
    if data.locked is not None:
        await service.set_locked(
            session, moderator=user, discussion=discussion, locked=data.locked, reason=data.reason
        )
    if data.pinned is not None:
        await service.set_pinned(
            session, moderator=user, discussion=discussion, pinned=data.pinned, reason=data.reason
        )
    if data.group is not None:
        group = await access_group(session, data.group)
        await service.move_discussion(
            session, moderator=user, discussion=discussion, group=group, reason=data.reason
        )
    return Response(status_code=204)


@router.get(
    "/mod/users/{username}",
    response_model=MemberModOut,
    dependencies=[requires(Action.suspend_members)],
)
async def member_status(username: str, session: SessionDep, user: CurrentUser) -> MemberModOut:
    check_permission(user, Action.suspend_members)
    return member_out(await accounts.access_user(session, username))


@router.patch(
    "/mod/users/{username}",
    response_model=MemberModOut,
    dependencies=[requires(Action.suspend_members)],
)
async def moderate_member(
    username: str, data: MemberModIn, session: SessionDep, user: CurrentUser
) -> MemberModOut:
    check_permission(user, Action.suspend_members)
    member = await accounts.access_user(session, username)
    if data.role is not None:
        await service.set_role(
            session, admin=user, member=member, role=data.role, reason=data.reason
        )
    if data.suspend is True:
        if data.days is not None and data.suspended_until is not None:
            raise Invalid("Give days or suspended_until, not both.", field="days")
        until = data.suspended_until or data.until(utcnow())
        await service.suspend_member(
            session, moderator=user, member=member, until=until, reason=data.reason
        )
    elif data.suspend is False:
        await service.unsuspend_member(session, moderator=user, member=member, reason=data.reason)
    elif data.suspended_until is not None or data.days is not None:
        raise Invalid("Set suspend to true to suspend for a time.", field="suspend")
    return member_out(member)


@router.get(
    "/mod/audit", response_model=AuditPageOut, dependencies=[requires(Action.read_audit_log)]
)
async def audit_log(
    session: SessionDep,
    user: CurrentUser,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    action: Annotated[str | None, Query(max_length=40), Storable] = None,
) -> AuditPageOut:
    page = await audit.list_entries(session, viewer=user, before=before, action=action)
    return AuditPageOut(
        entries=[
            AuditEntryOut(
                id=e.id,
                actor=e.actor_name,
                action=e.action,
                target_type=e.target_type,
                target_id=e.target_id,
                target=e.target_label,
                reason=e.reason,
                created_at=e.created_at,
            )
            for e in page.entries
        ],
        next_before=page.next_before,
    )


@router.get(
    "/admin/settings",
    response_model=SiteSettingsOut,
    dependencies=[requires(Action.manage_site_settings)],
)
async def get_settings(session: SessionDep, user: CurrentUser) -> SiteSettingsOut:
    check_permission(user, Action.manage_site_settings)
    return SiteSettingsOut.model_validate(await site.get_site_settings(session))


@router.patch(
    "/admin/settings",
    response_model=SiteSettingsOut,
    dependencies=[requires(Action.manage_site_settings)],
)
async def update_settings(
    data: SiteSettingsIn, session: SessionDep, user: CurrentUser
) -> SiteSettingsOut:
    row = await site.update_site_settings(session, admin=user, **data.model_dump())
    return SiteSettingsOut.model_validate(row)
