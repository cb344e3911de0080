from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from app.access.fetch import access_group
from app.access.permissions import Action, check_permission
from app.accounts.deps import AuthDep, CurrentUser, SettingsDep, requires
from app.core.ratelimit import limit
from app.core.urls import discussion_url
from app.db import SessionDep
from app.discussions.posting import start_discussion
from app.discussions.schemas import DiscussionCreateIn, DiscussionOut
from app.groups import admin, service
from app.groups.models import Group
from app.groups.schemas import (
    DiscussionListOut,
    DiscussionSummaryOut,
    GroupIn,
    GroupOut,
    GroupPatchIn,
)
from app.groups.service import DiscussionRow, GroupView
from app.safety import review as safety

router = APIRouter(prefix="/api/v1", tags=["groups"])


def group_out(group: Group | GroupView) -> GroupOut:
    return GroupOut(
        slug=group.slug,
        name=group.name,
        description=group.description,
        discussion_count=group.discussion_count,
        last_activity_at=group.last_activity_at,
        url=f"/groups/{group.slug}",
        archived=group.archived_at is not None,
        visibility=group.visibility,
    )


def summary_out(d: DiscussionRow) -> DiscussionSummaryOut:
    return DiscussionSummaryOut(
        id=d.id,
        title=d.title,
        author=d.author,
        group=d.group_slug,
        reply_count=d.reply_count,
        created_at=d.created_at,
        last_activity_at=d.last_activity_at,
        pinned=d.pinned_at is not None,
        locked=d.is_locked,
        url=discussion_url(d.id, d.slug),
    )


@router.get("/groups", response_model=list[GroupOut])
async def list_groups(session: SessionDep, auth: AuthDep) -> list[GroupOut]:
    check_permission(auth.viewer, Action.read)
    return [group_out(g) for g in await service.list_groups(session, viewer=auth.viewer)]


@router.post(
    "/groups",
    status_code=201,
    response_model=GroupOut,
    dependencies=[requires(Action.manage_groups)],
)
async def create_group(data: GroupIn, session: SessionDep, user: CurrentUser) -> GroupOut:
    check_permission(user, Action.manage_groups)
    group = await admin.create_group(  # audited, as from the admin pages
        session, admin=user, slug=data.slug, name=data.name, description=data.description
    )
    return group_out(group)


@router.patch(
    "/groups/{slug}", response_model=GroupOut, dependencies=[requires(Action.manage_groups)]
)
async def update_group(
    slug: str, data: GroupPatchIn, session: SessionDep, user: CurrentUser
) -> GroupOut:
    """Make a group public or members-only (administrators; audited)."""
    group = await access_group(session, slug)
    await service.set_visibility(
        session, admin=user, group=group, visibility=data.visibility, reason=data.reason
    )
    return group_out(group)


@router.get("/groups/{slug}", response_model=GroupOut)
async def get_group(slug: str, session: SessionDep, auth: AuthDep) -> GroupOut:
    check_permission(auth.viewer, Action.read)
    return group_out(await service.group_view(session, slug, viewer=auth.viewer))


@router.get("/groups/{slug}/discussions", response_model=DiscussionListOut)
async def group_discussions(
    slug: str,
    session: SessionDep,
    auth: AuthDep,
    settings: SettingsDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
) -> DiscussionListOut:
    check_permission(auth.viewer, Action.read)
    group = await service.group_view(session, slug, viewer=auth.viewer)
    listing = await service.list_discussions(
        session,
        group_id=group.id,
        limit=limit or settings.group_page_size,
        cursor=cursor,
        viewer=auth.viewer,
    )
    pinned = (
        []
        if cursor
        else await service.pinned_discussions(session, group_id=group.id, viewer=auth.viewer)
    )
    return DiscussionListOut(
        pinned=[summary_out(d) for d in pinned],
        items=[summary_out(d) for d in listing.items],
        next_cursor=listing.next_cursor,
    )


@router.post("/groups/{slug}/discussions", status_code=201, response_model=DiscussionOut)
async def create_discussion(
    request: Request, slug: str, data: DiscussionCreateIn, session: SessionDep, user: CurrentUser
) -> DiscussionOut:
    from app.discussions.api import discussion_out
    from app.discussions.reading import discussion_head

    group = await access_group(session, slug)
    await limit(request, "post_user", str(user.id))
    written = await start_discussion(
        session,
        author=user,
        group=group,
        title=data.title,
        body=data.body,
        client_key=data.client_key,
        confirm_personal_information=data.confirm_personal_information,
    )
    out = discussion_out(await discussion_head(session, written.discussion.id, viewer=user))
    out.support = safety.support_out(session)
    return out
