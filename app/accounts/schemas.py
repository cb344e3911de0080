from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.accounts.names import username_problem
from app.core.validation import Storable

EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
PASSWORD_MIN = 8
PASSWORD_MAX = 256


def check_username(value: str) -> str:
    problem = username_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def check_email(value: str) -> str:
    value = value.strip()
    if len(value) > 254 or not EMAIL_RE.fullmatch(value):
        raise ValueError("enter an e-mail address such as name@example.org")
    return value


def check_password(value: str) -> str:
    if len(value) < PASSWORD_MIN:
        raise ValueError(f"use at least {PASSWORD_MIN} characters")
    if len(value) > PASSWORD_MAX:
        raise ValueError(f"use at most {PASSWORD_MAX} characters")
    return value


Username = Annotated[str, Field(max_length=30), AfterValidator(check_username)]
Email = Annotated[str, Field(max_length=320), AfterValidator(check_email)]
Password = Annotated[str, Field(max_length=PASSWORD_MAX), AfterValidator(check_password)]
Bio = Annotated[str, Field(max_length=1000), Storable]


class Strict(BaseModel):
    # unknown fields (role, status, ...) are refused, never applied
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class RegisterIn(Strict):
    username: Username
    email: Email
    password: Password


class TokenIn(Strict):
    username: str = Field(min_length=1, max_length=320, description="username or e-mail")
    password: str = Field(min_length=1, max_length=PASSWORD_MAX)
    name: str = Field(default="", max_length=100, description="a label for this token")


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 (a scheme name, not a secret)
    expires_at: datetime


class ProfileUpdateIn(Strict):
    bio: Bio | None = Field(default=None, description="about you; left as it is when absent")
    country: str | None = Field(
        default=None,
        max_length=10,
        description='ISO 3166 alpha-2 code (phone numbers, crisis helplines); "" clears it',
    )


class PasswordChangeIn(Strict):
    current_password: str = Field(min_length=1, max_length=PASSWORD_MAX)
    new_password: Password


class EmailChangeIn(Strict):
    current_password: str = Field(min_length=1, max_length=PASSWORD_MAX)
    new_email: Email


class RegisterConfirmIn(Strict):
    token: str = Field(min_length=1, max_length=100)


class EmailChangeConfirmIn(Strict):
    token: str = Field(min_length=1, max_length=600)


class RegistrationOut(BaseModel):
    detail: str


class PublicUserOut(BaseModel):
    username: str
    role: str
    badge: str | None
    bio: str
    joined_at: datetime
    post_count: int


class MeOut(PublicUserOut):
    id: int
    email: str
    country: str | None = None


class ApiTokenOut(BaseModel):
    """A token as its owner sees it in a list: never the secret itself."""

    id: int
    name: str
    client: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime
    current: bool = False
