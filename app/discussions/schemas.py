from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.core.validation import Id, NotBlank, Storable
from app.safety.schemas import CONFIRM_DESCRIPTION, SupportOut

TITLE_MAX = 200
BODY_MAX = 20_000

Title = Annotated[str, Field(max_length=TITLE_MAX), Storable, NotBlank]
Body = Annotated[str, Field(max_length=BODY_MAX), Storable, NotBlank]
ClientKey = Annotated[str, Field(max_length=64), Storable, NotBlank]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DiscussionCreateIn(Strict):
    title: Title
    body: Body
    client_key: ClientKey | None = Field(
        default=None, description="idempotency key: the same key creates one discussion"
    )
    confirm_personal_information: bool = Field(default=False, description=CONFIRM_DESCRIPTION)


class ReplyIn(Strict):
    body: Body
    reply_to: Id | None = Field(default=None, description="the post answered, if not the question")
    client_key: ClientKey | None = None
    canned_response_id: Id | None = Field(
        default=None,
        description="the canned response this reply started from (its use is counted); "
        "ignored for members",
    )
    confirm_personal_information: bool = Field(default=False, description=CONFIRM_DESCRIPTION)


class PostPatchIn(Strict):
    body: Body
    title: Title | None = Field(default=None, description="only for a discussion's first post")
    reason: str = Field(default="", max_length=500)
    confirm_personal_information: bool = Field(default=False, description=CONFIRM_DESCRIPTION)


class ReactionIn(Strict):
    kind: str = Field(pattern="^(helpful|hug)$")
    active: bool | None = Field(default=None, description="omit to toggle")


class AuthorOut(BaseModel):
    username: str
    role: str
    badge: str | None


class PostOut(BaseModel):
    id: int
    discussion_id: int
    author: AuthorOut
    reply_to: int | None
    depth: int
    is_opening: bool
    body: str | None
    body_html: str | None
    created_at: datetime
    edited_at: datetime | None
    deleted: bool
    status: str = Field(description="visible, pending (awaiting review) or hidden")
    reactions: dict[str, int]
    my_reactions: list[str] = []
    url: str
    footer: str | None = Field(
        default=None, description="under a volunteer mentor's post: not medical advice"
    )
    mentions: list[str] = Field(
        default=[], description="members this post mentions (in answers to writing it)"
    )
    unknown_mentions: dict[str, list[str]] = Field(
        default={},
        description="@names that are nobody's, each with the closest usernames (did you mean)",
    )
    support: SupportOut | None = Field(
        default=None,
        description="crisis resources for the author, when the post just written reads as a "
        "crisis (only in the answer to writing it)",
    )


class DiscussionOut(BaseModel):
    id: int
    title: str
    slug: str
    group: str
    author: AuthorOut
    reply_count: int
    created_at: datetime
    last_activity_at: datetime
    url: str
    support: SupportOut | None = Field(
        default=None, description="crisis resources for the author (see PostOut.support)"
    )


class DiscussionPageOut(BaseModel):
    discussion: DiscussionOut
    page: int
    pages: int
    posts: list[PostOut]


class ReactionStateOut(BaseModel):
    post_id: int
    kind: str
    active: bool
    counts: dict[str, int]


class RevisionOut(BaseModel):
    editor: str
    title: str | None
    body: str
    reason: str
    created_at: datetime
