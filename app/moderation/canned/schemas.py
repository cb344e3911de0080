"""Canned responses and appointment links: shared by the JSON API and the HTML forms."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.core.validation import Id, NotBlank, Storable
from app.moderation.canned.appointments import KEY_MAX, URL_MAX, check_destination_url, check_key

CannedTitle = Annotated[str, Field(max_length=120), Storable, NotBlank]
Category = Annotated[str, Field(max_length=60), Storable, NotBlank]
TemplateBody = Annotated[str, Field(max_length=20_000), Storable, NotBlank]

DestinationKey = Annotated[str, Field(max_length=KEY_MAX), AfterValidator(check_key)]
DestinationName = Annotated[str, Field(max_length=120), Storable, NotBlank]
DestinationUrl = Annotated[str, Field(max_length=URL_MAX), AfterValidator(check_destination_url)]
Description = Annotated[str, Field(max_length=2000), Storable]

BODY_HELP = (
    "Markdown with placeholders {member} (the member answered, as an @mention), {group}, "
    "{moderator} (who uses it) and {appointment:KEY} (a configured appointment link)"
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CannedIn(Strict):
    title: CannedTitle
    category: Category = "General"
    body: TemplateBody = Field(description=BODY_HELP)


class CannedPatchIn(Strict):
    title: CannedTitle | None = None
    category: Category | None = None
    body: TemplateBody | None = Field(default=None, description=BODY_HELP)
    retired: bool | None = Field(
        default=None, description="true retires it (like DELETE); false puts it back in use"
    )


class CannedOut(BaseModel):
    id: int
    key: str | None = Field(description="stable key of a built-in response; null for others")
    title: str
    category: str
    body: str
    usage_count: int
    retired: bool
    retired_at: datetime | None
    created_at: datetime
    updated_at: datetime
    appointment_keys: list[str]
    missing_appointments: list[str] = Field(
        description="appointment keys it links to that are no longer configured"
    )


class RenderIn(Strict):
    discussion_id: Id
    reply_to: Id | None = Field(
        default=None, description="the post being answered; omit to answer the question"
    )


class RenderOut(BaseModel):
    canned_response_id: int = Field(
        description="send it back as canned_response_id with the reply to count the use"
    )
    title: str
    markdown: str


class AppointmentIn(Strict):
    key: DestinationKey = Field(description="used in templates as {appointment:KEY}")
    name: DestinationName
    url: DestinationUrl = Field(description="https address of a named website")
    description: Description = ""


class AppointmentPatchIn(Strict):
    """The key cannot change: templates refer to it."""

    name: DestinationName | None = None
    url: DestinationUrl | None = None
    description: Description | None = None


class AppointmentOut(BaseModel):
    key: str
    name: str
    url: str
    description: str
    created_at: datetime
    updated_at: datetime
    used_by: list[str] = Field(description="titles of canned responses in use that link here")
