"""Writing to the e-mail outbox, inside the caller's transaction.

Notification e-mail is queued set-based: however many members a post notifies, a handful of
statements decide who gets e-mail (verified address, preference not "never"), attach each
notification to that member's gathering message for the discussion (or their daily digest),
and create the messages that do not exist yet.

Gathering (batching). A member has at most one *gathering* message per batch key: unsent,
never tried, `status = 'queued' AND attempts = 0` (a partial unique index holds this). Keys:
`d:<discussion>` for notifications about a discussion, `digest` for the daily digest, and
`n:<notification>` for moderation notices, which are never gathered. Later notifications
join the gathering message instead of creating another. When it is due:
- personal kinds (mention, reply to you, moderation) make it due now;
- replies in watched discussions (and new discussions) open a window of
  `email_batch_minutes` for more replies to gather;
- the worker sends a member at most one e-mail per discussion per `email_batch_minutes`
  (it does not claim a discussion's message while an earlier one is that recent);
- digests are due at the next `email_digest_hour_utc`.
A message stops gathering the moment a worker claims it (its status changes), so a
notification is never attached to an e-mail that has already been composed. On PostgreSQL
the UPDATE below locks each gathering message it joins, and the worker claims with
SKIP LOCKED, so a claim and a join cannot interleave; on SQLite writers are serialised.

Each notification is in at most one e-mail: `email_outbox_items` is keyed by notification.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.config import Settings
from app.db import insert_for_dialect, table_of, utcnow
from app.email.models import (
    DEFAULT_MODES,
    GATHERED_KINDS,
    QUEUED_UNTOUCHED,
    EmailMode,
    EmailPreference,
    OutboxCategory,
    OutboxItem,
    OutboxMessage,
    OutboxStatus,
)
from app.notifications.models import Notification, NotificationKind

O = OutboxMessage  # noqa: E741 (short alias for long SQL)


def batch_window(settings: Settings | None) -> timedelta:
    return timedelta(minutes=settings.email_batch_minutes if settings else 15)


def next_digest_at(now: datetime, hour: int) -> datetime:
    at = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    return at if at > now else at + timedelta(days=1)


def mode_expr(kind: Any, chosen: Any) -> ColumnElement[str]:
    """The member's mode for a kind: their choice, else the default."""
    default = case(
        {k.value: m.value for k, m in DEFAULT_MODES.items()},
        value=kind,
        else_=literal(EmailMode.never.value),
    )
    return func.coalesce(chosen, default)


# -- notification e-mail ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _QueueStatements:
    wanted: Any  # (user_id, batch_key) of the messages the notifications belong in
    join_existing: Any  # gathering messages they join (locked on PostgreSQL)
    insert_new: Any  # messages that do not exist yet
    items: Any  # each notification attached to its message


