"""The outbox worker: claims due messages, composes them, sends them, records the outcome.

It runs inside the server process by default (started and stopped by the app's lifespan)
and as `kindred worker` in production, where several may run at once.

Claiming. One atomic statement moves due rows from `queued` to `sending` and gives them a
lease (`locked_until`, `claimed_by`, `attempts + 1`):

    UPDATE email_outbox SET status = 'sending', ...
    WHERE id IN (SELECT id FROM email_outbox WHERE <due> ORDER BY send_after
                 LIMIT n FOR UPDATE SKIP LOCKED)
    RETURNING id

On PostgreSQL, SKIP LOCKED lets any number of workers claim side by side without waiting
for or ever taking the same row; on SQLite (no FOR UPDATE) the database's single writer
makes the UPDATE itself atomic, so two claims still never overlap. The claim commits before
anything is sent. A row is due when it is `queued` with `send_after <= now`, and for a
discussion's e-mail, when the member got no e-mail about that discussion in the last
`email_batch_minutes`; or when it is `sending` and its lease ran out (its worker died).

Sending "once". Before sending, the worker renews its lease only if the row is still its own
(`claimed_by` is a fencing token), then sends, then marks the row `sent` in its own
transaction, again only if the row is still its own. So:
- killed after claiming and before the SMTP server accepted the message: nothing went out;
  the lease expires, another worker (or this one, restarted) claims it and sends it, once.
- SMTP down, timeouts, 4xx: the row goes back to `queued` with `send_after` pushed back
  exponentially (`email_retry_base_seconds * 2 ** (attempts - 1)`, at most six hours) and
  `last_error` kept; after `email_max_attempts` it is `failed` and stays in the table.
  A 5xx refusal of the recipient is permanent: `failed` at once.
- The residual window, which SMTP cannot close: the server has answered "250 OK" to the
  message but the worker dies before its `sent` commits (milliseconds). The message is then
  sent again after the lease expires, with the *same* Message-ID (it is derived from the
  outbox row), so mail systems and clients that de-duplicate by Message-ID show it once.
  Nothing is ever lost: at-least-once delivery, exactly-once in every case but that one.
  With the file transport (no SMTP configured) the file name is derived from the message,
  so a second write replaces the first: exactly once.
- The lease (`email_lease_seconds`) must be longer than one send can take (the SMTP
  timeout), or a slow worker's message could be taken over; the lease is renewed before
  each send, so a batch may take longer than the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from jinja2 import Environment
from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from app.config import Settings
from app.core.security import Signer
from app.db import utcnow
from app.email.compose import Composer
from app.email.mailer import PermanentFailure, Transport, email_environment, transport_for
from app.email.models import OutboxMessage, OutboxStatus
from app.email.outbox import batch_window
from app.safety.retention import RetentionClock

log = logging.getLogger("kindred.email")
O = OutboxMessage  # noqa: E741
MAX_BACKOFF = timedelta(hours=6)

_running: weakref.WeakSet[OutboxWorker] = weakref.WeakSet()


def wake_workers() -> None:
    """Nudge the workers of this process (called after a request queued e-mail)."""
    for worker in list(_running):
        worker.wake()


def backoff(settings: Settings, attempts: int) -> timedelta:
    seconds = settings.email_retry_base_seconds * 2 ** max(0, attempts - 1)
    return min(timedelta(seconds=seconds), MAX_BACKOFF)


@dataclass(slots=True)
class Outcome:
    outbox_id: int
    status: str  # sent, queued (to retry), failed, skipped, lost (taken over by another)
    error: str = ""


class OutboxWorker:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        signer: Signer,
        *,
        transport: Transport | None = None,
        env: Environment | None = None,
        worker_id: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.transport = transport or transport_for(settings)
        self.composer = Composer(settings, signer, env or email_environment())
        self.worker_id = worker_id or (
            f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        )
        self.clock = clock
        self.retention = RetentionClock()  # purges what is past its period (app/safety)
        self._wake = asyncio.Event()
        self._stopping = False

    # -- claiming ------------------------------------------------------------------------------

    def _due(self, now: datetime) -> object:
        recent = aliased(O)
        spaced = ~exists().where(
            recent.user_id == O.user_id,
            recent.discussion_id == O.discussion_id,
            recent.id != O.id,
            or_(
                and_(
                    recent.status == OutboxStatus.sent.value,
                    recent.sent_at > now - batch_window(self.settings),
                ),
                and_(recent.status == OutboxStatus.sending.value, recent.locked_until > now),
            ),
        )
        return or_(
            and_(
                O.status == OutboxStatus.queued.value,
                O.send_after <= now,
                or_(O.discussion_id.is_(None), spaced),
            ),
            and_(
                O.status == OutboxStatus.sending.value,
                O.locked_until < now,
                O.attempts < self.settings.email_max_attempts,
            ),
        )

    async def claim(self, now: datetime, limit: int | None = None) -> list[int]:
        """Take up to `limit` due messages (committed before anything is sent)."""
        due = (
            select(O.id)
            .where(self._due(now))  # type: ignore[arg-type]
            .order_by(O.send_after, O.id)
            .limit(limit or self.settings.email_worker_batch_size)
            .with_for_update(skip_locked=True, of=O)
        )
        claim = (
            update(O)
            .where(O.id.in_(due.scalar_subquery()))
            .values(
                status=OutboxStatus.sending.value,
                locked_until=now + timedelta(seconds=self.settings.email_lease_seconds),
                claimed_by=self.worker_id,
                attempts=O.attempts + 1,
            )
            .returning(O.id)
            .execution_options(synchronize_session=False)
        )
        async with self.sessionmaker() as session:
            # whoever died too often while sending one message: give up on it, visibly
            await session.execute(
                update(O)
                .where(
                    O.status == OutboxStatus.sending.value,
                    O.locked_until < now,
                    O.attempts >= self.settings.email_max_attempts,
                )
                .values(
                    status=OutboxStatus.failed.value,
                    locked_until=None,
                    last_error="abandoned: the worker stopped while sending, too many times",
                )
                .execution_options(synchronize_session=False)
            )
            ids = sorted((await session.execute(claim)).scalars().all())
            await session.commit()
        return ids

    # -- one message -------------------------------------------------------------------------

    def _mine(self, outbox_id: int) -> object:
        return and_(
            O.id == outbox_id,
            O.status == OutboxStatus.sending.value,
            O.claimed_by == self.worker_id,
        )

    async def _finish(self, outbox_id: int, **values: object) -> bool:
        async with self.sessionmaker() as session:
            result = await session.execute(
                update(O)
                .where(self._mine(outbox_id))  # type: ignore[arg-type]
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            await session.commit()
        return bool(getattr(result, "rowcount", 0))

    async def process(self, outbox_id: int, now: datetime | None = None) -> Outcome:
        now = now or self.clock()
        async with self.sessionmaker() as session:
            renewed = await session.execute(
                update(O)
                .where(self._mine(outbox_id))  # type: ignore[arg-type]
                .values(locked_until=now + timedelta(seconds=self.settings.email_lease_seconds))
                .returning(O)
                .execution_options(synchronize_session=False)
            )
            row = renewed.scalar_one_or_none()
            await session.commit()
        if row is None:
            return Outcome(outbox_id, "lost")
        try:
            async with self.sessionmaker() as session:
                message = await self.composer.compose(session, row, now)
        except Exception as exc:  # a bug or bad data: retry later, and say why
            log.exception("could not compose e-mail %s", outbox_id)
            return await self._retry(row, now, exc)
        if message is None:
            await self._finish(outbox_id, status=OutboxStatus.skipped.value, locked_until=None)
            return Outcome(outbox_id, "skipped")
        try:
            await self.transport.send(message, outbox_id=outbox_id)
        except PermanentFailure as exc:
            await self._finish(
                outbox_id,
                status=OutboxStatus.failed.value,
                locked_until=None,
                last_error=_describe(exc),
            )
            return Outcome(outbox_id, "failed", _describe(exc))
        except Exception as exc:
            return await self._retry(row, now, exc)
        if not await self._finish(
            outbox_id, status=OutboxStatus.sent.value, sent_at=now, locked_until=None
        ):
            log.warning("e-mail %s was sent, but another worker had taken it over", outbox_id)
        return Outcome(outbox_id, "sent")

    async def _retry(self, row: OutboxMessage, now: datetime, exc: BaseException) -> Outcome:
        error = _describe(exc)
        if row.attempts >= self.settings.email_max_attempts:
            await self._finish(
                row.id, status=OutboxStatus.failed.value, locked_until=None, last_error=error
            )
            log.error("gave up on e-mail %s after %s attempts: %s", row.id, row.attempts, error)
            return Outcome(row.id, "failed", error)
        await self._finish(
            row.id,
            status=OutboxStatus.queued.value,
            send_after=now + backoff(self.settings, row.attempts),
            locked_until=None,
            claimed_by=None,
            last_error=error,
        )
        log.warning("e-mail %s not sent (attempt %s), will retry: %s", row.id, row.attempts, error)
        return Outcome(row.id, "queued", error)

    # -- the loop ----------------------------------------------------------------------------

    async def run_once(self, now: datetime | None = None) -> list[Outcome]:
        """Claim what is due and deal with each; returns what happened to each message."""
        outcomes = []
        ids = await self.claim(now or self.clock())
        for index, outbox_id in enumerate(ids):
            if self._stopping:
                await self._release(ids[index:])
                break
            # a given `now` (tests) holds for the whole round; otherwise the clock runs
            outcomes.append(await self.process(outbox_id, now))
        return outcomes

    async def _release(self, ids: list[int]) -> None:
        """Hand back messages claimed but not started (on shutdown)."""
        for outbox_id in ids:
            await self._finish(
                outbox_id, status=OutboxStatus.queued.value, locked_until=None, claimed_by=None
            )

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Work until stop() is called; a failing round is logged and tried again."""
        _running.add(self)
        try:
            while not self._stopping:
                busy = False
                try:
                    outcomes = await self.run_once()
                    busy = len(outcomes) >= self.settings.email_worker_batch_size
                    await self.retention.maybe_purge(self.sessionmaker, self.settings)
                except Exception:
                    log.exception("e-mail worker round failed")
                if busy:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._wake.wait(), timeout=self.settings.email_worker_poll_seconds
                    )
                self._wake.clear()
        finally:
            _running.discard(self)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:1000]


