"""The `kindred` command."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from app.accounts.models import Role
from app.config import get_settings
from app.library import cli as library_commands

cli = typer.Typer(help="Kindred, a patient-community discussion forum.", no_args_is_help=True)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
users_cli = typer.Typer(help="Members and roles.", no_args_is_help=True)
groups_cli = typer.Typer(help="Condition groups.", no_args_is_help=True)
search_cli = typer.Typer(help="The search index.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(users_cli, name="users")
cli.add_typer(groups_cli, name="groups")
cli.add_typer(search_cli, name="search")
cli.add_typer(library_commands.library_cli, name="library")
console = Console()
ROOT = Path(__file__).resolve().parents[1]


def upgrade_database() -> None:
    from alembic import command
    from alembic.config import Config

    settings = get_settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = settings.resolved_database_url
    command.upgrade(cfg, "head")


library_commands.upgrade_database = upgrade_database


async def _with_session(work):  # type: ignore[no-untyped-def]
    from app.cache.setup import command_bus
    from app.core.security import PasswordHasher
    from app.db import Database

    settings = get_settings()
    db = Database(settings.resolved_database_url)
    hasher = PasswordHasher(fast=settings.env == "test")
    try:
        # the servers' page caches hear of what a command writes (app/cache)
        async with command_bus(settings), db.sessionmaker() as session:
            result = await work(session, hasher)
            await session.commit()
            return result
    finally:
        await db.dispose()


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    upgrade_database()
    console.print("[green]Database is up to date.[/green]")


def _run_demo(base_url: str | None = None) -> None:
    from app.core.urls import discussion_url
    from app.demo.seed import DEMO_PASSWORD, USERS, demo_step_count, load_demo

    with Progress(console=console) as progress:
        task = progress.add_task("Loading demo data", total=demo_step_count())

        def step(message: str) -> None:
            progress.update(task, advance=1, description=f"Demo: {message[:40]}")

        discussion = asyncio.run(_with_session(lambda s, h: load_demo(s, h, progress=step)))
    table = Table(title="Demo accounts (password for all: " + DEMO_PASSWORD + ")")
    table.add_column("username")
    table.add_column("role")
    for username, role, _bio in USERS:
        table.add_row(username, role.value)
    console.print(table)
    base = base_url or get_settings().base_url
    console.print(
        f"Sign in at {base}/login · the seed discussion: "
        f"{base}{discussion_url(discussion.id, discussion.slug)}"
    )
    console.print(f"The health library: {base}/library/infantile-neutropenia")


@cli.command()
def demo() -> None:
    """Load the demo groups, members and the seed discussion (safe to run again)."""
    upgrade_database()
    _run_demo()


def served_base_url(host: str, port: int) -> str:
    """The address a browser on this machine reaches `serve --host H --port P` at."""
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 (every interface: this machine is one)
        host = "127.0.0.1"
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    return f"http://{host}:{port}"


@cli.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    with_demo: Annotated[bool, typer.Option("--demo", help="load demo data first")] = False,
    reload: bool = False,
) -> None:
    """Apply migrations and serve the forum."""
    import os

    import uvicorn

    settings = get_settings()
    served = served_base_url(host, port)
    if "base_url" not in settings.model_fields_set and settings.env != "production":
        # links in e-mails lead to the server that sent them: the port served, not 8000
        # (the server processes, started below, read it from the environment)
        os.environ["KINDRED_BASE_URL"] = served
        get_settings.cache_clear()
    elif "base_url" not in settings.model_fields_set:
        console.print(
            "[yellow]KINDRED_BASE_URL is not set: links in e-mails will point to "
            f"{settings.base_url}. Set it to the public address, e.g. "
            "https://forum.example.org.[/yellow]"
        )
    upgrade_database()
    if with_demo:
        _run_demo(served)
    console.print(f"Kindred is at [bold]{served}[/bold] (Ctrl+C stops it)")
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        # X-Forwarded-For is read by the app itself, and only from KINDRED_TRUSTED_PROXIES
        # (app/core/ratelimit.client_ip): uvicorn believes nobody's forwarded headers
        proxy_headers=False,
        forwarded_allow_ips="",
        access_log=False,
        log_level="warning",
    )


@cli.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="send what is due, then exit")] = False,
) -> None:
    """Send queued e-mail from the outbox (run one or more next to `serve` in production,
    with KINDRED_EMAIL_WORKER_IN_PROCESS=false for the servers)."""
    from app.email.worker import run_worker_process

    settings = get_settings()
    target = (
        f"{settings.smtp_host}:{settings.smtp_port}"
        if settings.smtp_host
        else str(settings.var_dir / "mail")
    )
    if not once:
        console.print(f"Sending queued e-mail to {target} (Ctrl+C stops).")
    sent = asyncio.run(run_worker_process(settings, once=once))
    if once:
        console.print(f"Sent {sent} e-mail(s) to {target}.")


@users_cli.command("create")
def users_create(
    username: str,
    email: str,
    role: Annotated[Role, typer.Option(help="member, mentor, moderator or admin")] = Role.member,
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)
    ] = "",
) -> None:
    """Create a member with the given role."""
    from pydantic import ValidationError

    from app.accounts import service
    from app.accounts.schemas import RegisterIn
    from app.core.errors import DomainError

    try:
        data = RegisterIn(username=username, email=email, password=password)
    except ValidationError as exc:
        for err in exc.errors():
            console.print(f"[red]{err['loc'][0]}: {err['msg'].removeprefix('Value error, ')}[/red]")
        raise typer.Exit(2) from None
    try:
        asyncio.run(
            _with_session(
                lambda s, h: service.register(
                    s,
                    h,
                    username=data.username,
                    email=data.email,
                    password=data.password,
                    role=role,
                )
            )
        )
    except DomainError as exc:
        console.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from None
    console.print(f"[green]Created {username} ({role.value}).[/green]")


@users_cli.command("check-names")
def users_check_names(
    fix: Annotated[bool, typer.Option("--fix", help="rename them (else only report)")] = False,
) -> None:
    """Report accounts whose usernames no longer pass the username rule (a look-alike of a
    reserved name, or characters that may not appear); --fix renames them, as migration
    a10accounts did once."""
    from app.accounts.names import rename_plan
    from app.accounts.service import rename_accounts

    async def run(session, _hasher):  # type: ignore[no-untyped-def]
        from sqlalchemy import select

        from app.accounts.models import User

        rows = [(r.id, r.username) for r in await session.execute(select(User.id, User.username))]
        plan = rename_plan(sorted(rows), {name.lower() for _, name in rows})
        if fix:
            await rename_accounts(session, plan=[(i, new) for i, _old, new, _why in plan])
        return plan

    plan = asyncio.run(_with_session(run))
    if not plan:
        console.print("[green]Every username passes.[/green]")
        return
    table = Table(title=("Renamed" if fix else "Would rename (run with --fix)"))
    for column in ("id", "name", "new name", "why"):
        table.add_column(column)
    for account_id, old, new, why in plan:
        table.add_row(str(account_id), repr(old), new, why)
    console.print(table)
    if not fix:
        raise typer.Exit(1)


@users_cli.command("set-role")
def users_set_role(
    username: str,
    role: Role,
    reason: Annotated[str, typer.Option(help="kept in the audit log")] = "",
) -> None:
    """Change a member's role (audited: the log names "Kindred (command line)")."""
    from app.accounts.service import access_user
    from app.core.errors import Conflict, DomainError
    from app.moderation.service import set_role

    async def work(session, _hasher):  # type: ignore[no-untyped-def]
        member = await access_user(session, username)
        return await set_role(session, admin=None, member=member, role=role, reason=reason)

    try:
        asyncio.run(_with_session(work))
    except Conflict as exc:  # the member has that role already: nothing to do
        console.print(exc.detail)
        return
    except DomainError as exc:
        console.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from None
    console.print(f"[green]{username} is now {role.value}.[/green]")


