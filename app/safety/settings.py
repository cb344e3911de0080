"""The member's country: the region their phone numbers are read in, and whose crisis
resources they are shown."""

from __future__ import annotations

from functools import cache

import phonenumbers
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.permissions import Action, check_permission
from app.accounts.models import User
from app.core.errors import Invalid
from app.safety.crisis import normalize_country


@cache
def country_choices() -> list[tuple[str, str]]:
    """(code, name) of every region the phone-number library knows, by name."""
    from phonenumbers import geocoder

    # the library's own English names (a private helper: the code stands in if it goes)
    display_name = getattr(geocoder, "_region_display_name", None)
    choices = []
    for code in phonenumbers.SUPPORTED_REGIONS:
        name = str(display_name(code, "en") or code) if display_name is not None else code
        choices.append((code, name))
    return sorted(choices, key=lambda c: c[1])


def known_country(code: str) -> bool:
    return code in phonenumbers.SUPPORTED_REGIONS


async def set_country(session: AsyncSession, *, user: User, country: str) -> User:
    """Set (or with "" clear) the member's country."""
    check_permission(user, Action.edit_own_profile)
    if country.strip() == "":
        user.country = None
    else:
        code = normalize_country(country)
        if code is None or not known_country(code):
            raise Invalid("Choose a country from the list.", field="country")
        user.country = code
    await session.flush()
    return user
