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
the upsert below (INSERT ... ON CONFLICT DO UPDATE) locks each gathering message it joins,
and the worker claims with SKIP LOCKED, so a claim and a join cannot interleave; on SQLite
writers are serialised.

Each notification is in at most one e-mail: `email_outbox_items` is keyed by notification.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    Delete,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    delete,
    exists,
    func,
    literal,
    literal_column,
    null,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.config import Settings
from app.core.rows import Step, Write, WriteScript, execute_write_count
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
    """Each compiled once and run on the driver (app/core/rows.py `Write`): through
    `session.execute` these long statements cost a reply more CPU in SQLAlchemy (cache
    keys, execution context) than the database spends running them."""

    messages: Write  # each member's gathering messages: held, created, moved earlier
    items: Write  # each notification attached to its message


def _candidates(n: Any) -> Select[Any]:
    """The notifications that get e-mail, as a SELECT of (notification_id, user_id,
    batch_key, category, discussion_id, email, send_after), one row each: the member's
    address is verified and their mode for the kind is not "never". `n` is the
    notifications table (`Notification`) or anything with its columns id, user_id, kind
    and discussion_id (the rows a fan-out has just written). Parameters: now, digest_at,
    gathered_at."""
    when = O.send_after.type
    now = bindparam("now", type_=when)
    digest_at = bindparam("digest_at", type_=when)
    gathered_at = bindparam("gathered_at", type_=when)
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
        (n.kind.in_([literal(k.value) for k in GATHERED_KINDS]), gathered_at),
        else_=now,
    )
    return (
        select(
            n.id.label("notification_id"),
            n.user_id.label("user_id"),
            batch_key.label("batch_key"),
            case(
                (mode == EmailMode.daily.value, literal(OutboxCategory.digest.value)),
                else_=literal(OutboxCategory.notification.value),
            ).label("category"),
            case((batch_key == discussion_key, n.discussion_id), else_=null()).label(
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
            User.email_verified_at.is_not(None),
            mode.in_([literal(EmailMode.immediately.value), literal(EmailMode.daily.value)]),
        )
    )


# constants in the SQL, not parameters: the planner must see that the partial unique
# index of gathering messages applies, also in the generic plan PostgreSQL settles on
# for a prepared statement after a few runs
_GATHERING = and_(
    O.status == literal_column(f"'{OutboxStatus.queued.value}'"),
    O.attempts == literal_column("0"),
    O.batch_key.is_not(None),
)


def _upsert_messages(c: Any, dialect: str) -> Any:
    """The gathering message of every member and batch key the candidates `c` need, in
    one INSERT ... ON CONFLICT DO UPDATE on the index of gathering messages: a missing one
    is created; an existing one is locked (on PostgreSQL the worker's claim, SKIP LOCKED,
    passes it by until we commit; SQLite serialises writers), and moved earlier when a
    candidate is due sooner, else left as it is. The conflict is decided on the rows as
    they are, not as a snapshot saw them: a message a concurrent request has just created
    is joined (after it commits), one a worker has just claimed no longer gathers, so a
    new one is made. Candidates are grouped by member and key, so no message is touched
    twice (a member has one notification per post, apart from moderation notices, each
    its own key; the digest key gathers every kind, all due at `digest_at`)."""
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
            bindparam("now", type_=O.send_after.type),
        )
        .where(c.user_id.is_not(None))  # SQLite: a WHERE before the upsert
        .group_by(c.user_id, c.category, c.batch_key)
    )
    if dialect != "postgresql":
        # SQLite holds the database's write lock already, so nothing needs locking: leave
        # out every candidate whose message exists and is due no later (the common case),
        # rather than group them and try each against the index (2 ms for 1,000)
        grouped = grouped.where(
            ~exists().where(
                _GATHERING,
                O.user_id == c.user_id,
                O.batch_key == c.batch_key,
                O.send_after <= c.send_after,
            )
        )
    insert = insert_for_dialect(dialect, table_of(O)).from_select(
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
    return insert.on_conflict_do_update(
        index_elements=["user_id", "batch_key"],
        index_where=text(QUEUED_UNTOUCHED),
        set_={"send_after": insert.excluded.send_after},
        where=insert.excluded.send_after < O.send_after,
    )


@functools.cache
def _queue_statements(target: str, dialect: str) -> _QueueStatements:
    """The statements of queue_notifications, built once per kind of target ("post":
    every notification of a post, "notification": one) and dialect; built afresh they cost
    a reply a few milliseconds of CPU. Parameters: target, now, digest_at, gathered_at.
    Lists are literals one by one (`in_([literal(...)])`), not an expanding IN: a `Write`
    with one runs through SQLAlchemy's execution, not on the driver.

    Each statement reads the candidates once, as a join: however many members a post
    notifies, the work is linear in them (a correlated look-up per gathering message was
    quadratic: 1,000 watchers with a hundred notifications each took a second)."""
    n = Notification
    chosen = n.post_id if target == "post" else n.id
    candidates = (
        _candidates(n)
        .where(
            chosen == bindparam("target", type_=Integer),
            ~exists().where(OutboxItem.notification_id == n.id),
        )
        .subquery("candidates")
    )
    c = candidates.c
    items = (
        insert_for_dialect(dialect, table_of(OutboxItem))
        .from_select(
            ["notification_id", "outbox_id"],
            select(c.notification_id, O.id).join(
                O, and_(O.user_id == c.user_id, O.batch_key == c.batch_key, _GATHERING)
            ),
        )
        .on_conflict_do_nothing(index_elements=["notification_id"])
    )
    return _QueueStatements(messages=Write(_upsert_messages(c, dialect)), items=Write(items))


def messages_with(notified: CTE) -> Select[Any]:
    """PostgreSQL: the gathering messages of the notifications a fan-out writes, in its
    own statement. `notified` is the fan-out's INSERT ... RETURNING id, user_id, kind,
    discussion_id as a WITH: the messages' upsert (`_upsert_messages`) works from its rows
    instead of reading the notifications back. Answers a row per member notified. Only for
    a post written in this transaction: its notifications are all among these rows. The
    caller then attaches them (`attach_post_notifications`)."""
    candidates = _candidates(notified.c).cte("candidates")
    upserted = _upsert_messages(candidates.c, "postgresql").cte("messages")
    # a data-modifying WITH runs to completion whether or not the query reads it
    return select(notified.c.user_id).add_cte(upserted)


def queue_parameters(settings: Settings | None, now: datetime) -> dict[str, Any]:
    """The parameters of the statements above, but their target."""
    return {
        "now": now,
        "digest_at": next_digest_at(now, _digest_hour(settings)),
        "gathered_at": now + batch_window(settings),
    }


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
    attached to outbox messages.

    Two statements whatever the number of members notified, and no row per member comes
    back to Python: the messages (held, created, moved earlier), then the attachments."""
    if (post_id is None) == (notification_id is None):
        raise TypeError("queue_notifications takes a post_id or a notification_id")
    now = now or utcnow()
    statements = _queue_statements(
        "post" if post_id is not None else "notification", session.get_bind().dialect.name
    )
    params = {"target": post_id if post_id is not None else notification_id}
    params |= queue_parameters(settings, now)
    await execute_write_count(session, statements.messages, **params)
    return await execute_write_count(session, statements.items, **params)


def queue_post_steps(dialect: str, *, post_id: int, settings: Settings | None) -> WriteScript[int]:
    """`queue_notifications` for a post's notifications, as part of a write script
    (`core.rows.run_writes`): the same two statements; returns how many were attached."""
    statements = _queue_statements("post", dialect)
    params = {"target": post_id} | queue_parameters(settings, utcnow())
    yield Step(statements.messages, params, count=True)
    attached: int = yield Step(statements.items, params, count=True)
    return attached


def attach_post_step(dialect: str, *, post_id: int, settings: Settings | None) -> Step:
    """`attach_post_notifications` as a step of a write script (its answer: how many)."""
    statements = _queue_statements("post", dialect)
    params = {"target": post_id} | queue_parameters(settings, utcnow())
    return Step(statements.items, params, count=True)


async def attach_post_notifications(
    session: AsyncSession, *, post_id: int, settings: Settings | None
) -> int:
    """After `messages_with`: attach the post's notifications to their messages. Returns
    how many were attached."""
    step = attach_post_step(session.get_bind().dialect.name, post_id=post_id, settings=settings)
    return await execute_write_count(session, step.write, **step.params)


def _digest_hour(settings: Settings | None) -> int:
    return settings.email_digest_hour_utc if settings else 7


def items_of_messages(*where: ColumnElement[bool]) -> Delete:
    """DELETE the items of the outbox messages `where` selects. Items have no foreign keys
    (migration w17watch, `OutboxItem`): whoever deletes messages deletes their items first,
    as the cascade did."""
    return delete(OutboxItem).where(OutboxItem.outbox_id.in_(select(O.id).where(*where)))


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
