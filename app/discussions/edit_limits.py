"""How often a post may change: at most `REVISIONS_PER_POST_HOUR` revisions of one post in
an hour (each edit keeps a revision and renders the text again), on top of the per-member
edit rate limit the routes apply (core.ratelimit "edit_user")."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import RateLimited
from app.db import utcnow
from app.discussions.models import PostRevision

REVISIONS_PER_POST_HOUR = 10


async def check_revision_budget(session: AsyncSession, *, post_id: int) -> None:
    since = utcnow() - timedelta(hours=1)
    recent = await session.scalar(
        select(func.count())
        .select_from(PostRevision)
        .where(PostRevision.post_id == post_id, PostRevision.created_at > since)
    )
    if (recent or 0) >= REVISIONS_PER_POST_HOUR:
        raise RateLimited(
            f"This post has been edited {REVISIONS_PER_POST_HOUR} times in the last hour. "
            "Please wait before editing it again.",
            code="too_many_revisions",
            headers={"Retry-After": "600"},
            extra={"retry_after": 600},
        )
