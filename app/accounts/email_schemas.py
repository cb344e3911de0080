"""Schemas for e-mail preferences, verification and password reset (API and HTML forms)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.accounts.schemas import Email, Password, Strict

Mode = Literal["immediately", "daily", "never"]


class EmailPreferencesIn(Strict):
    """How often to e-mail each kind of notification; kinds left out keep their setting."""

    mention: Mode | None = None
    reply_to_you: Mode | None = None
    watched_reply: Mode | None = None
    new_discussion: Mode | None = None
    moderation: Mode | None = None


class EmailPreferencesOut(BaseModel):
    mention: Mode
    reply_to_you: Mode
    watched_reply: Mode
    new_discussion: Mode
    moderation: Mode
    email_verified: bool = Field(
        description="notification e-mail is sent only to verified addresses"
    )


class VerificationOut(BaseModel):
    queued: bool = Field(
        description="false when the address is verified or a message was just sent"
    )
    detail: str


class VerifyEmailIn(Strict):
    token: str = Field(min_length=1, max_length=200)


class PasswordResetRequestIn(Strict):
    email: Email


class PasswordResetIn(Strict):
    token: str = Field(min_length=1, max_length=200)
    new_password: Password


class NewPasswordIn(Strict):
    new_password: Password


class DetailOut(BaseModel):
    detail: str