class InProcessWorker:
    """The worker as a task of the server process (the default runtime)."""

    def __init__(self, worker: OutboxWorker) -> None:
        self.worker = worker
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self.worker.run(), name="kindred-email-worker")

    async def close(self, grace_seconds: float = 10.0) -> None:
        if self.task is None:
            return
        self.worker.stop()
        try:
            await asyncio.wait_for(self.task, grace_seconds)
        except TimeoutError:
            self.task.cancel()
        except Exception:
            log.exception("e-mail worker stopped with an error")


def start_in_process(app: Any) -> InProcessWorker:
    """Start the worker as a task of the server (from the app's lifespan)."""
    state = app.state
    worker = OutboxWorker(state.db.sessionmaker, state.settings, state.signer)
    handle = InProcessWorker(worker)
    handle.start()
    return handle


async def run_worker_process(settings: Settings, *, once: bool = False) -> int:
    """`kindred worker`: run until SIGTERM/SIGINT (or, with once, until nothing is due)."""
    import signal

    from app.db import Database

    db = Database(settings.resolved_database_url)
    worker = OutboxWorker(db.sessionmaker, settings, Signer(settings.resolved_secret_key()))
    sent = 0
    try:
        if once:
            await worker.retention.maybe_purge(worker.sessionmaker, settings)
            while outcomes := await worker.run_once():
                sent += sum(o.status == "sent" for o in outcomes)
                if len(outcomes) < settings.email_worker_batch_size:
                    break
            return sent
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, worker.stop)
        await worker.run()
        return sent
    finally:
        await db.dispose()
