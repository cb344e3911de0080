"""Moderation verbs. Each checks the permission table, changes state, writes an audit entry
in the same transaction, and answers 409 (naming who) when another moderator got there
first. Misago-style: one small function per verb."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.permissions import Action, check_permission
from app.accounts.models import ApiToken, Role, User, UserSession
from app.core.errors import Conflict, Invalid
from app.db import utcnow
from app.discussions import posting
from app.discussions.models import Discussion, Post, Visibility
from app.groups.models import Group
from app.moderation import audit
from app.moderation.models import AuditEntry, Flag
from app.notifications import hooks


def post_label(post: Post, discussion: Discussion) -> str:
    return f"post #{post.id} in “{discussion.title}”"


async def _already(session: AsyncSession, target_type: str, target_id: int, what: str) -> Conflict:
    """409 naming the moderator whose action made this one moot."""
    last = await session.scalar(
        select(AuditEntry)
        .where(AuditEntry.target_type == target_type, AuditEntry.target_id == target_id)
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
    who = f" by {last.actor_name} at {last.created_at:%H:%M UTC on %d %b %Y}" if last else ""
    return Conflict(
        f"This {target_type} was already {what}{who}.",
        code="already_resolved",
        extra={"resolved_by": last.actor_name if last else None},
    )


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


async def approve_post(
    session: AsyncSession, *, moderator: User, post: Post, reason: str = ""
) -> bool:
    check_permission(moderator, Action.moderate)
    if post.status != Visibility.pending:
        raise await _already(session, "post", post.id, "reviewed")
    discussion = await session.get_one(Discussion, post.discussion_id)
    author = await session.get_one(User, post.author_id)
    await posting.publish_post(session, post=post, discussion=discussion, author=author)
    # notifications of it from before it was held or hidden are shown again
    await hooks.post_visibility_changed(session, post=post)
    await audit.record(
        session,
        actor=moderator,
        action="approve_post",
        target_type="post",
        target_id=post.id,
        target_label=post_label(post, discussion),
        reason=reason,
    )
    return True


async def hide_post(
    session: AsyncSession, *, moderator: User | None, post: Post, reason: str = ""
) -> bool:
    """Hide a post pending review. `moderator=None` is the automatic hide after enough
    flags from distinct members."""
    if moderator is not None:
        check_permission(moderator, Action.moderate)
    if post.deleted_at is not None:
        raise Invalid("This post is deleted.", code="post_deleted")
    if post.status == Visibility.hidden:
        raise await _already(session, "post", post.id, "hidden")
    discussion = await session.get_one(Discussion, post.discussion_id)
    if post.status == Visibility.visible:
        await posting.unpublish_post(session, post=post, discussion=discussion)
    post.status = Visibility.hidden.value
    if post.is_opening:
        discussion.status = Visibility.hidden.value
    await hooks.post_visibility_changed(session, post=post)
    if moderator is not None:
        await _resolve_open_flags(
            session, post_id=post.id, moderator=moderator, resolution="upheld"
        )
    await session.flush()
    await audit.record(
        session,
        actor=moderator,
        action="hide_post",
        target_type="post",
        target_id=post.id,
        target_label=post_label(post, discussion),
        reason=reason,
    )
    await hooks.moderation_notice(
        session,
        user_id=post.author_id,
        post_id=post.id,
        message="Your post was hidden while moderators review it."
        + (f" Reason: {reason}" if reason else ""),
    )
    return True


async def restore_post(
    session: AsyncSession, *, moderator: User, post: Post, reason: str = ""
) -> bool:
    """Make a hidden post visible again; its open flags are dismissed."""
    check_permission(moderator, Action.moderate)
    if post.status != Visibility.hidden:
        raise await _already(session, "post", post.id, "restored")
    discussion = await session.get_one(Discussion, post.discussion_id)
    author = await session.get_one(User, post.author_id)
    await _resolve_open_flags(session, post_id=post.id, moderator=moderator, resolution="dismissed")
    await posting.publish_post(session, post=post, discussion=discussion, author=author)
    # notifications of it from before it was held or hidden are shown again
    await hooks.post_visibility_changed(session, post=post)
    await audit.record(
        session,
        actor=moderator,
        action="restore_post",
        target_type="post",
        target_id=post.id,
        target_label=post_label(post, discussion),
        reason=reason,
    )
    return True


async def dismiss_flags(
    session: AsyncSession, *, moderator: User, post: Post, reason: str = ""
) -> bool:
    check_permission(moderator, Action.moderate)
    count = await _resolve_open_flags(
        session, post_id=post.id, moderator=moderator, resolution="dismissed"
    )
    if count == 0:
        raise await _already(session, "post", post.id, "reviewed")
    discussion = await session.get_one(Discussion, post.discussion_id)
    await audit.record(
        session,
        actor=moderator,
        action="dismiss_flags",
        target_type="post",
        target_id=post.id,
        target_label=post_label(post, discussion),
        reason=reason or f"{count} flag(s) dismissed",
    )
    return True


async def moderator_delete_post(
    session: AsyncSession, *, moderator: User, post: Post, reason: str = ""
) -> bool:
    check_permission(moderator, Action.delete_any_post)
    if post.deleted_at is not None:
        raise await _already(session, "post", post.id, "deleted")
    discussion = await session.get_one(Discussion, post.discussion_id)
    if post.status != Visibility.visible:
        # not in the counts: mark it visible-less deleted without unpublishing twice
        post.deleted_at = utcnow()
        post.deleted_by_id = moderator.id
        if post.is_opening:
            discussion.deleted_at = post.deleted_at
        await hooks.post_visibility_changed(session, post=post)
    else:
        await posting.delete_post(session, actor=moderator, post=post)
    await _resolve_open_flags(session, post_id=post.id, moderator=moderator, resolution="upheld")
    await audit.record(
        session,
        actor=moderator,
        action="delete_post",
        target_type="post",
        target_id=post.id,
        target_label=post_label(post, discussion),
        reason=reason,
    )
    await hooks.moderation_notice(
        session,
        user_id=post.author_id,
        post_id=None,
        message=f"A moderator removed your post in “{discussion.title}”."
        + (f" Reason: {reason}" if reason else ""),
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
    await audit.record(
        session,
        actor=moderator,
        action="edit_post",
        target_type="post",
        target_id=post.id,
        target_label=post_label(post, discussion),
        reason=reason,
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
    if discussion.is_locked == locked:
        raise await _already(
            session, "discussion", discussion.id, "locked" if locked else "unlocked"
        )
    discussion.is_locked = locked
    await _audit_discussion(session, moderator, "lock" if locked else "unlock", discussion, reason)
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
    if (discussion.pinned_at is not None) == pinned:
        raise await _already(
            session, "discussion", discussion.id, "pinned" if pinned else "unpinned"
        )
    discussion.pinned_at = utcnow() if pinned else None
    await _audit_discussion(session, moderator, "pin" if pinned else "unpin", discussion, reason)
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
        raise Invalid("The discussion is already in that group.", field="group")
    old_group = await session.get_one(Group, discussion.group_id)
    if discussion.status == Visibility.visible:
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
    discussion.group_id = group.id
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


async def suspend_member(
    session: AsyncSession,
    *,
    moderator: User,
    member: User,
    until: datetime | None,
    reason: str,
) -> bool:
    """Suspend (until a time, or indefinitely): every session and token ends at once."""
    check_permission(moderator, Action.suspend_members)
    if member.id == moderator.id:
        raise Invalid("You cannot suspend yourself.", code="self")
    if member.role in (Role.moderator.value, Role.admin.value) and moderator.role != Role.admin:
        raise Invalid("Only an administrator can suspend a moderator.", code="rank")
    if not reason.strip():
        raise Invalid("Give a reason for the suspension; the member will see it.", field="reason")
    if until is not None and until <= utcnow():
        raise Invalid("The end of the suspension must be in the future.", field="until")
    member.suspended_at = utcnow()
    member.suspended_until = until
    member.suspension_reason = reason
    await session.execute(delete(UserSession).where(UserSession.user_id == member.id))
    await session.execute(delete(ApiToken).where(ApiToken.user_id == member.id))
    await audit.record(
        session,
        actor=moderator,
        action="suspend",
        target_type="user",
        target_id=member.id,
        target_label=member.username,
        reason=reason + (f" (until {until:%d %b %Y %H:%M UTC})" if until else ""),
    )
    return True


async def unsuspend_member(
    session: AsyncSession, *, moderator: User, member: User, reason: str = ""
) -> bool:
    check_permission(moderator, Action.suspend_members)
    if member.suspended_at is None:
        raise await _already(session, "user", member.id, "unsuspended")
    member.suspended_at = None
    member.suspended_until = None
    member.suspension_reason = ""
    await audit.record(
        session,
        actor=moderator,
        action="unsuspend",
        target_type="user",
        target_id=member.id,
        target_label=member.username,
        reason=reason,
    )
    return True


async def set_role(
    session: AsyncSession, *, admin: User, member: User, role: Role, reason: str = ""
) -> bool:
    check_permission(admin, Action.manage_roles)
    if member.role == role.value:
        return False
    old = member.role
    member.role = role.value
    await audit.record(
        session,
        actor=admin,
        action="set_role",
        target_type="user",
        target_id=member.id,
        target_label=f"{member.username}: {old} → {role.value}",
        reason=reason,
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
) -> None:
    """An author edits their own post; anyone else's edit is a moderation action (reason
    required, audited)."""
    if post.author_id == editor.id:
        await posting.edit_post(
            session, editor=editor, post=post, body=body, title=title, reason=reason
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
