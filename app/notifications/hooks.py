"""Where discussions and moderation tell the notification system what happened.

Called inside the request's transaction, so notifications and outbox rows are written with
the post or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.core.markdown import render_markdown
from app.discussions.models import Discussion, Post


@dataclass(slots=True)
class RenderedBody:
    html: str
    mentioned_user_ids: list[int] = field(default_factory=list)
    mentioned_usernames: list[str] = field(default_factory=list)
    # unknown @names with the closest existing usernames ("did you mean")
    unknown_mentions: dict[str, list[str]] = field(default_factory=dict)


async def render_body(session: AsyncSession, body: str) -> RenderedBody:
    """Markdown to sanitized HTML, with @mentions of existing members linked."""
    return RenderedBody(html=render_markdown(body))


async def post_published(
    session: AsyncSession, *, post: Post, discussion: Discussion, author: User
) -> None:
    """A post became visible to everybody (on creation, or when approved or restored)."""


async def post_edited(
    session: AsyncSession, *, post: Post, discussion: Discussion, editor: User, previous_body: str
) -> None:
    """A visible post's text changed; only newly added mentions are notified."""


async def moderation_notice(
    session: AsyncSession, *, user_id: int, post_id: int | None, message: str
) -> None:
    """Tell a member what moderation did to their content."""
