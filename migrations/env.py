"""Alembic environment: async engine, batch mode so the same revisions serve SQLite."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from app.config import get_settings
from app.db import UTCDateTime, make_engine
from app.models import Base

config = context.config
target_metadata = Base.metadata


def database_url() -> str:
    return config.attributes.get("database_url") or get_settings().resolved_database_url


def render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    # revisions carry plain SQLAlchemy types, never app code
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


SEARCH_ENGINE_OBJECTS = frozenset(
    (
        "tsv",
        "title_tsv",
        "ix_search_documents_tsv",
        "ix_search_documents_title_tsv",
        "ix_search_documents_title_age",
        "ix_search_documents_exact_title",
        "ix_search_recent_tsv",
    )
)


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    # the search engines' own objects, created by raw SQL in the search migrations: the FTS5
    # tables and their shadow tables (SQLite), the stored tsvectors and their indexes
    # (PostgreSQL; s19pg's GIN over a title's words and its id, and the exact titles')
    if reflected and name is not None:
        if type_ == "table" and name.startswith("search_fts"):
            return False
        # PostgreSQL: the newest documents' words (migration r21pgrecent)
        if type_ == "table" and name == "search_recent":
            return False
        if name in SEARCH_ENGINE_OBJECTS:
            return False
        # SQLite: documents' and replies' facts without their bodies, read by the search
        # (migration q22sqlite, `INDEXED BY` in app/search/engine.py)
        if name in (
            "ix_search_documents_facts",
            "ix_search_documents_title_facts",
            "ix_posts_answers",
        ):
            return False
    return True


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        render_item=render_item,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    engine = make_engine(database_url())
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
    await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
    else:
        asyncio.run(run_async_migrations())


if context.is_offline_mode():
    context.configure(url=database_url(), target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
