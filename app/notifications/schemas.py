from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class FollowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: Literal["watching", "normal", "muted"] = Field(
        default="watching",
        description="watching: every reply; normal: mentions and replies to you; "
        "muted: nothing, mentions included",
    )


class FollowOut(BaseModel):
    level: str | None = Field(description="the level, or null when not following")


class AutoFollowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    auto_follow: bool = False


class SuggestionOut(BaseModel):
    username: str
    role: str
    badge: str | None
    participant: bool = Field(description="has posted in the discussion asked about")


class NotificationOut(BaseModel):
    id: int
    kind: str = Field(
        description="mention, reply_to_you, watched_reply, new_discussion or moderation"
    )
    text: str
    message: str
    actor: str | None
    post_id: int | None
    discussion_id: int | None
    discussion_title: str | None
    created_at: datetime
    read: bool
    url: str | None = Field(description="the post it is about (a redirect to its page)")


class NotificationListOut(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None
    unread: int = Field(description=f"unread notifications, counted up to {100}")


class UnreadOut(BaseModel):
    unread: int
