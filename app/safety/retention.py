"""What is kept, and for how long. The e-mail worker purges, at most once an hour:

- e-mail sent (or given up on, or skipped) more than 30 days ago, with what it carried,
  and the copies written as .eml files under var_dir/mail (no SMTP host) as old;
- sessions past their absolute end or idle for longer than `session_idle_days`;
- API tokens past their end;
- password-reset requests used or expired more than a day ago;
- registrations whose link expired unused (their address and password hash; registering
  also forgets them, but only when somebody registers);
- holds on deleted members' usernames, after their 30 days;
- e-mail verification keeps no rows (its links are signed values), and no client (IP)
  address is stored in the database (rate limits count them in memory or Redis, for
  minutes); the security log's lines carry one, and go to standard error, whose keeping is
  the host's (README: 30 days at most).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from anyio import to_thread
from sqlalchemy import delete, or_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts.models import ApiToken, PasswordReset, PendingRegistration, UserSession
from app.config import Settings
from app.db import utcnow
from app.email.models import OutboxMessage, OutboxStatus
from app.email.outbox import items_of_messages
from app.safety.models import UsernameHold

SENT_EMAIL_DAYS = 30
RESET_GRACE = timedelta(days=1)
PURGE_EVERY = timedelta(hours=1)
DONE = (OutboxStatus.sent.value, OutboxStatus.failed.value, OutboxStatus.skipped.value)


@dataclass(slots=True)
class Purged:
    emails: int = 0
    sessions: int = 0
    tokens: int = 0
    password_resets: int = 0
    pending_registrations: int = 0
    username_holds: int = 0
    mail_files: int = 0


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def purge_expired(session: AsyncSession, *, settings: Settings, now: datetime) -> Purged:
    """Delete what is past its retention period (flushes; the caller commits)."""
    out = Purged()
    old_mail = now - timedelta(days=SENT_EMAIL_DAYS)
    expired_mail = (
        OutboxMessage.status.in_(DONE),
        or_(
            OutboxMessage.sent_at < old_mail,
            (OutboxMessage.sent_at.is_(None)) & (OutboxMessage.created_at < old_mail),
        ),
    )
    # their items first: no foreign key cascades them (w17watch)
    await session.execute(items_of_messages(*expired_mail))
    out.emails = _count(await session.execute(delete(OutboxMessage).where(*expired_mail)))
    idle = now - timedelta(days=settings.session_idle_days)
    out.sessions = _count(
        await session.execute(
            delete(UserSession).where(
                or_(UserSession.expires_at < now, UserSession.last_seen_at < idle)
            )
        )
    )
    out.tokens = _count(await session.execute(delete(ApiToken).where(ApiToken.expires_at < now)))
    out.password_resets = _count(
        await session.execute(
            delete(PasswordReset).where(
                or_(
                    PasswordReset.expires_at < now - RESET_GRACE,
                    PasswordReset.used_at < now - RESET_GRACE,
                )
            )
        )
    )
    out.pending_registrations = _count(
        await session.execute(
            delete(PendingRegistration).where(PendingRegistration.expires_at <= now)
        )
    )
    out.username_holds = _count(
        await session.execute(delete(UsernameHold).where(UsernameHold.until < now))
    )
    out.mail_files = await to_thread.run_sync(
        _purge_mail_files, settings.var_dir / "mail", old_mail.timestamp()
    )
    return out


def _purge_mail_files(folder: Path, before: float) -> int:
    """The .eml files the file transport wrote (app/email/mailer.py) before `before`."""
    if not folder.is_dir():
        return 0
    removed = 0
    for path in folder.glob("*.eml"):
        try:
            if path.stat().st_mtime < before:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # another worker's purge got there first
            continue
    return removed


class RetentionClock:
    """Runs `purge_expired` from a worker's loop at most once every PURGE_EVERY."""

    def __init__(self) -> None:
        self.last: datetime | None = None

    async def maybe_purge(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        now: datetime | None = None,
    ) -> Purged | None:
        now = now or utcnow()
        if self.last is not None and now - self.last < PURGE_EVERY:
            return None
        self.last = now
        async with sessionmaker() as session:
            purged = await purge_expired(session, settings=settings, now=now)
            await session.commit()
        return purged
