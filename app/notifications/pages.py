from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from app.access.fetch import access_discussion, access_group, access_post
from app.access.permissions import Action, check_permission
from app.access.visibility import shown_to_everybody
from app.accounts.deps import AuthDep, CurrentUser
from app.accounts.models import User
from app.core.errors import Invalid, NotFound
from app.core.mentions import NAME_CHARS
from app.core.ratelimit import limit
from app.core.templating import render
from app.core.urls import discussion_url, safe_next
from app.core.validation import MAX_ID
from app.db import SessionDep
from app.discussions import posting, reading, views
from app.discussions.models import Post
from app.discussions.rendering import render_body
from app.live import hub as live
from app.notifications import follows, service

router = APIRouter(include_in_schema=False)

IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
Cursor = Annotated[str | None, Query(max_length=40)]


# -- the notifications page ------------------------------------------------------------------


@router.get("/notifications")
async def notifications_page(
    request: Request, session: SessionDep, user: CurrentUser, cursor: Cursor = None
) -> Response:
    check_permission(user, Action.read_notifications)
    page = await service.list_notifications(session, user=user, cursor=cursor)
    return render(
        request,
        "notifications/list.html",
        {"page": page, "is_first_page": not cursor, "cursor": cursor or ""},
    )


@router.get("/notifications/{notification_id}")
async def open_notification(
    notification_id: IdPath, session: SessionDep, user: CurrentUser
) -> Response:
    """Follow a notification: it is marked read and the browser goes to the post."""
    check_permission(user, Action.read_notifications)
    view = await service.mark_read(session, user=user, notification_id=notification_id)
    live.publish_after_commit(session, live.UnreadEvent(user_ids=[user.id]))
    return RedirectResponse(view.target_url or "/notifications", status_code=303)


@router.post("/notifications/{notification_id}/read")
async def read_one(
    request: Request, notification_id: IdPath, session: SessionDep, user: CurrentUser
) -> Response:
    check_permission(user, Action.read_notifications)
    await service.mark_read(session, user=user, notification_id=notification_id)
    live.publish_after_commit(session, live.UnreadEvent(user_ids=[user.id]))
    back = safe_next(str((await request.form()).get("next", "")), "/notifications")
    return RedirectResponse(back, status_code=303)


@router.post("/notifications/read-all")
async def read_all(session: SessionDep, user: CurrentUser) -> Response:
    check_permission(user, Action.read_notifications)
    await service.mark_all_read(session, user=user)
    live.publish_after_commit(session, live.UnreadEvent(user_ids=[user.id]))
    return RedirectResponse("/notifications?notice=notifications-read", status_code=303)


# -- following -----------------------------------------------------------------------------


@router.post("/discussions/{discussion_id}/follow")
async def follow_discussion(
    request: Request, discussion_id: IdPath, session: SessionDep, user: CurrentUser
) -> Response:
    check_permission(user, Action.follow)
    discussion, _group = await access_discussion(session, discussion_id, viewer=user)
    level = follows.parse_level(str((await request.form()).get("level", "")))
    await follows.follow_discussion(session, user=user, discussion=discussion, level=level)
    url = discussion_url(discussion.id, discussion.slug)
    return RedirectResponse(f"{url}?notice=follow-saved#follow", status_code=303)


@router.post("/groups/{slug}/follow")
async def follow_group(
    request: Request, slug: str, session: SessionDep, user: CurrentUser
) -> Response:
    check_permission(user, Action.follow)
    group = await access_group(session, slug)
    level = follows.parse_level(str((await request.form()).get("level", "")))
    await follows.follow_group(session, user=user, group=group, level=level)
    return RedirectResponse(f"/groups/{group.slug}?notice=follow-saved#follow", status_code=303)


@router.post("/settings/notifications")
async def auto_follow_setting(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    check_permission(user, Action.follow)
    enabled = (await request.form()).get("auto_follow") == "on"
    await follows.set_auto_follow(session, user=user, enabled=enabled)
    return RedirectResponse("/settings?notice=settings-saved#following", status_code=303)


# -- a single reply, for live updates ----------------------------------------------------------


@router.get("/posts/{post_id}/fragment")
async def post_fragment(
    request: Request, post_id: IdPath, session: SessionDep, auth: AuthDep
) -> Response:
    """One visible post as the discussion page shows it (no page around it): what the live
    updates insert."""
    check_permission(auth.viewer, Action.read)
    post = await access_post(session, post_id, viewer=auth.viewer)
    discussion, _group = await access_discussion(session, post.discussion_id, viewer=auth.viewer)
    # live updates insert only what everybody may read
    if not shown_to_everybody(
        post.status, post.deleted_at, discussion.status, discussion.deleted_at
    ):
        raise NotFound("There is no post at this address.")
    actions = views.PostActions.of(
        auth.viewer,
        csrf_token=auth.csrf_token if auth.viewer else "",
        return_to=discussion_url(discussion.id, discussion.slug),
        locked=discussion.is_locked,
    )
    return render(
        request,
        "notifications/post_fragment.html",
        {
            "p": await reading.post_view(session, post.id, viewer=auth.viewer),
            "actions": actions,
        },
    )


# -- "did you mean" after posting ------------------------------------------------------------


async def _own_post(session: SessionDep, post_id: int, user: User) -> Post:
    post = await access_post(session, post_id, viewer=user)
    if post.author_id != user.id or post.deleted_at is not None:
        raise NotFound("There is no post of yours at this address.")
    return post


@router.get("/posts/{post_id}/mentions")
async def unknown_mentions_page(
    request: Request, post_id: IdPath, session: SessionDep, user: CurrentUser
) -> Response:
    """After posting: the @names that are nobody's, with the members they may have meant."""
    post = await _own_post(session, post_id, user)
    discussion, _group = await access_discussion(session, post.discussion_id, viewer=user)
    # each visit renders the post again (off the loop when long): a few a minute
    await limit(request, "render_user", str(user.id))
    rendered = await render_body(session, post.body_md, enforce_limit=False)
    return render(
        request,
        "notifications/mentions.html",
        {"post": post, "discussion": discussion, "rendered": rendered},
    )


def replace_mention(body: str, name: str, replacement: str) -> str:
    """`@name` (any case, as a whole name) becomes `@replacement` everywhere in the text."""
    pattern = re.compile(
        rf"(?<![\w/.+\-=&?#%@:~$\\`])@{re.escape(name)}(?![{NAME_CHARS}@])", re.IGNORECASE
    )
    return pattern.sub("@" + replacement, body)


@router.post("/posts/{post_id}/mentions")
async def fix_mention(
    request: Request, post_id: IdPath, session: SessionDep, user: CurrentUser
) -> Response:
    """Change an unknown @name into the member suggested for it (an ordinary edit: the
    member is notified as a newly added mention)."""
    post = await _own_post(session, post_id, user)
    await limit(request, "edit_user", str(user.id))
    form = await request.form()
    name, replacement = str(form.get("name", ""))[:40], str(form.get("replacement", ""))[:40]
    rendered = await render_body(session, post.body_md, enforce_limit=False)
    if replacement not in rendered.unknown_mentions.get(name, []):
        raise Invalid(f"@{replacement} is not a suggestion for @{name}.", field="replacement")
    await posting.edit_post(
        session,
        editor=user,
        post=post,
        body=replace_mention(post.body_md, name, replacement),
        reason=f"@{name} → @{replacement}",
    )
    return RedirectResponse(f"/posts/{post.id}", status_code=303)
