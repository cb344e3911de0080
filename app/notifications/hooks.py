"""Where discussions and moderation tell the notification system what happened.

Called inside the request's transaction, so notifications and outbox rows are written with
the post or not at all. Live events (new replies, unread counts) go out after the commit.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User, Writer
from app.core.rows import Step, Write, WriteScript
from app.db import dialect_insert, insert_for_dialect, table_of
from app.discussions.models import Discussion, Post
from app.discussions.rendering import rendered_or_render
from app.email import outbox
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


@functools.cache
def _insert_mentions(dialect: str) -> Write:
    """A new post's mentions, up to MAX_MENTIONS members a statement (one parameter each,
    None for an empty slot), so it is compiled once whoever is mentioned."""
    users = table_of(User)
    return Write(
        insert_for_dialect(dialect, table_of(PostMention))
        .from_select(
            ["post_id", "user_id"],
            select(bindparam("p_post", type_=Integer), users.c.id).where(
                users.c.id.in_([bindparam(name, type_=Integer) for name in _MENTION_SLOTS])
            ),
        )
        .on_conflict_do_nothing()
    )


_MENTION_SLOTS = [f"p_member_{i}" for i in range(mentions.MAX_MENTIONS)]


@dataclass(frozen=True, slots=True)
class Publication:
    """What the writes that follow a post's publication need (`prepare_publication`), as
    plain values: a write script runs them (`publication_steps`), possibly on the database
    driver's thread, and the post's id may not be known yet."""

    dialect: str
    settings: Any
    discussion_id: int
    group_id: int
    discussion_author_id: int
    audience: str
    is_opening: bool
    reply_to_id: int | None
    author_id: int
    follow: bool  # the author starts to follow the discussion
    new_mentions: list[int]  # post_mentions rows to insert (a post written now)
    mention_ids: list[int]  # members to notify of a mention
    with_messages: bool


async def prepare_publication(
    session: AsyncSession,
    *,
    discussion: Discussion,
    author: Writer,
    body_md: str,
    is_opening: bool,
    reply_to_id: int | None,
    post_id: int | None,
    new_post: bool,
    following: bool,
) -> Publication:
    """What happens when a post becomes visible to everybody, decided before anything is
    written: the author follows the discussion (unless they opted out or follow it
    already), and mentioned members, the author of the post answered, watchers of the
    discussion and, for a new discussion, watchers of its group are notified, at most once
    each. `new_post`: written in this transaction (`post_id` may be None: not written
    yet); otherwise its mentions are brought up to date now."""
    rendered = await rendered_or_render(session, body_md)
    if new_post:
        new_mentions = list(rendered.mentioned_user_ids)
    else:
        assert post_id is not None
        await _record_mentions(session, post_id, rendered.mentioned_user_ids)
        new_mentions = []
    return Publication(
        dialect=session.get_bind().dialect.name,
        settings=session.info.get("settings"),
        discussion_id=discussion.id,
        group_id=discussion.group_id,
        discussion_author_id=discussion.author_id,
        audience=service.audience_of(discussion),
        is_opening=is_opening,
        reply_to_id=reply_to_id,
        author_id=author.id,
        follow=author.auto_follow and not following,
        new_mentions=new_mentions,
        mention_ids=rendered.notifiable_user_ids[: mentions.MAX_MENTIONS],
        with_messages=service.fans_out_with_messages(session, new_post=new_post),
    )


def publication_steps(p: Publication, post_id: int) -> WriteScript[tuple[list[int], int]]:
    """The writes of a publication (a write script, `core.rows.run_writes`): the follow,
    the mentions, the notifications in one statement, their e-mail in the outbox. Returns
    who was notified and how many notifications were queued for e-mail."""
    if p.follow:
        yield follows.auto_follow_step(
            p.dialect, user_id=p.author_id, discussion_id=p.discussion_id
        )
    for i in range(0, len(p.new_mentions), len(_MENTION_SLOTS)):
        members = p.new_mentions[i : i + len(_MENTION_SLOTS)]
        slots = {
            name: members[j] if j < len(members) else None for j, name in enumerate(_MENTION_SLOTS)
        }
        yield Step(_insert_mentions(p.dialect), {"p_post": post_id} | slots)
    step = service.notify_post_step(
        p.dialect,
        p.settings,
        post_id=post_id,
        is_opening=p.is_opening,
        discussion_id=p.discussion_id,
        group_id=p.group_id,
        discussion_author_id=p.discussion_author_id,
        audience=p.audience,
        author_id=p.author_id,
        mention_ids=p.mention_ids,
        # answering the question is answering its author
        reply_to_author_id=p.discussion_author_id if p.reply_to_id is None else None,
        reply_to_post_id=p.reply_to_id,
        with_messages=p.with_messages,
    )
    if step is None:
        return [], 0
    notified: list[int] = [row[0] for row in (yield step)]
    queued = 0
    if notified and p.with_messages:
        queued = yield outbox.attach_post_step(p.dialect, post_id=post_id, settings=p.settings)
    elif notified:
        queued = yield from outbox.queue_post_steps(p.dialect, post_id=post_id, settings=p.settings)
    return notified, queued


def published(
    session: AsyncSession, p: Publication, *, post_id: int, notified: list[int], queued: int
) -> None:
    """After a publication's writes: e-mail workers and live events, once committed."""
    if queued:
        email_queue.wake_after_commit(session)
    live.publish_after_commit(
        session,
        live.PostEvent(discussion_id=p.discussion_id, post_id=post_id, reply_to=p.reply_to_id),
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
