from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.validation import Storable

CONFIRM_DESCRIPTION = (
    "publish although the personal-information check found something (the author has "
    "seen the findings); without it such a post is refused with 422 personal_information"
)


class ResourceOut(BaseModel):
    name: str
    phone: str
    text: str
    url: str


class SupportOut(BaseModel):
    """Shown to the author of a post that reads as a crisis (never to anyone else)."""

    kind: str = Field(description='"crisis"')
    resources: list[ResourceOut]


class CheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, Field(max_length=200), Storable] = ""
    body: Annotated[str, Field(max_length=20_000), Storable] = ""


class FindingOut(BaseModel):
    kind: str = Field(description="phone, email, address, date_of_birth or record_number")
    text: str
    start: int
    end: int
    field: str = Field(description="title or body: the offsets are into this field")
    label: str
    placeholder: str = Field(description='what "Remove it" puts in its place')


class AdviceOut(BaseModel):
    text: str
    start: int
    end: int


class CheckOut(BaseModel):
    findings: list[FindingOut]
    advice: list[AdviceOut] = Field(description="phrases that read as medical instructions")
    advice_hint: str | None


class DeleteAccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(min_length=1, max_length=1000, description="your current password")
    mode: Literal["anonymize", "delete_posts"] = Field(
        description="anonymize: your posts stay, by a former member; delete_posts: they "
        "become deleted placeholders"
    )


class SafetyItemOut(BaseModel):
    id: int
    kind: str = Field(description="crisis or personal_information")
    label: str
    detail: str
    created_at: datetime
    post_id: int
    discussion_id: int
    discussion_title: str
    author: str
    excerpt: str
    status: str
    deleted: bool = Field(description="the post was deleted (a crisis item stays)")
    url: str


class ReviewedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(max_length=1000), Storable] = ""


class ReviewedOut(BaseModel):
    id: int
    resolved_by: str | None
    resolved_at: datetime | None
