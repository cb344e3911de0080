"""How much is waiting in the moderation queue, for the page header of moderators.

A column, not a query of its own: it rides on the sign-in look-up behind every request
(`accounts.service.SESSION_LOOKUP`), inside a CASE on the member's role, so the database
counts only for moderators and administrators (SQLite and PostgreSQL evaluate a CASE
branch's subqueries only when the branch is taken) and members' requests pay nothing.
Both counts are read from indexes (ix_flags_open, ix_posts_status_created) and stop at
QUEUE_CAP (the header shows "99+").
Imports models and `core.rows` only: the accounts package reads it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, case, func, or_, select

from app.accounts.models import Role
from app.core.rows import inline
from app.discussions.models import Post, Visibility
from app.moderation.models import Flag

QUEUE_CAP = 100
MODERATING_ROLES = (Role.moderator.value, Role.admin.value)


def _capped_count(inner: Any) -> Any:
    capped = inner.limit(inline(QUEUE_CAP)).subquery()
    return select(func.count()).select_from(capped).scalar_subquery()


def open_queue_column(role: Any) -> ColumnElement[int]:
    """Posts with open flags plus posts awaiting approval (what /mod/queue lists), for a
    viewer whose role is `role`; 0 for everyone else."""
    flagged = select(Flag.post_id).where(Flag.resolved_at.is_(None)).distinct()
    pending = (
        select(inline(1))
        .select_from(Post)
        .where(Post.status == inline(Visibility.pending.value), Post.deleted_at.is_(None))
    )
    return case(
        # two comparisons, not IN: hot reads take no expanding parameters (core/rows.py);
        # the constants inline, so PostgreSQL keeps one plan for the look-up (`inline`)
        (
            or_(*(role == inline(value) for value in MODERATING_ROLES)),
            _capped_count(flagged) + _capped_count(pending),
        ),
        else_=inline(0),
    )
