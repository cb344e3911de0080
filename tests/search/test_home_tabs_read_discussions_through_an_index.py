"""The home page's Latest and Unanswered tabs read the newest discussions through an index.

Each tab asks for the ten newest discussions of every group; without an index on the order
the database sorts all of them per page (bench --scale large: 110-650 ms a home page on
SQLite, 170-500 ms on PostgreSQL, at 50,000 discussions; 0.3 ms with it). What the bench
times, this holds as structure: every statement the tabs send that orders discussions by
activity or age is planned without a sort of its own. SQLite's planner shows this on an
empty table; PostgreSQL's rightly sorts a handful of rows, so the check is SQLite's.
"""

from __future__ import annotations

from typing import Any

import pytest

from app.demo.seed import load_demo
from tests.plans import plans_of_page


@pytest.mark.parametrize("tab", ["latest", "unanswered"])
async def test_the_home_tabs_sort_no_discussions_themselves(
    app: Any, engine: Any, session: Any, make_client: Any, tab: str
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("the plan shown on an empty table is SQLite's")
    await load_demo(session, app.state.hasher)
    await session.commit()
    plans = await plans_of_page(
        engine,
        session,
        await make_client(),
        f"/?tab={tab}",
        sent_if=lambda st: "FROM discussions" in st and "ORDER BY discussions." in st,
    )
    assert plans, "the tab sent no statement ordering discussions"
    for statement, plan in plans:
        assert not any("TEMP B-TREE FOR ORDER BY" in step for step in plan), (statement, plan)
