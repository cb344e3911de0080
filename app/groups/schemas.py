from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.core.validation import user_text


GroupName = user_text(max_length=120)
GroupDescription = user_text(max_length=2000, allow_blank=True)


class GroupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slug: str = Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=80)
    name: GroupName
    description: GroupDescription = ""


class GroupOut(BaseModel):
    slug: str
    name: str
    description: str
    discussion_count: int
    last_activity_at: datetime | None
    url: str


class DiscussionSummaryOut(BaseModel):
    id: int
    title: str
    author: str
    group: str
    reply_count: int
    created_at: datetime
    last_activity_at: datetime
    url: str


class DiscussionListOut(BaseModel):
    items: list[DiscussionSummaryOut]
    next_cursor: str | None