@functools.cache
def _queue_statements(target: str, dialect: str) -> _QueueStatements:
    """The statements of queue_notifications, built once per kind of target ("post":
    every notification of a post, "notification": one) and dialect; built afresh they cost
    a reply a few milliseconds of CPU. Parameters: target, now, digest_at, gathered_at."""
    n = Notification
    when = O.send_after.type
    now = bindparam("now", type_=when)
    digest_at = bindparam("digest_at", type_=when)
    gathered_at = bindparam("gathered_at", type_=when)
    chosen = n.post_id if target == "post" else n.id
    mode = mode_expr(n.kind, EmailPreference.mode)
    personal_key = literal("n:") + cast(n.id, String)
    discussion_key = literal("d:") + cast(n.discussion_id, String)
    batch_key = case(
        (mode == EmailMode.daily.value, literal("digest")),
        (n.kind == NotificationKind.moderation.value, personal_key),
        (n.discussion_id.is_(None), personal_key),
        else_=discussion_key,
    )
    send_after = case(
        (mode == EmailMode.daily.value, digest_at),
        (n.kind.in_([k.value for k in GATHERED_KINDS]), gathered_at),
        else_=now,
    )
    candidates = (
        select(
            n.id.label("notification_id"),
            n.user_id.label("user_id"),
            batch_key.label("batch_key"),
            case(
                (mode == EmailMode.daily.value, literal(OutboxCategory.digest.value)),
                else_=literal(OutboxCategory.notification.value),
            ).label("category"),
            case((batch_key == discussion_key, n.discussion_id), else_=literal(None)).label(
                "discussion_id"
            ),
            User.email.label("email"),
            send_after.label("send_after"),
        )
        .join(User, User.id == n.user_id)
        .outerjoin(
            EmailPreference,
            and_(EmailPreference.user_id == n.user_id, EmailPreference.kind == n.kind),
        )
        .where(
            chosen == bindparam("target", type_=Integer),
            User.email_verified_at.is_not(None),
            mode.in_([EmailMode.immediately.value, EmailMode.daily.value]),
            ~exists().where(OutboxItem.notification_id == n.id),
        )
    ).subquery("candidates")
    c = candidates.c

    gathering = and_(
        O.status == OutboxStatus.queued.value, O.attempts == 0, O.batch_key.is_not(None)
    )
    earliest = (
        select(func.min(c.send_after))
        .where(c.user_id == O.user_id, c.batch_key == O.batch_key)
        .scalar_subquery()
    )
    messages = table_of(O)
    join_existing = (
        update(messages)
        .where(gathering, tuple_(O.user_id, O.batch_key).in_(select(c.user_id, c.batch_key)))
        .values(send_after=case((earliest < O.send_after, earliest), else_=O.send_after))
        .returning(O.user_id, O.batch_key)
    )
    grouped = (
        select(
            c.user_id,
            c.category,
            c.batch_key,
            func.max(c.discussion_id),
            func.max(c.email),
            literal("{}"),
            literal(OutboxStatus.queued.value),
            func.min(c.send_after),
            literal(0),
            literal(""),
            now,
        )
        .where(~exists().where(gathering, O.user_id == c.user_id, O.batch_key == c.batch_key))
        .group_by(c.user_id, c.category, c.batch_key)
    )
    insert_new = (
        insert_for_dialect(dialect, messages)
        .from_select(
            [
                "user_id",
                "category",
                "batch_key",
                "discussion_id",
                "to_address",
                "payload",
                "status",
                "send_after",
                "attempts",
                "last_error",
                "created_at",
            ],
            grouped,
        )
        .on_conflict_do_nothing(
            index_elements=["user_id", "batch_key"],
            index_where=text(QUEUED_UNTOUCHED),
        )
        .returning(O.user_id, O.batch_key)
    )
    items = (
        insert_for_dialect(dialect, table_of(OutboxItem))
        .from_select(
            ["notification_id", "outbox_id"],
            select(c.notification_id, O.id).join(
                O, and_(O.user_id == c.user_id, O.batch_key == c.batch_key, gathering)
            ),
        )
        .on_conflict_do_nothing(index_elements=["notification_id"])
    )
    return _QueueStatements(
        wanted=select(c.user_id, c.batch_key).distinct(),
        join_existing=join_existing,
        insert_new=insert_new,
        items=items,
    )


async def queue_notifications(
    session: AsyncSession,
    *,
    post_id: int | None = None,
    notification_id: int | None = None,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> int:
    """Queue e-mail for the notifications of a post (`post_id`) or one notification
    (`notification_id`) that are not in an e-mail yet. Returns how many notifications were
    attached to outbox messages."""
    if (post_id is None) == (notification_id is None):
        raise TypeError("queue_notifications takes a post_id or a notification_id")
    now = now or utcnow()
    statements = _queue_statements(
        "post" if post_id is not None else "notification", session.get_bind().dialect.name
    )
    params = {
        "target": post_id if post_id is not None else notification_id,
        "now": now,
        "digest_at": next_digest_at(now, _digest_hour(settings)),
        "gathered_at": now + batch_window(settings),
    }
    wanted = {tuple(row) for row in await session.execute(statements.wanted, params)}
    if not wanted:
        return 0
    # Hold every gathering message this transaction joins (see the module docstring). A
    # concurrent request may create one between our UPDATE and INSERT (the INSERT then
    # does nothing): go round again to lock it.
    held: set[tuple[Any, ...]] = set()
    for _ in range(5):
        held.update(tuple(r) for r in await session.execute(statements.join_existing, params))
        held.update(tuple(r) for r in await session.execute(statements.insert_new, params))
        if wanted <= held:
            break
    result = await session.execute(statements.items, params)
    return int(getattr(result, "rowcount", 0) or 0)


def _digest_hour(settings: Settings | None) -> int:
    return settings.email_digest_hour_utc if settings else 7


# -- account e-mail -------------------------------------------------------------------------


async def queue_account_email(
    session: AsyncSession,
    *,
    user_id: int | None,
    to_address: str,
    category: OutboxCategory,
    payload: dict[str, Any],
    now: datetime | None = None,
) -> OutboxMessage:
    message = OutboxMessage(
        user_id=user_id,
        category=category.value,
        to_address=to_address,
        payload=json.dumps(payload),
        send_after=now or utcnow(),
        created_at=now or utcnow(),
    )
    session.add(message)
    await session.flush()
    return message
