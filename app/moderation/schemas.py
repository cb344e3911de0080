from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.accounts.models import Role
from app.core.validation import NotBlank, Storable
from app.safety.schemas import SafetyItemOut

Reason = Annotated[str, Field(max_length=1000), Storable]
Note = Annotated[str, Field(max_length=1000), Storable]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FlagIn(Strict):
    reason: str = Field(
        description="spam, misinformation, personal_information, abusive, "
        "off_topic or other (a note is then required)"
    )
    note: Note = ""


class FlagOut(BaseModel):
    id: int
    post_id: int
    reason: str
    hidden: bool = Field(description="this flag hid the post pending review")


class ResolveIn(Strict):
    action: Literal["dismiss", "hide", "delete"]
    reason: Reason = ""


class ActionIn(Strict):
    reason: Reason = ""


class ModEditIn(Strict):
    body: Annotated[str, Field(max_length=20_000), Storable, NotBlank]
    reason: Annotated[str, Field(max_length=1000), Storable, NotBlank]


class DiscussionModIn(Strict):
    locked: bool | None = None
    pinned: bool | None = None
    group: str | None = Field(default=None, max_length=80, description="slug to move it to")
    reason: Reason = ""


class SuspensionIn(Strict):
    """A suspension, as the moderator's page form and the API both send it."""

    days: int | None = Field(
        default=None, ge=1, le=3650, description="how many days; omit for until lifted"
    )
    reason: Reason = Field(default="", description="required to suspend; the member sees it")

    def until(self, now: datetime) -> datetime | None:
        return now + timedelta(days=self.days) if self.days else None


class MemberModIn(SuspensionIn):
    role: Role | None = None
    suspend: bool | None = None
    suspended_until: datetime | None = Field(
        default=None, description="end of the suspension (instead of days); omit for indefinite"
    )


class MemberModOut(BaseModel):
    username: str
    role: str
    suspended: bool
    suspended_until: datetime | None
    suspension_reason: str


class QueueItemOut(BaseModel):
    post_id: int
    discussion_id: int
    discussion_title: str
    author: str
    excerpt: str
    status: str
    flag_count: int
    first_flagged_at: datetime | None
    first_flag_id: int | None
    reasons: dict[str, int]
    notes: list[str]
    url: str


class QueueOut(BaseModel):
    crisis: list[SafetyItemOut] = Field(
        default=[], description="possible crisis: first, before everything else"
    )
    flagged: list[QueueItemOut]
    pending: list[QueueItemOut]
    personal_information: list[SafetyItemOut] = Field(
        default=[], description="personal information confirmed by the author: low priority"
    )


class AuditEntryOut(BaseModel):
    id: int
    actor: str
    action: str
    target_type: str
    target_id: int | None
    target: str
    reason: str
    created_at: datetime


class AuditPageOut(BaseModel):
    entries: list[AuditEntryOut]
    next_before: int | None


class SiteSettingsIn(Strict):
    flag_hide_threshold: int | None = Field(default=None, ge=1, le=100)
    hold_first_posts: int | None = Field(default=None, ge=0, le=100)
    flag_trust_posts: int | None = Field(
        default=None,
        ge=0,
        le=1000,
        description="published posts (with a verified e-mail) before a member's flags count "
        "toward hiding a post automatically",
    )
    flag_trust_days: int | None = Field(
        default=None,
        ge=0,
        le=3650,
        description="or: days since the account was created",
    )


SETTINGS_FIELDS = ("flag_hide_threshold", "hold_first_posts", "flag_trust_posts", "flag_trust_days")


class SiteSettingsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    flag_hide_threshold: int
    hold_first_posts: int
    flag_trust_posts: int
    flag_trust_days: int
