"""The audit log is append-only in the database itself, with one sanctioned change: when an
account is deleted, its name in entries (as the actor, or as a member target's name before
": what changed") becomes its neutral name. Everything else is refused by the triggers, on
SQLite and PostgreSQL alike: other columns, other names, accounts not deleted, deletes."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, exc, update

from app.accounts.models import User
from app.db import utcnow
from app.moderation import audit
from app.moderation.models import AuditEntry
from app.safety.former import neutral_name


async def _refused(session: Any, statement: Any) -> None:
    with pytest.raises(exc.DBAPIError) as raised:
        async with session.begin_nested():
            await session.execute(statement)
    assert "audit log entries cannot be changed" in str(raised.value)


async def _allowed(session: Any, statement: Any) -> None:
    async with session.begin_nested():
        result = await session.execute(statement)
    assert result.rowcount == 1


async def test_only_a_deleted_accounts_names_may_become_its_neutral_name(
    session, member, moderator
):
    mod = await session.get_one(User, moderator.id)
    entry = await audit.record(
        session,
        actor=await session.get_one(User, member.id),  # the member acting (as a mentor, say)
        action="set_role",
        target_type="user",
        target_id=member.id,
        target_label=f"{member.username}: member \u2192 mentor",
        reason="asked for it",
    )
    by_mod = await audit.record(
        session, actor=mod, action="note", target_type="user", target_id=member.id,
        target_label=member.username,
    )  # fmt: skip
    await session.commit()
    row = update(AuditEntry).where(AuditEntry.id == entry.id)
    neutral = neutral_name(member.id)

    # while the account exists, nothing may change
    await _refused(session, row.values(actor_name=neutral))
    await _refused(session, row.values(target_label=f"{neutral}: member \u2192 mentor"))

    await session.execute(update(User).where(User.id == member.id).values(deleted_at=utcnow()))
    # once deleted: anything but the sanctioned redaction is still refused
    await _refused(session, row.values(reason="rewritten"))
    await _refused(session, row.values(action="other"))
    await _refused(session, row.values(actor_name="someone else"))
    await _refused(session, row.values(actor_name=neutral_name(member.id + 1000)))
    await _refused(session, row.values(target_label=neutral))  # what changed must stay
    await _refused(session, row.values(target_label=f"{neutral}: member \u2192 admin"))
    await _refused(session, row.values(actor_name=neutral, reason="and this"))
    # a moderator's name is theirs to keep: not the member's neutral name
    await _refused(
        session,
        update(AuditEntry).where(AuditEntry.id == by_mod.id).values(actor_name=neutral),
    )
    await _refused(session, delete(AuditEntry).where(AuditEntry.id == entry.id))

    await _allowed(session, row.values(actor_name=neutral))
    await _allowed(session, row.values(target_label=f"{neutral}: member \u2192 mentor"))
    await _allowed(
        session,
        update(AuditEntry).where(AuditEntry.id == by_mod.id).values(target_label=neutral),
    )
