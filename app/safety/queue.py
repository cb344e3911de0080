"""The safety items of the moderators' queue: a possible crisis at the very top, personal
information confirmed by its author at the bottom (low priority), each open until a
moderator marks it reviewed (audited). A possible crisis stays when its author deletes the
post (marked deleted: the words are what the moderator reads); confirmed personal
information leaves with its post."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.permissions import Action, check_permission
from app.accounts.models import User
from app.core.errors import Conflict, NotFound
from app.db import utcnow
from app.discussions.models import Discussion, Post
from app.moderation import audit
from app.safety.models import REVIEW_LABELS, ReviewKind, SafetyReview


@dataclass(slots=True)
class SafetyItem:
    id: int
    kind: str
    detail: str
    created_at: datetime
    post_id: int
    discussion_id: int
    discussion_title: str
    author: str
    author_role: str
    body_md: str
    status: str
    deleted: bool

    @property
    def label(self) -> str:
        return REVIEW_LABELS[ReviewKind(self.kind)]

    @property
    def excerpt(self) -> str:
        text = " ".join(self.body_md.split())
        return text if len(text) <= 300 else text[:297] + "\u2026"


async def open_safety_items(
    session: AsyncSession, *, kind: ReviewKind, limit: int = 50
) -> list[SafetyItem]:
    """Open items of one kind, oldest first (a crisis waiting longest matters most)."""
    rows = await session.execute(
        select(
            SafetyReview.id,
            SafetyReview.kind,
            SafetyReview.detail,
            SafetyReview.created_at,
            Post.id.label("post_id"),
            Post.discussion_id,
            Discussion.title.label("discussion_title"),
            User.username.label("author"),
            User.role.label("author_role"),
            Post.body_md,
            Post.status,
            Post.deleted_at.is_not(None).label("deleted"),
        )
        .join(Post, Post.id == SafetyReview.post_id)
        .join(Discussion, Discussion.id == Post.discussion_id)
        .join(User, User.id == Post.author_id)
        .where(
            SafetyReview.resolved_at.is_(None),
            SafetyReview.kind == kind.value,
            or_(Post.deleted_at.is_(None), SafetyReview.kind == ReviewKind.crisis.value),
        )
        .order_by(SafetyReview.priority, SafetyReview.created_at, SafetyReview.id)
        .limit(limit)
    )
    return [SafetyItem(**row._mapping) for row in rows.all()]


async def mark_reviewed(
    session: AsyncSession, *, moderator: User, review_id: int, reason: str = ""
) -> SafetyReview:
    check_permission(moderator, Action.moderate)
    review = await session.get(SafetyReview, review_id)
    if review is None:
        raise NotFound("There is no queue item with that number.")
    done = await session.execute(
        update(SafetyReview)
        .where(SafetyReview.id == review_id, SafetyReview.resolved_at.is_(None))
        .values(
            resolved_at=utcnow(), resolved_by_id=moderator.id, resolved_by_name=moderator.username
        )
    )
    if not getattr(done, "rowcount", 0):
        await session.refresh(review)
        raise Conflict(
            f"This item was already reviewed by {review.resolved_by_name}.",
            code="already_resolved",
            extra={"resolved_by": review.resolved_by_name},
        )
    await audit.record(
        session,
        actor=moderator,
        action="review_" + review.kind,
        target_type="post",
        target_id=review.post_id,
        target_label=f"post #{review.post_id}: {REVIEW_LABELS[ReviewKind(review.kind)].lower()}",
        reason=reason,
    )
    await session.refresh(review)
    return review
