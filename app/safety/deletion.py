"""Deleting an account, in one transaction: either everything below happens or nothing.

At once: sign-in fails (the name and address are gone, the password unusable), sessions and
tokens end; e-mail address, bio, country, follows, notifications, e-mail preferences, queued
and sent e-mail and reset requests are removed. The member chooses what becomes of their
posts: `anonymize` (they stay, by a former member with a neutral name) or `delete_posts`
(they become "deleted" placeholders, earlier versions removed, so threads keep their shape).
Either way, mentions of the old name in others' posts are re-rendered without it, and the
old username is held for 30 days (as a hash) before anyone may take it. In "delete posts"
mode the member's discussions keep their place under a placeholder title.

Nothing stored keeps the old name or address: the audit log is append-only, save for the
one redaction its triggers allow (an entry's actor name, or a member target's name, becomes
the neutral name of a deleted account: `_forget_name_snapshots`); name snapshots elsewhere (edit
history, resolved flags and reviews, moderators' crisis alerts) and the search index of
rewritten posts follow, and the private search log forgets searches that said the old name
or address (it keeps no user id, so only what was typed could name them).

A reply being written at the same moment (race-safe on both databases): the reply's INSERT
reads the author's row `FOR KEY SHARE` and inserts nothing when the account is deleted
(`discussions.posting._insert_post`). Deletion takes the row `FOR UPDATE`, the one lock
that conflicts with KEY SHARE (a plain UPDATE of `deleted_at` would not: it is not a key
update), so whichever comes second waits: a reply that got there first is committed and
then anonymized or deleted here; a reply that comes second finds the account deleted.
Lock order is the reply's: the member's session and token rows (a request touches its
session before anything else), then the user row, then posts and discussions; so deletion
ends sessions and tokens before it locks the user row. On SQLite writers are serialized.
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
from app.core.text import slugify
from app.db import utcnow
from app.discussions.models import Discussion, Post, PostRevision, Visibility
from app.discussions.rendering import render_body
from app.email.models import EmailPreference, OutboxMessage
from app.email.outbox import items_of_messages
from app.library.models import SavedItem
from app.moderation.models import AuditEntry, Flag
from app.notifications.models import (
    DiscussionFollow,
    GroupFollow,
    Notification,
    NotificationKind,
    PostMention,
)
from app.safety.former import hold_hash, neutral_name
from app.safety.models import SafetyReview, UsernameHold
from app.search import index as search_index
from app.search import service as search_service

HOLD_DAYS = 30
FORMER = "a former member"
DELETED_TITLE = "A deleted discussion"


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
    # sign-in ends everywhere, now (first: a reply's request locks its session row first)
    await session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    await session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    # the member's row, locked until the deletion commits (PostgreSQL): FOR UPDATE, so a
    # reply's INSERT (which reads it FOR KEY SHARE) waits, or is waited for
    await session.execute(select(User.id).where(User.id == user.id).with_for_update())
    await session.refresh(user)
    if user.deleted_at is not None:
        raise Invalid("This account is already deleted.", code="deleted")
    if not await hasher.verify(password, user.password_hash):
        raise Invalid("That is not your current password.", field="password", code="wrong_password")
    now = utcnow()
    old_name = user.username
    for model in (
        DiscussionFollow,
        GroupFollow,
        Notification,
        EmailPreference,
        PasswordReset,
        SavedItem,
    ):
        await session.execute(delete(model).where(model.user_id == user.id))  # type: ignore[attr-defined]
    # the items of the member's notifications are in the member's messages
    await session.execute(items_of_messages(OutboxMessage.user_id == user.id))
    await session.execute(delete(OutboxMessage).where(OutboxMessage.user_id == user.id))
    session.add(
        UsernameHold(key_hash=hold_hash(user.username_key), until=now + timedelta(days=HOLD_DAYS))
    )

    if chosen is DeletionMode.delete_posts:
        await _delete_posts(session, user=user, now=now)
    await _forget_mentions(session, user=user, old_name=old_name)
    # someone may have searched for them ("@old_name,", their address): the log forgets it
    await search_service.forget_identity(session, username=old_name, email=user.email)

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
    await _forget_name_snapshots(session, user=user, old_name=old_name, name=name)


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
    # their discussions stay (others' replies keep their place) under a placeholder title
    await session.execute(
        update(Discussion)
        .where(Discussion.author_id == user.id)
        .values(title=DELETED_TITLE, slug=slugify(DELETED_TITLE))
    )
    # and their words leave the search index (title and body of every post of theirs)
    await search_index.erase_author_documents(session, author_id=user.id)


async def _forget_mentions(session: AsyncSession, *, user: User, old_name: str) -> None:
    """Others' posts that mention the member lose the name: "@old" reads "a former
    member", re-rendered; their earlier versions too.

    Mentions are recorded when a post is published, so the recorded ones are not all:
    a held or hidden post's mention may never have been, and an edit that took a mention
    out dropped its record while the earlier version keeps the name. Those are found by
    their text: held and hidden posts are few (read through the status index), and
    earlier versions exist only for edited posts."""
    written = "%@" + old_name.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") + "%"
    post_ids = set(
        (
            await session.scalars(
                select(PostMention.post_id)
                .where(PostMention.user_id == user.id)
                .union(
                    select(Post.id).where(
                        Post.status.in_([Visibility.pending.value, Visibility.hidden.value]),
                        Post.body_md.ilike(written, escape="\\"),
                    ),
                    select(PostRevision.post_id).where(
                        PostRevision.body_md.ilike(written, escape="\\")
                    ),
                )
            )
        ).all()
    )
    await session.execute(delete(PostMention).where(PostMention.user_id == user.id))
    pattern = re.compile(r"@" + re.escape(old_name) + r"(?![A-Za-z0-9_])", re.IGNORECASE)
    for post_id in sorted(post_ids):
        post = await session.get(Post, post_id)
        if post is None:
            continue
        body = pattern.sub(FORMER, post.body_md)
        if body != post.body_md:
            post.body_md = body
            post.body_html = (await render_body(session, body, enforce_limit=False)).html
            discussion = await session.get_one(Discussion, post.discussion_id)
            await search_index.index_post(session, post=post, discussion=discussion)
        revisions = await session.scalars(
            select(PostRevision).where(PostRevision.post_id == post_id)
        )
        for revision in revisions:
            revision.body_md = pattern.sub(FORMER, revision.body_md)
    await session.flush()


async def _forget_name_snapshots(
    session: AsyncSession, *, user: User, old_name: str, name: str
) -> None:
    """Rows that keep a copy of a name, so that they outlive renames, take the neutral
    name: the audit log (its triggers allow only this change, and only for a deleted
    account), edit history, resolved flags and reviews, and moderators' crisis alerts
    about the member's posts (which quote their name)."""
    await session.execute(
        update(AuditEntry).where(AuditEntry.actor_id == user.id).values(actor_name=name)
    )
    about = await session.execute(
        select(AuditEntry.id, AuditEntry.target_label).where(
            AuditEntry.target_type == "user", AuditEntry.target_id == user.id
        )
    )
    for entry_id, label in about.all():
        # "name" or "name: what changed"; what changed stays
        await session.execute(
            update(AuditEntry)
            .where(AuditEntry.id == entry_id)
            .values(target_label=name + label[label.index(":") :] if ":" in label else name)
        )
    await session.execute(
        update(PostRevision).where(PostRevision.editor_id == user.id).values(editor_name=name)
    )
    for model in (Flag, SafetyReview):
        await session.execute(
            update(model).where(model.resolved_by_id == user.id).values(resolved_by_name=name)
        )
    await session.execute(
        update(Notification)
        .where(
            Notification.kind == NotificationKind.moderation.value,
            Notification.post_id.in_(select(Post.id).where(Post.author_id == user.id)),
        )
        .values(message=func.replace(Notification.message, old_name, name))
    )
