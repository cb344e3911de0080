"""SQLite's query plans of the statements a page sends: the structure that keeps a page's
cost constant as the data grows (the bench measures the time)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event


async def plans_of_page(
    engine: Any, session: Any, client: Any, path: str, *, sent_if: Callable[[str], bool]
) -> list[tuple[str, list[str]]]:
    """GET `path`, and return each statement it sent that `sent_if` picks with the steps
    of its plan (`EXPLAIN QUERY PLAN`, run with the statement's own parameters)."""
    sent: list[tuple[str, tuple[Any, ...]]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if sent_if(statement):
            sent.append((statement, tuple(parameters)))

    event.listen(engine.sync_engine, "before_cursor_execute", keep)
    try:
        page = await client.get(path)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", keep)
    assert page.status_code == 200, page.status_code
    connection = await session.connection()
    plans = []
    for statement, parameters in sent:
        plan = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        plans.append((statement, [row[-1] for row in plan]))
    return plans


def assert_sends_only(statement: Any, sent: set[str]) -> None:
    """`statement` sends the database only the parameters named in `sent` (its keys): every
    constant is written into its text (`core.rows.inline`), so PostgreSQL keeps one plan
    for it instead of planning it again on every request."""
    from sqlalchemy.dialects import postgresql, sqlite

    from app.core.rows import compile_for

    compiled = compile_for(statement, postgresql.asyncpg.dialect())
    assert set(compiled.names) == sent, compiled.sql
    assert not compiled.defaults, compiled.defaults
    # SQLite plans every statement anyway; its compiler adds an OFFSET parameter to a LIMIT
    compiled = compile_for(statement, sqlite.dialect())
    assert {n for n in compiled.names if not n.startswith("param_")} == sent, compiled.sql
