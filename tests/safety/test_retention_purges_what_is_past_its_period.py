"""The worker's retention purge: sent e-mail older than 30 days, expired or idle sessions,
expired tokens and old password-reset rows go; everything current stays."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from app.accounts.models import ApiToken, PasswordReset, PendingRegistration, UserSession
from app.db import utcnow
from app.email.models import OutboxMessage
from app.email.worker import OutboxWorker
from app.safety.models import UsernameHold
from app.safety.retention import RetentionClock, purge_expired


def _pending(name: str, *, expires_at: datetime) -> PendingRegistration:
    return PendingRegistration(
        username=name,
        username_key=name,
        email=f"{name}@example.org",
        password_hash="x",
        nonce=name,
        token_hash=name.ljust(64, "0"),
        expires_at=expires_at,
    )


async def test_the_purge_removes_only_what_is_past_its_period(app, member):
    now = utcnow()
    day = timedelta(days=1)
    async with app.state.db.sessionmaker() as s:

        def mail(status: str, sent_days: int | None, created_days: int) -> OutboxMessage:
            return OutboxMessage(
                user_id=member.id,
                category="notification",
                to_address=member.email,
                status=status,
                sent_at=None if sent_days is None else now - sent_days * day,
                created_at=now - created_days * day,
                send_after=now - created_days * day,
            )

        s.add_all(
            [
                mail("sent", 31, 31),  # old: goes
                mail("failed", None, 40),  # given up on long ago: goes
                mail("sent", 29, 29),  # recent: stays
                mail("queued", None, 40),  # still to send: stays
                UserSession(id="expired", user_id=member.id, expires_at=now - day),
                UserSession(
                    id="idle",
                    user_id=member.id,
                    expires_at=now + 30 * day,
                    last_seen_at=now - 30 * day,
                ),
                UserSession(id="live", user_id=member.id, expires_at=now + day, last_seen_at=now),
                ApiToken(token_hash="a" * 64, user_id=member.id, expires_at=now - day),
                ApiToken(token_hash="b" * 64, user_id=member.id, expires_at=now + day),
                PasswordReset(
                    user_id=member.id, nonce="n1", token_hash="c" * 64, expires_at=now - 2 * day
                ),
                PasswordReset(
                    user_id=member.id, nonce="n2", token_hash="d" * 64, expires_at=now + day
                ),
                UsernameHold(key_hash="e" * 64, until=now - day),  # its 30 days are over
                # registrations whose link was never followed (address and password hash)
                _pending("gone_gina", expires_at=now - day),
                _pending("still_sam", expires_at=now + day),
                UsernameHold(key_hash="f" * 64, until=now + day),
            ]
        )
        await s.commit()
        purged = await purge_expired(s, settings=app.state.settings, now=now)
        await s.commit()
        assert (purged.emails, purged.tokens, purged.password_resets) == (2, 1, 1)
        assert purged.username_holds == 1
        assert purged.pending_registrations == 1
        assert (await s.scalars(select(PendingRegistration.username))).all() == ["still_sam"]
        assert (await s.scalars(select(UsernameHold.key_hash))).all() == ["f" * 64]
        assert purged.sessions >= 2
        statuses = sorted((await s.scalars(select(OutboxMessage.status))).all())
        assert statuses.count("queued") >= 1 and "failed" not in statuses
        sessions = set((await s.scalars(select(UserSession.id))).all())
        assert "live" in sessions and not {"expired", "idle"} & sessions
        assert (await s.scalars(select(ApiToken.token_hash))).all() == ["b" * 64]
        assert (await s.scalars(select(PasswordReset.nonce))).all() == ["n2"]


async def test_the_worker_purges_at_most_once_an_hour(app):
    clock = RetentionClock()
    now = utcnow()
    sm, settings = app.state.db.sessionmaker, app.state.settings
    assert await clock.maybe_purge(sm, settings, now) is not None
    assert await clock.maybe_purge(sm, settings, now + timedelta(minutes=59)) is None
    assert await clock.maybe_purge(sm, settings, now + timedelta(minutes=61)) is not None


async def test_the_running_worker_purges(app, member):
    """The e-mail worker's loop runs the purge: an expired session is gone after a round."""
    now = utcnow()
    async with app.state.db.sessionmaker() as s:
        s.add(UserSession(id="stale", user_id=member.id, expires_at=now - timedelta(days=1)))
        await s.commit()
    worker = OutboxWorker(app.state.db.sessionmaker, app.state.settings, app.state.signer)
    task = asyncio.create_task(worker.run())
    try:
        for _ in range(200):
            if worker.retention.last is not None:
                break
            await asyncio.sleep(0.02)
    finally:
        worker.stop()
        await asyncio.wait_for(task, 10)
    assert worker.retention.last is not None
    async with app.state.db.sessionmaker() as s:
        assert "stale" not in (await s.scalars(select(UserSession.id))).all()


def _write_mail(folder: Path, name: str, days_old: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("To: someone@example.org\n\nhello\n")
    when = time.time() - days_old * 86_400
    os.utime(path, (when, when))
    return path


async def test_mail_written_as_files_goes_after_30_days_too(app):
    """Without an SMTP host e-mail is written as .eml files (app/email/mailer.py): those
    copies of sent e-mail are kept no longer than the outbox rows."""
    folder = Path(app.state.settings.var_dir, "mail")
    old = _write_mail(folder, "00000001-old.eml", 31)
    recent = _write_mail(folder, "00000002-recent.eml", 29)
    async with app.state.db.sessionmaker() as s:
        purged = await purge_expired(s, settings=app.state.settings, now=utcnow())
    assert purged.mail_files == 1
    assert not old.exists() and recent.exists()
