"""Administrators' pages for groups: list, create, edit, archive (/admin/groups)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from app.access.fetch import access_group
from app.access.permissions import Action
from app.accounts.deps import CurrentUser, requires
from app.core.forms import read_form, submit_form
from app.core.templating import render
from app.db import SessionDep
from app.groups import admin
from app.groups.models import Group
from app.groups.schemas import GroupEditIn, GroupIn

router = APIRouter(include_in_schema=False, dependencies=[requires(Action.manage_groups)])
SlugPath = Annotated[str, Path(max_length=80)]


async def _list_page(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    values: dict[str, str],
    errors: dict[str, str],
) -> Response:
    groups = await admin.all_groups(session, admin=user)
    return render(
        request,
        "admin/groups.html",
        {"groups": groups, "values": values, "errors": errors},
    )


@router.get("/admin/groups")
async def groups_page(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    return await _list_page(request, session, user, {}, {})


@router.post("/admin/groups")
async def create(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    form = await read_form(
        request, GroupIn, ("slug", "name", "description"), optional=("description",)
    )

    async def save(data: GroupIn) -> Response:
        group = await admin.create_group(
            session, admin=user, slug=data.slug, name=data.name, description=data.description
        )
        return RedirectResponse(f"/admin/groups/{group.slug}/edit?notice=group-saved", 303)

    return await submit_form(
        session,
        form,
        save=save,
        show=lambda values, errors: _list_page(request, session, user, values, errors),
    )


def _edit_page(
    request: Request,
    group: Group,
    values: dict[str, str],
    errors: dict[str, str],
) -> Response:
    return render(
        request,
        "admin/group_edit.html",
        {"group": group, "values": values, "errors": errors},
    )


@router.get("/admin/groups/{slug}/edit")
async def edit_form(
    request: Request, slug: SlugPath, session: SessionDep, user: CurrentUser
) -> Response:
    group = await access_group(session, slug)
    return _edit_page(request, group, {"name": group.name, "description": group.description}, {})


@router.post("/admin/groups/{slug}/edit")
async def edit(
    request: Request, slug: SlugPath, session: SessionDep, user: CurrentUser
) -> Response:
    group = await access_group(session, slug)
    form = await read_form(request, GroupEditIn, ("name", "description"), optional=("description",))

    async def save(data: GroupEditIn) -> Response:
        await admin.update_group(
            session, admin=user, group=group, name=data.name, description=data.description
        )
        return RedirectResponse(f"/admin/groups/{group.slug}/edit?notice=group-saved", 303)

    return await submit_form(
        session,
        form,
        save=save,
        show=lambda values, errors: _edit_page(request, group, values, errors),
    )


async def _reason(request: Request) -> str:
    value = (await request.form()).get("reason", "")
    return value[:1000] if isinstance(value, str) else ""


@router.post("/admin/groups/{slug}/archive")
async def archive(
    request: Request, slug: SlugPath, session: SessionDep, user: CurrentUser
) -> Response:
    group = await access_group(session, slug)
    await admin.set_archived(
        session, admin=user, group=group, archived=True, reason=await _reason(request)
    )
    return RedirectResponse("/admin/groups?notice=group-archived", 303)


@router.post("/admin/groups/{slug}/unarchive")
async def unarchive(
    request: Request, slug: SlugPath, session: SessionDep, user: CurrentUser
) -> Response:
    group = await access_group(session, slug)
    await admin.set_archived(
        session, admin=user, group=group, archived=False, reason=await _reason(request)
    )
    return RedirectResponse("/admin/groups?notice=group-reopened", 303)
