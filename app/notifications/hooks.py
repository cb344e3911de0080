"""Where discussions and moderation tell the notification system what happened.

Called inside the request's transaction, so notifications and outbox rows are written with
the post or not at all. Live events (new replies, unread counts) go out after the commit.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User, Writer
from app.db import dialect_insert
from app.discussions.models import Discussion, Post, Visibility
from app.discussions.rendering import rendered_or_render
from app.email import queue as email_queue
from app.live import hub as live
from app.notifications import follows, mentions, service
from app.notifications.models import PostMention


async def _record_mentions(
    session: AsyncSession, post_id: int, user_ids: list[int], *, new_post: bool = False
) -> set[int]:
    """Make post_mentions hold exactly `user_ids`; returns the ids it held before (none, for
    a post written in this transaction: nothing to read)."""
    before: set[int] = set()
    if not new_post:
        before = set(
            (
                await session.scalars(
                    select(PostMention.user_id).where(PostMention.post_id == post_id)
                )
            ).all()
        )
    gone = before - set(user_ids)
    if gone:
        await session.execute(
            delete(PostMention).where(PostMention.post_id == post_id, PostMention.user_id.in_(gone))
        )
    new = [i for i in user_ids if i not in before]
    if new:
        await session.execute(
            dialect_insert(session, PostMention)
            .values([{"post_id": post_id, "user_id": i} for i in new])
            .on_conflict_do_nothing()
        )
    return before


async def post_published(
    session: AsyncSession,
    *,
    post: Post,
    discussion: Discussion,
    author: Writer,
    new_post: bool = False,
    following: bool = False,
) -> None:
    """A post became visible to everybody (on creation, or when approved or restored):
    the author follows the discussion (unless they opted out), and mentioned members,
    the author of the post answered, watchers of the discussion and, for a new discussion,
    watchers of its group are notified, at most once each. `new_post`: the post was
    written in this transaction; `following`: the author is known to have a follow level
    for the discussion already (auto-follow would change nothing: no statement)."""
    if post.status != Visibility.visible or post.deleted_at is not None:
        return
    if author.auto_follow and not following:
        await follows.auto_follow(session, user_id=author.id, discussion_id=discussion.id)
    rendered = await rendered_or_render(session, post.body_md)
    mention_ids = rendered.notifiable_user_ids[: mentions.MAX_MENTIONS]
    await _record_mentions(session, post.id, rendered.mentioned_user_ids, new_post=new_post)
    with_messages = service.fans_out_with_messages(session, new_post=new_post)
    notified = await service.notify_post(
        session,
        post=post,
        discussion=discussion,
        author_id=author.id,
        mention_ids=mention_ids,
        # answering the question is answering its author
        reply_to_author_id=discussion.author_id if post.reply_to_id is None else None,
        reply_to_post_id=post.reply_to_id,
        with_messages=with_messages,
    )
    if notified and with_messages:
        await email_queue.attach_for_post(session, post_id=post.id)
    elif notified:
        await email_queue.enqueue_for_post(session, post_id=post.id)
    live.publish_after_commit(
        session,
        live.PostEvent(discussion_id=discussion.id, post_id=post.id, reply_to=post.reply_to_id),
        live.UnreadEvent(user_ids=notified),
    )


async def post_edited(
    session: AsyncSession, *, post: Post, discussion: Discussion, editor: User, previous_body: str
) -> None:
    """A visible post's text changed; only newly added mentions are notified."""
    rendered = await rendered_or_render(session, post.body_md)
    before = await _record_mentions(session, post.id, rendered.mentioned_user_ids)
    suspended = set(rendered.suspended_user_ids)
    added = [i for i in rendered.mentioned_user_ids if i not in before and i not in suspended]
    if not added:
        return
    notified = await service.notify_post(
        session,
        post=post,
        discussion=discussion,
        author_id=post.author_id,
        mention_ids=added[: mentions.MAX_MENTIONS],
        reply_to_author_id=None,
        only_mentions=True,
    )
    if notified:
        await email_queue.enqueue_for_post(session, post_id=post.id)
        live.publish_after_commit(session, live.UnreadEvent(user_ids=notified))


async def post_visibility_changed(session: AsyncSession, *, post: Post) -> None:
    """A post was published, hidden, restored or deleted: its notifications (for a first
    post, its discussion's) are shown or not accordingly."""
    await service.refresh_shown(session, post=post)


async def moderation_notice(
    session: AsyncSession, *, user_id: int, post_id: int | None, message: str
) -> None:
    """Tell a member what moderation did to their content."""
    notification_id = await service.notify_moderation(
        session, user_id=user_id, post_id=post_id, message=message
    )
    await email_queue.enqueue_for_notification(session, notification_id=notification_id)
    live.publish_after_commit(session, live.UnreadEvent(user_ids=[user_id]))
