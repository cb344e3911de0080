from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.validation import NotBlank, Storable

GroupName = Annotated[str, Field(max_length=120), Storable, NotBlank]
GroupDescription = Annotated[str, Field(max_length=2000), Storable]


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
    # read-only and out of the listings (administrators archive groups at /admin/groups)
    archived: bool = False
    visibility: str = Field(
        default="public", description="public, or members (signed-in members only)"
    )


class GroupPatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    visibility: Literal["public", "members"]
    reason: str = Field(default="", max_length=1000)


class DiscussionSummaryOut(BaseModel):
    id: int
    title: str
    author: str
    group: str
    reply_count: int
    created_at: datetime
    last_activity_at: datetime
    pinned: bool = False
    locked: bool = False
    url: str


class DiscussionListOut(BaseModel):
    pinned: list[DiscussionSummaryOut] = Field(
        default_factory=list, description="pinned discussions (first page only)"
    )
    items: list[DiscussionSummaryOut]
    next_cursor: str | None


class GroupEditIn(BaseModel):
    """What an administrator may change of a group (its address stays)."""

    model_config = ConfigDict(extra="forbid")
    name: GroupName
    description: GroupDescription = ""
