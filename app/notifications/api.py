from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from app.access.fetch import access_discussion, access_group
from app.access.permissions import Action, check_permission
from app.access.visibility import published_posts
from app.accounts.deps import AuthDep, CurrentUser
from app.accounts.models import Role
from app.core.ratelimit import client_ip
from app.core.validation import MAX_ID
from app.db import SessionDep
from app.discussions.models import Discussion, Post
from app.live import hub as live
from app.live import stream_limits
from app.notifications import follows, mentions, service
from app.notifications.schemas import (
    FollowIn,
    FollowOut,
    NotificationListOut,
    NotificationOut,
    SuggestionOut,
    UnreadOut,
)
from app.notifications.service import NotificationView

router = APIRouter(prefix="/api/v1", tags=["notifications"])

IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
NAME_CHARS = "^[A-Za-z0-9_.-]*$"


def notification_out(view: NotificationView) -> NotificationOut:
    return NotificationOut(
        id=view.id,
        kind=view.kind,
        text=view.text,
        message=view.message,
        actor=view.actor,
        post_id=view.post_id,
        discussion_id=view.discussion_id,
        discussion_title=view.discussion_title,
        created_at=view.created_at,
        read=view.read,
        url=view.target_url,
    )


# -- autocomplete -------------------------------------------------------------------------


@router.get("/users/suggest", response_model=list[SuggestionOut])
async def suggest_users(
    session: SessionDep,
    auth: AuthDep,
    q: Annotated[str, Query(max_length=30, pattern=NAME_CHARS)] = "",
    discussion_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> list[SuggestionOut]:
    """Members whose username starts with `q` (any case) for @mention autocomplete: the
    discussion's participants first, suspended members left out, at most 8."""
    check_permission(auth.viewer, Action.reply)
    if discussion_id is not None:
        await access_discussion(session, discussion_id, viewer=auth.viewer)
    found = await mentions.suggest_usernames(session, prefix=q, discussion_id=discussion_id)
    return [
        SuggestionOut(
            username=s.username, role=s.role, badge=Role(s.role).badge, participant=s.participant
        )
        for s in found
    ]


# -- following ------------------------------------------------------------------------------


@router.post("/discussions/{discussion_id}/follow", response_model=FollowOut)
async def follow_discussion(
    discussion_id: IdPath, data: FollowIn, session: SessionDep, user: CurrentUser
) -> FollowOut:
    check_permission(user, Action.follow)
    discussion, _group = await access_discussion(session, discussion_id, viewer=user)
    level = await follows.follow_discussion(
        session, user=user, discussion=discussion, level=follows.parse_level(data.level)
    )
    return FollowOut(level=level.value if level else None)


@router.delete("/discussions/{discussion_id}/follow", status_code=204)
async def unfollow_discussion(
    discussion_id: IdPath, session: SessionDep, user: CurrentUser
) -> Response:
    check_permission(user, Action.follow)
    discussion, _group = await access_discussion(session, discussion_id, viewer=user)
    await follows.follow_discussion(session, user=user, discussion=discussion, level=None)
    return Response(status_code=204)


@router.post("/groups/{slug}/follow", response_model=FollowOut)
async def follow_group(
    slug: str, data: FollowIn, session: SessionDep, user: CurrentUser
) -> FollowOut:
    check_permission(user, Action.follow)
    group = await access_group(session, slug)
    level = await follows.follow_group(
        session, user=user, group=group, level=follows.parse_level(data.level)
    )
    return FollowOut(level=level.value if level else None)


@router.delete("/groups/{slug}/follow", status_code=204)
async def unfollow_group(slug: str, session: SessionDep, user: CurrentUser) -> Response:
    check_permission(user, Action.follow)
    group = await access_group(session, slug)
    await follows.follow_group(session, user=user, group=group, level=None)
    return Response(status_code=204)


# -- notifications ----------------------------------------------------------------------------


@router.get("/notifications", response_model=NotificationListOut)
async def list_notifications(
    session: SessionDep,
    user: CurrentUser,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = service.PAGE_SIZE,
) -> NotificationListOut:
    """Newest first; pass `next_cursor` back as `cursor` for older ones."""
    check_permission(user, Action.read_notifications)
    page = await service.list_notifications(session, user=user, cursor=cursor, limit=limit)
    return NotificationListOut(
        items=[notification_out(v) for v in page.items],
        next_cursor=page.next_cursor,
        unread=page.unread,
    )


@router.post("/notifications/read-all", response_model=UnreadOut)
async def read_all(session: SessionDep, user: CurrentUser) -> UnreadOut:
    check_permission(user, Action.read_notifications)
    await service.mark_all_read(session, user=user)
    live.publish_after_commit(session, live.UnreadEvent(user_ids=[user.id]))
    return UnreadOut(unread=0)


@router.post("/notifications/{notification_id}/read", response_model=NotificationOut)
async def read_one(
    notification_id: IdPath, session: SessionDep, user: CurrentUser
) -> NotificationOut:
    check_permission(user, Action.read_notifications)
    view = await service.mark_read(session, user=user, notification_id=notification_id)
    live.publish_after_commit(session, live.UnreadEvent(user_ids=[user.id]))
    return notification_out(view)


# -- live updates ---------------------------------------------------------------------------


@router.get(
    "/discussions/{discussion_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def discussion_events(
    request: Request,
    discussion_id: IdPath,
    session: SessionDep,
    auth: AuthDep,
    after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    last_event_id: Annotated[str | None, Header(max_length=20)] = None,
) -> StreamingResponse:
    """Server-Sent Events while a discussion is open: `post` (a reply became visible: its
    id; fetch `/posts/{id}/fragment` for its HTML) and, for members, `unread` (the header
    count). `after` (or the Last-Event-ID header) replays replies newer than that post."""
    check_permission(auth.viewer, Action.read)
    discussion, _group = await access_discussion(session, discussion_id, viewer=auth.viewer)
    slots = stream_limits.slots_of(request.app.state, request.app.state.settings)
    slot = slots.acquire(client_ip(request), auth.viewer.id if auth.viewer else None)
    if last_event_id and last_event_id.isdigit():
        after = max(after, min(int(last_event_id), MAX_ID))
    db = request.app.state.db
    user_id = auth.viewer.id if auth.viewer else None

    async def missed_posts(after_id: int) -> list[live.NewPost]:
        async with db.sessionmaker() as short:
            # what everybody who may open the discussion may read (its group was checked
            # above): the events are the same for every viewer
            rows = await short.execute(
                select(Post.id, Post.reply_to_id)
                .join(Discussion, Discussion.id == Post.discussion_id)
                .where(Post.discussion_id == discussion.id, Post.id > after_id, published_posts())
                .order_by(Post.id)
                .limit(50)
            )
            return [live.NewPost(r.id, r.reply_to_id) for r in rows]

    async def unread() -> int:
        assert user_id is not None
        async with db.sessionmaker() as short:
            return await service.unread_count(short, user_id=user_id)

    # the request's own session is closed before the first byte is streamed
    stream = live.discussion_stream(
        request.app.state.live,
        discussion_id=discussion.id,
        user_id=user_id,
        after_id=after,
        missed_posts=missed_posts,
        unread=unread if user_id is not None else None,
    )
    return StreamingResponse(
        stream_limits.holding(slot, stream),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
