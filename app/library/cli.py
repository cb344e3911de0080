"""`kindred library import` and `kindred library import-trials`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress

from app.config import get_settings
from app.library.content import ContentError, PageContent

library_cli = typer.Typer(help="The health library's content.", no_args_is_help=True)
console = Console()


def _no_upgrade() -> None:
    return None


# app/cli.py sets this to its `upgrade_database` (imported there, so no cycle)
upgrade_database: Callable[[], None] = _no_upgrade


def upgrade_database_hook() -> None:
    upgrade_database()


def _print_errors(errors: list) -> None:  # type: ignore[type-arg]
    for error in errors:
        console.print(
            f"[red]{error.file}[/red]: [bold]{error.field}[/bold]: {error.reason}", highlight=False
        )


async def _in_transaction(work, dry_run: bool):  # type: ignore[no-untyped-def]
    """Run `work(session)` in one transaction: committed, or (dry run, or any error) rolled
    back, so an import is all or nothing. The servers' page caches hear of the commit
    (app/cache)."""
    from app.cache.setup import command_bus
    from app.db import Database

    settings = get_settings()
    db = Database(settings.resolved_database_url)
    try:
        async with command_bus(settings), db.sessionmaker() as session:
            result = await work(session)
            if dry_run:
                await session.rollback()
            else:
                await session.commit()
            return result
    finally:
        await db.dispose()


@library_cli.command("import")
def import_command(
    paths: Annotated[list[Path], typer.Argument(help="content files, or folders of *.md files")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="check the files only")] = False,
) -> None:
    """Import condition pages: every file is checked first, then all are imported in one
    transaction, or none."""
    from app.library.content import (
        ContentErrors,
        collect_files,
        duplicate_slugs,
        parse_page_file,
    )
    from app.library.service import check_groups, import_pages

    files = collect_files(paths)
    if not files:
        console.print("[red]No content files found.[/red]")
        raise typer.Exit(2)
    pages: list[PageContent] = []
    errors: list[ContentError] = []
    with Progress(console=console) as progress:
        task = progress.add_task("Checking", total=len(files))
        for path in files:
            try:
                pages.append(parse_page_file(path))
            except ContentErrors as exc:
                errors.extend(exc.errors)
            progress.update(task, advance=1, description=f"Checking {path.name[:40]}")
    upgrade_database_hook()

    async def work(session):  # type: ignore[no-untyped-def]
        # every error at once: the files', duplicate slugs, unknown groups
        found = errors + duplicate_slugs(pages)
        try:
            await check_groups(session, pages)
        except ContentErrors as exc:
            found.extend(exc.errors)
        if found:
            raise ContentErrors(found)
        with Progress(console=console) as progress:
            task = progress.add_task("Importing", total=len(pages))

            def step(slug: str) -> None:
                progress.update(task, advance=1, description=f"Imported {slug[:40]}")

            return await import_pages(session, pages=pages, progress=step)

    try:
        summary = asyncio.run(_in_transaction(work, dry_run))
    except ContentErrors as exc:
        _print_errors(exc.errors)
        console.print(f"[red]{len(exc.errors)} error(s): nothing was imported.[/red]")
        raise typer.Exit(1) from None
    verb = "Would import" if dry_run else "Imported"
    console.print(
        f"[green]{verb} {len(pages)} page(s): {len(summary.created)} new, "
        f"{len(summary.updated)} updated.[/green]"
    )


@library_cli.command("import-trials")
def import_trials_command(
    file: Annotated[Path, typer.Argument(help="ClinicalTrials.gov API v2 JSON (studies[])")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="check the file only")] = False,
) -> None:
    """Import studies from ClinicalTrials.gov's API v2 format and attach each to the pages
    whose title or "also called" names one of its conditions."""
    from app.library.content import ContentErrors, parse_ctgov_studies
    from app.library.service import import_trials

    try:
        trials = parse_ctgov_studies(file.read_text(encoding="utf-8"), str(file))
    except (OSError, UnicodeDecodeError) as exc:
        console.print(f"[red]{file}: {exc}[/red]")
        raise typer.Exit(2) from None
    except ContentErrors as exc:
        _print_errors(exc.errors)
        console.print(f"[red]{len(exc.errors)} error(s): nothing was imported.[/red]")
        raise typer.Exit(1) from None
    upgrade_database_hook()

    async def work(session):  # type: ignore[no-untyped-def]
        return await import_trials(session, trials=trials)

    attached = asyncio.run(_in_transaction(work, dry_run))
    for registry_id, slugs in attached.items():
        where = ", ".join(f"/library/{s}" for s in slugs) or "no page (no condition matched)"
        console.print(f"{registry_id}: {where}", highlight=False)
    verb = "Would import" if dry_run else "Imported"
    noun = "study" if len(trials) == 1 else "studies"
    console.print(f"[green]{verb} {len(trials)} {noun}.[/green]")
