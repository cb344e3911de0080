"""The safety checks of a post being written: personal information (asked about before
anything is stored) and crisis language (answered at once, after it is stored).

`review_post` runs before the post is written and refuses (422, code
`personal_information`) a post with findings its author has not confirmed; `record`, once
the post exists, puts it in the moderators' queue when it needs a look and, for a possible
crisis, notifies every moderator at once and leaves the crisis resources for the response.
The confirmation is only a yes to the findings of the text being stored: the server checks
that text itself, so a tampered or replayed flag changes nothing but that answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role, User, Writer
from app.core.errors import Invalid
from app.db import after_commit, dialect_insert, table_of, utcnow
from app.discussions.models import Post
from app.email.models import ALERT_KEY_PREFIX, OutboxCategory, OutboxItem, OutboxMessage
from app.live import hub as live
from app.notifications import service as notifications
from app.safety import crisis
from app.safety.crisis import CrisisSignal
from app.safety.models import OPEN_REVIEW, PRIORITY, ReviewKind, SafetyReview
from app.safety.personal_info import LABELS, Finding, check_post
from app.safety.schemas import SupportOut

# session.info key: the crisis support to show the author in this request's answer
_SUPPORT = "kindred.safety.support"


class PersonalInformationFound(Invalid):
    """The post holds personal information its author has not confirmed."""

    code = "personal_information"

    def __init__(self, findings: list[Finding]) -> None:
        kinds = sorted({LABELS[f.kind] for f in findings})
        super().__init__(
            "This post seems to include "
            + ", ".join(kinds)
            + ". Everyone can read posts here: remove it, or post anyway with "
            '"confirm_personal_information": true.',
            extra={"findings": [f.as_dict() for f in findings]},
        )
        self.findings = findings


@dataclass(slots=True)
class PostReview:
    """What the checks found in a post about to be written."""

    author: Writer
    findings: list[Finding] = field(default_factory=list)
    crisis: CrisisSignal | None = None

    @property
    def has_record(self) -> bool:
        """Whether `record` has anything to write."""
        return bool(self.findings) or self.crisis is not None

    async def record(self, session: AsyncSession, *, post: Post) -> None:
        """Once the post exists: queue it for the moderators when it needs a look. An edit
        of a post whose item of that kind is still open adds nothing: the moderators have it
        already (and read the post as it is now); once they have reviewed it, an edit that
        again reads as a crisis is a new event, a new item and a new alert. The author is
        shown the crisis resources every time."""
        if self.findings:
            kinds = sorted({f.kind.value for f in self.findings})
            await _open_review(session, post, ReviewKind.personal_information, ", ".join(kinds))
        if self.crisis is not None:
            if await _open_review(session, post, ReviewKind.crisis, self.crisis.text):
                await _alert_moderators(session, post=post, author=self.author, signal=self.crisis)
            session.info[_SUPPORT] = self.author.country


async def review_post(
    session: AsyncSession,
    *,
    author: Writer,
    title: str | None,
    body: str,
    confirmed: bool,
    editor: Writer | None = None,
) -> PostReview:
    """Check a post before it is written. A moderator editing someone else's post is
    reviewing it already: nothing to ask or report."""
    if editor is not None and editor.id != author.id:
        return PostReview(author=author)
    findings = check_post(title, body, region=author.country)
    if findings and not confirmed:
        raise PersonalInformationFound(findings)
    return PostReview(
        author=author, findings=findings, crisis=crisis.detect_crisis(title or "", body)
    )


def support_for(session: AsyncSession) -> dict[str, Any] | None:
    """The crisis support for the author of a post written in this request, if any:
    `{"kind": "crisis", "resources": [...]}`."""
    if _SUPPORT not in session.info:
        return None
    return crisis_support(session.info[_SUPPORT], session.info.get("settings"))


def support_out(session: AsyncSession) -> SupportOut | None:
    support = support_for(session)
    return SupportOut.model_validate(support) if support is not None else None


def crisis_support(country: str | None, settings: Any = None) -> dict[str, Any]:
    return {
        "kind": "crisis",
        "resources": crisis.resources_for(
            country,
            site_line_name=getattr(settings, "crisis_line_name", ""),
            site_line_phone=getattr(settings, "crisis_line_phone", ""),
        ),
    }


async def _open_review(session: AsyncSession, post: Post, kind: ReviewKind, detail: str) -> bool:
    """Open the post's item of this kind unless one is open already; whether it was opened.
    Two edits at once cannot open two: the partial unique index on open items decides
    (ON CONFLICT DO NOTHING), on both databases."""
    opened = await session.execute(
        dialect_insert(session, table_of(SafetyReview))
        .values(
            post_id=post.id,
            kind=kind.value,
            priority=PRIORITY[kind],
            detail=detail[:1000],
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["post_id", "kind"], index_where=text(OPEN_REVIEW))
        .returning(table_of(SafetyReview).c.id)
    )
    return opened.scalar_one_or_none() is not None


async def _alert_moderators(
    session: AsyncSession, *, post: Post, author: Writer, signal: CrisisSignal
) -> None:
    """Every moderator hears of it now: in-app, and by e-mail sent at once whatever their
    e-mail settings, "never" included (an outbox message of its own, keyed as an alert,
    not the gathered or daily ones: see `ALERT_KEY_PREFIX`)."""
    moderators = (
        await session.execute(
            select(User.id, User.email).where(
                User.role.in_([Role.moderator.value, Role.admin.value]),
                User.suspended_at.is_(None),
                User.id != author.id,
            )
        )
    ).all()
    if not moderators:
        return
    now = utcnow()
    message = (
        f"Possible crisis: {author.username} wrote \u201c{signal.text}\u201d. "
        "They were shown crisis resources. Please look at the post now."
    )
    for user_id, email in moderators:
        notification_id = await notifications.notify_moderation(
            session, user_id=user_id, post_id=post.id, message=message
        )
        outbox = OutboxMessage(
            user_id=user_id,
            category=OutboxCategory.notification.value,
            batch_key=f"{ALERT_KEY_PREFIX}{notification_id}",
            # no discussion: the worker spaces a member's e-mails about one discussion (one
            # per gathering window), and an alert must not wait behind the last of them
            discussion_id=None,
            to_address=email,
            send_after=now,
            created_at=now,
        )
        session.add(outbox)
        await session.flush()
        session.add(OutboxItem(notification_id=notification_id, outbox_id=outbox.id))
    await session.flush()
    after_commit(session, _wake)
    live.publish_after_commit(session, live.UnreadEvent(user_ids=[m[0] for m in moderators]))


async def _wake() -> None:
    from app.email.worker import wake_workers

    wake_workers()
