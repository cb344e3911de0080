"""Deleting an account, in one transaction: either everything below happens or nothing.

At once: sign-in fails (the name and address are gone, the password unusable), sessions and
tokens end; e-mail address, bio, country, follows, notifications, e-mail preferences, queued
and sent e-mail and reset requests are removed. The member chooses what becomes of their
posts: `anonymize` (they stay, by a former member with a neutral name) or `delete_posts`
(they become "deleted" placeholders, earlier versions removed, so threads keep their shape).
Either way, mentions of the old name in others' posts are re-rendered without it, and the
old username is held for 30 days (as a hash) before anyone may take it. The audit log is
append-only: entries about the member show the neutral name when read (`redact_audit`).
"""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import ApiToken, PasswordReset, Role, User, UserSession
from app.core.errors import Invalid
from app.core.security import PasswordHasher, new_token
from app.db import utcnow
from app.discussions.models import Discussion, Post, PostRevision, Visibility
from app.discussions.rendering import render_body
from app.email.models import EmailPreference, OutboxMessage
from app.library.models import SavedItem
from app.notifications.models import DiscussionFollow, GroupFollow, Notification, PostMention
from app.safety.former import hold_hash, neutral_name
from app.safety.models import UsernameHold
from app.search.index import erase_author_documents

HOLD_DAYS = 30
FORMER = "a former member"


class DeletionMode(StrEnum):
    anonymize = "anonymize"
    delete_posts = "delete_posts"


async def delete_account(
    session: AsyncSession,
    hasher: PasswordHasher,
    *,
    user: User,
    password: str,
    mode: str,
) -> None:
    try:
        chosen = DeletionMode(mode)
    except ValueError:
        raise Invalid("Choose anonymize or delete_posts.", field="mode") from None
    # the member's row, locked until the deletion commits (PostgreSQL)
    await session.execute(select(User.id).where(User.id == user.id).with_for_update())
    await session.refresh(user)
    if user.deleted_at is not None:
        raise Invalid("This account is already deleted.", code="deleted")
    if not await hasher.verify(password, user.password_hash):
        raise Invalid("That is not your current password.", field="password", code="wrong_password")
    now = utcnow()
    old_name = user.username
    # sign-in ends everywhere, now
    await session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    await session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    for model in (
        DiscussionFollow,
        GroupFollow,
        Notification,
        EmailPreference,
        PasswordReset,
        SavedItem,
    ):
        await session.execute(delete(model).where(model.user_id == user.id))  # type: ignore[attr-defined]
    await session.execute(delete(OutboxMessage).where(OutboxMessage.user_id == user.id))
    session.add(
        UsernameHold(key_hash=hold_hash(user.username_key), until=now + timedelta(days=HOLD_DAYS))
    )

    if chosen is DeletionMode.delete_posts:
        await _delete_posts(session, user=user, now=now)
    await _forget_mentions(session, user=user, old_name=old_name)

    name = neutral_name(user.id)
    user.username = name
    user.username_key = name
    user.email = ""
    user.email_key = f"{name}@deleted.invalid"
    user.password_hash = await hasher.hash(new_token(32))  # nobody knows it
    user.bio = ""
    user.country = None
    user.role = Role.member.value
    user.auto_follow = False
    user.email_verified_at = None
    user.deleted_at = now
    await session.flush()


async def _delete_posts(session: AsyncSession, *, user: User, now: object) -> None:
    """Every post becomes a placeholder; replies counted in their discussion are
    uncounted; earlier versions go. Discussions stay, so others' replies keep their place."""
    counted = await session.execute(
        select(Post.discussion_id, func.count())
        .where(
            Post.author_id == user.id,
            Post.deleted_at.is_(None),
            Post.is_opening.is_(False),
            Post.status == Visibility.visible.value,
        )
        .group_by(Post.discussion_id)
    )
    for discussion_id, n in counted.all():
        await session.execute(
            update(Discussion)
            .where(Discussion.id == discussion_id)
            .values(
                reply_count=case((Discussion.reply_count > n, Discussion.reply_count - n), else_=0)
            )
        )
    mine = select(Post.id).where(Post.author_id == user.id).scalar_subquery()
    await session.execute(delete(PostRevision).where(PostRevision.post_id.in_(mine)))
    await session.execute(
        update(Post)
        .where(Post.author_id == user.id, Post.deleted_at.is_(None))
        .values(deleted_at=now, deleted_by_id=user.id, body_md="", body_html="")
    )
    await session.execute(
        update(Post).where(Post.author_id == user.id).values(body_md="", body_html="")
    )
    await erase_author_documents(session, author_id=user.id)


async def _forget_mentions(session: AsyncSession, *, user: User, old_name: str) -> None:
    """Others' posts that mention the member lose the name: "@old" reads "a former
    member", re-rendered; their earlier versions too."""
    post_ids = list(
        (
            await session.scalars(select(PostMention.post_id).where(PostMention.user_id == user.id))
        ).all()
    )
    await session.execute(delete(PostMention).where(PostMention.user_id == user.id))
    pattern = re.compile(r"@" + re.escape(old_name) + r"(?![A-Za-z0-9_])", re.IGNORECASE)
    for post_id in post_ids:
        post = await session.get(Post, post_id)
        if post is None:
            continue
        body = pattern.sub(FORMER, post.body_md)
        if body != post.body_md:
            post.body_md = body
            post.body_html = (await render_body(session, body, enforce_limit=False)).html
        revisions = await session.scalars(
            select(PostRevision).where(PostRevision.post_id == post_id)
        )
        for revision in revisions:
            revision.body_md = pattern.sub(FORMER, revision.body_md)
    await session.flush()
