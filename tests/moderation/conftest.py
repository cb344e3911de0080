"""Fixtures for the moderation tests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from app.accounts.models import User
from app.db import utcnow


@pytest.fixture
def make_flagger(app: Any, make_user: Any) -> Any:
    """A member whose flags count toward hiding a post: an account two months old (the
    other way in, a verified e-mail and a published post, is tested on its own)."""

    async def factory(username: str | None = None) -> User:
        user = await make_user(username)
        async with app.state.db.sessionmaker() as s:
            await s.execute(
                update(User)
                .where(User.id == user.id)
                .values(created_at=utcnow() - timedelta(days=60))
            )
            await s.commit()
        return user

    return factory
