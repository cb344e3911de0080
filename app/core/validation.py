"""The one place where text typed by people is checked before it is stored."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from app.core.errors import Invalid
from app.core.text import has_visible_text

# ids are 32-bit integers in the database; larger numbers are refused before any query
MAX_ID = 2_147_483_647
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


def whole_number(
    value: str | None, field: str, *, default: int | None = None, high: int = MAX_ID
) -> int:
    """A number from a path or query string (plain routes parse their own): 1 to `high`,
    or `default` when absent; anything else is a 422 naming the field."""
    if value is None and default is not None:
        return default
    if value is not None and value.isascii() and value.isdigit() and len(value) <= 10:
        number = int(value)
        if 1 <= number <= high:
            return number
    raise Invalid(f"{field} must be a whole number from 1 to {high}.", field=field)


def check_storable(value: str) -> str:
    # PostgreSQL cannot store NUL in text, and lone surrogates are not Unicode text at all:
    # refuse both on every database alike instead of failing at the INSERT.
    if "\x00" in value:
        raise ValueError("contains a NUL character, which cannot be stored")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("contains an invalid Unicode character (a lone surrogate)") from None
    return value


def is_storable(value: str) -> bool:
    """Whether a database can hold this text (used before look-ups by name or slug, where a
    NUL would make PostgreSQL fail instead of simply finding nothing)."""
    try:
        check_storable(value)
    except ValueError:
        return False
    return True


def check_not_blank(value: str) -> str:
    if not has_visible_text(value):
        raise ValueError("must not be empty")
    return value


Storable = AfterValidator(check_storable)
NotBlank = AfterValidator(check_not_blank)
