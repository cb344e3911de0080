"""A group page reads its pinned discussions through an index, not every discussion.

The page asks for the group's pinned discussions before the rest; without an index on
pinned_at it read every discussion of the group to find the few pinned (bench: 3.4 ms of a
group page at 1,700 discussions a group). The bench times it; this holds the structure:
SQLite's plan of every statement the page sends that looks for pinned discussions reaches
them through an index on the group and pinned_at, with no scan of the group's discussions
(the same statement reads the page's other discussions, by an index too).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from app.demo.seed import load_demo
from app.groups.models import Group
from tests.plans import plans_of_page


async def test_the_pinned_discussions_come_from_an_index(
    app: Any, engine: Any, session: Any, make_client: Any
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("the plan shown on an empty table is SQLite's")
    discussion = await load_demo(session, app.state.hasher)
    await session.commit()
    slug = await session.scalar(select(Group.slug).where(Group.id == discussion.group_id))
    plans = await plans_of_page(
        engine,
        session,
        await make_client(),
        f"/groups/{slug}",
        sent_if=lambda statement: "discussions.pinned_at IS NOT NULL" in statement,
    )
    assert plans, "the group page no longer asks for pinned discussions"
    for _statement, plan in plans:
        steps = [step for step in plan if "discussions" in step]
        # the page's one statement (groups.service.page_of_group) also reads one page of
        # the group's other discussions, through the group's activity index
        assert any("pinned_at>?" in step for step in steps), steps
        assert all(step.startswith("SEARCH discussions USING") for step in steps), steps