@groups_cli.command("create")
def groups_create(slug: str, name: str, description: str = "") -> None:
    """Create a condition group."""
    from app.core.errors import DomainError
    from app.groups.schemas import GroupIn
    from app.groups.service import create_group

    data = GroupIn(slug=slug, name=name, description=description)
    try:
        asyncio.run(
            _with_session(
                lambda s, h: create_group(
                    s, slug=data.slug, name=data.name, description=data.description
                )
            )
        )
    except DomainError as exc:
        console.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from None
    console.print(f"[green]Created group /groups/{slug}.[/green]")


@search_cli.command("reindex")
def search_reindex() -> None:
    """Rebuild the search index from the posts and the library's published pages (it is kept
    current on every write; this is for data written around the app, such as the bench's
    bulk seed)."""
    from sqlalchemy import func, select

    from app.discussions.models import Post
    from app.library.service import index_for_search
    from app.search.index import rebuild

    async def work(session, hasher):  # type: ignore[no-untyped-def]
        total = int(await session.scalar(select(func.count()).select_from(Post)) or 0)
        with Progress(console=console) as progress:
            task = progress.add_task("Indexing posts", total=total)
            posts = await rebuild(session, progress=lambda n: progress.update(task, advance=n))
        return posts + await index_for_search(session)

    upgrade_database()
    count = asyncio.run(_with_session(work))
    console.print(f"[green]Indexed {count:,} documents (posts and library pages).[/green]")


def main() -> None:
    cli()
