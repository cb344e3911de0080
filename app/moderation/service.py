"""Moderation verbs, Misago-style: one small function per verb. Each checks the permission
table, claims the change with a conditional write (`claims.py`), moves counters, writes one
audit entry in the same transaction, and answers 409 naming who when another moderator got
there first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.permissions import Action, check_permission
from app.accounts.models import ApiToken, Role, User, UserSession
from app.core.errors import Conflict, Invalid
from app.db import utcnow
from app.discussions import posting
from app.discussions.models import Discussion, Post, Visibility
from app.groups.models import Group
from app.moderation import audit
from app.moderation.claims import DONE, already_done, claim, live, lock_post
from app.moderation.models import Flag
from app.notifications import hooks
from app.search import index as search_index

post_label = audit.post_label


async def _resolve_open_flags(
    session: AsyncSession, *, post_id: int, moderator: User | None, resolution: str
) -> int:
    result = await session.execute(
        update(Flag)
        .where(Flag.post_id == post_id, Flag.resolved_at.is_(None))
        .values(
            resolved_at=utcnow(),
            resolved_by_id=moderator.id if moderator else None,
            resolved_by_name=moderator.username if moderator else "Kindred",
            resolution=resolution,
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def _notify_author(session: AsyncSession, post: Post, message: str, reason: str) -> None:
    await hooks.moderation_notice(
        session,
        user_id=post.author_id,
        post_id=post.id if post.deleted_at is None else None,
        message=message + (f" Reason: {reason}" if reason else ""),
    )


# -- posts --------------------------------------------------------------------------------


async def approve_post(
    session: AsyncSession, *, moderator: User, post: Post, reason: str = ""
) -> bool:
    check_permission(moderator, Action.moderate)
    if not await claim(session, Post, post.id, *live(Visibility.pending), status="visible"):
        raise await already_done(
            session, "post", post.id, "reviewed", ("approve_post", "hide_post", "delete_post")
        )
    discussion = await session.get_one(Discussion, post.discussion_id)
    author = await session.get_one(User, post.author_id)
    await posting.publish_post(session, post=post, discussion=discussion, author=author)
    # notifications of it from before it was held or hidden are shown again
    await hooks.post_visibility_changed(session, post=post)
    await audit.record_post(
        session,
        actor=moderator,
        action="approve_post",
        post=post,
        discussion=discussion,
        reason=reason,
    )
    what = "discussion" if post.is_opening else "reply"
    await _notify_author(
        session,
        post,
        f"A moderator approved your {what} in “{discussion.title}”: everyone can see it now.",
        "",
    )
    return True


async def hide_post(
    session: AsyncSession, *, moderator: User | None, post: Post, reason: str = ""
) -> bool:
    """Hide a post pending review. `moderator=None` is the automatic hide after enough
    flags from members in good standing."""
    if moderator is not None:
        check_permission(moderator, Action.moderate)
    if post.deleted_at is not None:
        raise Invalid("This post is deleted.", code="post_deleted")
    was_visible = await claim(session, Post, post.id, *live(Visibility.visible), status="hidden")
    if not was_visible and not await claim(
        session, Post, post.id, *live(Visibility.pending), status="hidden"
    ):
        raise await already_done(session, "post", post.id, "hidden", ("hide_post", "delete_post"))
    discussion = await session.get_one(Discussion, post.discussion_id)
    if was_visible:
        await posting.unpublish_post(session, post=post, discussion=discussion)
    if post.is_opening:
        discussion.status = Visibility.hidden.value
    await hooks.post_visibility_changed(session, post=post)
    if moderator is not None:
        await _resolve_open_flags(
            session, post_id=post.id, moderator=moderator, resolution="upheld"
        )
    await session.flush()
    await audit.record_post(
        session,
        actor=moderator,
        action="hide_post",
        post=post,
        discussion=discussion,
        reason=reason,
    )
    await _notify_author(
        session,
        post,
        "Your post was hidden while moderators review it."
        if was_visible
        else f"A moderator did not approve your post in “{discussion.title}”, so only you "
        "and the moderators can see it.",
        reason,
    )
    return True


async def restore_post(
    session: AsyncSession, *, moderator: User, post: Post, reason: str = ""
) -> bool:
    """Make a hidden post visible again; its open flags are dismissed."""
    check_permission(moderator, Action.moderate)
    if not await claim(session, Post, post.id, *live(Visibility.hidden), status="visible"):
        raise await already_done(
            session, "post", post.id, "restored", ("restore_post", "delete_post")
        )
    discussion = await session.get_one(Discussion, post.discussion_id)
    author = await session.get_one(User, post.author_id)
    await _resolve_open_flags(session, post_id=post.id, moderator=moderator, resolution="dismissed")
    await posting.publish_post(session, post=post, discussion=discussion, author=author)
    # notifications of it from before it was held or hidden are shown again
    await hooks.post_visibility_changed(session, post=post)
    await audit.record_post(
        session,
        actor=moderator,
        action="restore_post",
        post=post,
        discussion=discussion,
        reason=reason,
    )
    return True


async def dismiss_flags(
    session: AsyncSession, *, moderator: User, post: Post, reason: str = ""
) -> bool:
    """The post is fine: its open flags are closed. The post's row is taken first, in the
    same order as every other verb on it (post, then flags)."""
    check_permission(moderator, Action.moderate)
    await lock_post(session, post)
    count = await _resolve_open_flags(
        session, post_id=post.id, moderator=moderator, resolution="dismissed"
    )
    if count == 0:
        raise await already_done(
            session,
            "post",
            post.id,
            "reviewed",
            ("dismiss_flags", "hide_post", "restore_post", "delete_post"),
        )
    discussion = await session.get_one(Discussion, post.discussion_id)
    await audit.record_post(
        session,
        actor=moderator,
        action="dismiss_flags",
        post=post,
        discussion=discussion,
        reason=reason or f"{count} flag(s) dismissed",
    )
    return True


async def moderator_delete_post(
    session: AsyncSession, *, moderator: User, post: Post, reason: str = ""
) -> bool:
    check_permission(moderator, Action.delete_any_post)
    now = utcnow()
    gone = {"deleted_at": now, "deleted_by_id": moderator.id}
    was_visible = await claim(session, Post, post.id, *live(Visibility.visible), **gone)
    if not was_visible and not await claim(
        session, Post, post.id, Post.deleted_at.is_(None), **gone
    ):
        raise await already_done(session, "post", post.id, "deleted", ("delete_post",))
    discussion = await session.get_one(Discussion, post.discussion_id)
    if was_visible:
        await posting.unpublish_post(session, post=post, discussion=discussion)
    if post.is_opening:
        discussion.deleted_at = now
    await hooks.post_visibility_changed(session, post=post)
    await _resolve_open_flags(session, post_id=post.id, moderator=moderator, resolution="upheld")
    await audit.record_post(
        session,
        actor=moderator,
        action="delete_post",
        post=post,
        discussion=discussion,
        reason=reason,
    )
    await _notify_author(
        session, post, f"A moderator removed your post in “{discussion.title}”.", reason
    )
    return True


async def moderator_edit_post(
    session: AsyncSession,
    *,
    moderator: User,
    post: Post,
    body: str,
    reason: str,
    title: str | None = None,
) -> bool:
    check_permission(moderator, Action.edit_any_post)
    if not reason.strip():
        raise Invalid("Say why you are editing this member's post.", field="reason")
    discussion = await session.get_one(Discussion, post.discussion_id)
    await posting.edit_post(
        session, editor=moderator, post=post, body=body, title=title, reason=reason
    )
    await audit.record_post(
        session,
        actor=moderator,
        action="edit_post",
        post=post,
        discussion=discussion,
        reason=reason,
    )
    if post.author_id != moderator.id:
        # the author is told why, and may read what their post said before
        await hooks.moderation_notice(
            session,
            user_id=post.author_id,
            post_id=post.id,
            message=f"A moderator edited your post in \u201c{discussion.title}\u201d. "
            f"Reason: {reason} See what changed: /posts/{post.id}/history",
        )
    return True


# -- discussions --------------------------------------------------------------------------


async def _audit_discussion(
    session: AsyncSession, moderator: User, action: str, discussion: Discussion, reason: str
) -> None:
    await audit.record(
        session,
        actor=moderator,
        action=action,
        target_type="discussion",
        target_id=discussion.id,
        target_label=discussion.title,
        reason=reason,
    )


async def set_locked(
    session: AsyncSession,
    *,
    moderator: User,
    discussion: Discussion,
    locked: bool,
    reason: str = "",
) -> bool:
    check_permission(moderator, Action.lock_discussion)
    action = "lock" if locked else "unlock"
    if not await claim(
        session, Discussion, discussion.id, Discussion.is_locked.is_(not locked), is_locked=locked
    ):
        raise await already_done(session, "discussion", discussion.id, DONE[action], (action,))
    await _audit_discussion(session, moderator, action, discussion, reason)
    return True


async def set_pinned(
    session: AsyncSession,
    *,
    moderator: User,
    discussion: Discussion,
    pinned: bool,
    reason: str = "",
) -> bool:
    check_permission(moderator, Action.pin_discussion)
    action = "pin" if pinned else "unpin"
    unchanged = Discussion.pinned_at.is_(None) if pinned else Discussion.pinned_at.is_not(None)
    if not await claim(
        session, Discussion, discussion.id, unchanged, pinned_at=utcnow() if pinned else None
    ):
        raise await already_done(session, "discussion", discussion.id, DONE[action], (action,))
    await _audit_discussion(session, moderator, action, discussion, reason)
    return True


async def move_discussion(
    session: AsyncSession,
    *,
    moderator: User,
    discussion: Discussion,
    group: Group,
    reason: str = "",
) -> bool:
    check_permission(moderator, Action.move_discussion)
    if discussion.group_id == group.id:
        moved = await already_done(session, "discussion", discussion.id, "moved", ("move",))
        if moved.extra.get("resolved_by"):  # a moderator moved it there a moment ago
            raise moved
        raise Invalid("The discussion is already in that group.", field="group")
    old_group = await session.get_one(Group, discussion.group_id)
    if not await claim(
        session, Discussion, discussion.id, Discussion.group_id == old_group.id, group_id=group.id
    ):
        raise await already_done(session, "discussion", discussion.id, "moved", ("move",))
    await search_index.move_documents(session, discussion_id=discussion.id, group_id=group.id)
    if discussion.status == Visibility.visible and discussion.deleted_at is None:
        await session.execute(
            update(Group)
            .where(Group.id == old_group.id, Group.discussion_count > 0)
            .values(discussion_count=Group.discussion_count - 1)
        )
        await session.execute(
            update(Group)
            .where(Group.id == group.id)
            .values(discussion_count=Group.discussion_count + 1)
        )
    await audit.record(
        session,
        actor=moderator,
        action="move",
        target_type="discussion",
        target_id=discussion.id,
        target_label=f"{discussion.title} ({old_group.name} → {group.name})",
        reason=reason,
    )
    return True


# -- members ------------------------------------------------------------------------------


async def _audit_member(
    session: AsyncSession,
    actor: User | None,
    action: str,
    member: User,
    reason: str,
    label: str = "",
) -> None:
    await audit.record(
        session,
        actor=actor,
        actor_name=audit.COMMAND_LINE,
        action=action,
        target_type="user",
        target_id=member.id,
        target_label=label or member.username,
        reason=reason,
    )


async def suspend_member(
    session: AsyncSession,
    *,
    moderator: User,
    member: User,
    until: datetime | None,
    reason: str,
) -> bool:
    """Suspend (until a time, or indefinitely): every session and token ends at once. Not
    while a suspension is in force (409 naming who suspended; lift it first to change it)."""
    check_permission(moderator, Action.suspend_members)
    if member.id == moderator.id:
        raise Invalid("You cannot suspend yourself.", code="self")
    if member.role in (Role.moderator.value, Role.admin.value) and moderator.role != Role.admin:
        raise Invalid("Only an administrator can suspend a moderator.", code="rank")
    if not reason.strip():
        raise Invalid("Give a reason for the suspension; the member will see it.", field="reason")
    if until is not None and until <= utcnow():
        raise Invalid("The end of the suspension must be in the future.", field="until")
    now = utcnow()
    if not await claim(
        session,
        User,
        member.id,
        or_(User.suspended_at.is_(None), User.suspended_until <= now),
        suspended_at=now,
        suspended_until=until,
        suspension_reason=reason,
    ):
        raise await already_done(session, "user", member.id, "suspended", ("suspend", "unsuspend"))
    await session.execute(delete(UserSession).where(UserSession.user_id == member.id))
    await session.execute(delete(ApiToken).where(ApiToken.user_id == member.id))
    await _audit_member(
        session,
        moderator,
        "suspend",
        member,
        reason + (f" (until {until:%d %b %Y %H:%M UTC})" if until else ""),
    )
    return True


async def unsuspend_member(
    session: AsyncSession, *, moderator: User, member: User, reason: str = ""
) -> bool:
    check_permission(moderator, Action.suspend_members)
    if not await claim(
        session,
        User,
        member.id,
        User.suspended_at.is_not(None),
        suspended_at=None,
        suspended_until=None,
        suspension_reason="",
    ):
        raise await already_done(session, "user", member.id, "unsuspended", ("unsuspend",))
    await _audit_member(session, moderator, "unsuspend", member, reason)
    return True


async def set_role(
    session: AsyncSession, *, admin: User | None, member: User, role: Role, reason: str = ""
) -> bool:
    """Give a member a role. `admin=None` is the `kindred` command line: whoever runs it
    holds the server, and the audit log names it. 409 when the member has it already (naming
    who gave it, if anybody did), as every verb whose work is already done."""
    if admin is not None:
        check_permission(admin, Action.manage_roles)
    old = member.role
    if old == role.value or not await claim(
        session, User, member.id, User.role == old, role=role.value
    ):
        conflict = await already_done(session, "user", member.id, "given a new role", ("set_role",))
        if old == role.value and conflict.extra.get("resolved_by") is None:
            raise Conflict(
                f"{member.username} is already {role.value}.",
                code="already_resolved",
                extra={"resolved_by": None},
            )
        raise conflict
    await _audit_member(
        session, admin, "set_role", member, reason, f"{member.username}: {old} → {role.value}"
    )
    return True


async def edit_post_as(
    session: AsyncSession,
    *,
    editor: User,
    post: Post,
    body: str,
    title: str | None,
    reason: str,
    confirm_personal_information: bool = False,
) -> None:
    """An author edits their own post; anyone else's edit is a moderation action (reason
    required, audited)."""
    if post.author_id == editor.id:
        await posting.edit_post(
            session,
            editor=editor,
            post=post,
            body=body,
            title=title,
            reason=reason,
            confirm_personal_information=confirm_personal_information,
        )
    else:
        await moderator_edit_post(
            session, moderator=editor, post=post, body=body, title=title, reason=reason
        )


async def delete_post_as(
    session: AsyncSession, *, actor: User, post: Post, reason: str = ""
) -> None:
    """An author deletes their own post; a moderator deleting someone else's is audited."""
    if post.author_id == actor.id:
        await posting.delete_post(session, actor=actor, post=post)
    else:
        await moderator_delete_post(session, moderator=actor, post=post, reason=reason)
