"""The home page's tabs: Latest, Unanswered (everyone, as a filter) and Following (the
discussions and groups a member follows)."""

from __future__ import annotations

from sqlalchemy import not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Actor
from app.discussions.models import Discussion
from app.groups.service import DiscussionRow, list_discussions, summary_query
from app.notifications.models import DiscussionFollow, GroupFollow
from app.search.engine import answered

TABS = ("latest", "unanswered", "following")
HOME_SIZE = 10


async def home_tab(
    session: AsyncSession, *, tab: str, viewer: Actor | None, limit: int = HOME_SIZE
) -> list[DiscussionRow]:
    if tab == "unanswered":
        stmt = (
            summary_query(viewer is not None)
            .where(not_(answered()))
            .order_by(Discussion.created_at.desc(), Discussion.id.desc())
        )
    elif tab == "following" and viewer is not None:
        followed = select(DiscussionFollow.discussion_id).where(
            DiscussionFollow.user_id == viewer.id, DiscussionFollow.level != "muted"
        )
        groups = select(GroupFollow.group_id).where(
            GroupFollow.user_id == viewer.id, GroupFollow.level != "muted"
        )
        stmt = (
            summary_query(viewer is not None)
            .where(or_(Discussion.id.in_(followed), Discussion.group_id.in_(groups)))
            .order_by(Discussion.last_activity_at.desc(), Discussion.id.desc())
        )
    elif tab == "following":
        return []
    else:
        return (await list_discussions(session, group_id=None, limit=limit, viewer=viewer)).items
    rows = (await session.execute(stmt.limit(limit))).all()
    return [DiscussionRow(*row) for row in rows]
