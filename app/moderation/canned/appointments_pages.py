"""Administrators' settings page for appointment links (/admin/appointments)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from app.access.permissions import Action
from app.accounts.deps import CurrentUser, requires
from app.core.forms import read_form, submit_form
from app.core.templating import render
from app.db import SessionDep
from app.moderation.canned import appointments
from app.moderation.canned.schemas import AppointmentIn, AppointmentPatchIn
from app.moderation.models import AppointmentDestination

router = APIRouter(include_in_schema=False, dependencies=[requires(Action.manage_appointments)])
KeyPath = Annotated[str, Path(max_length=appointments.KEY_MAX)]
NEW_FIELDS = ("key", "name", "url", "description")
EDIT_FIELDS = ("name", "url", "description")


async def _list_page(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    values: dict[str, str],
    errors: dict[str, str],
) -> Response:
    items = await appointments.list_destinations_with_use(session, admin=user)
    return render(
        request,
        "admin/appointments.html",
        {"items": items, "values": values, "errors": errors},
    )


@router.get("/admin/appointments")
async def appointments_page(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    return await _list_page(request, session, user, {}, {})


@router.post("/admin/appointments")
async def create(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    form = await read_form(request, AppointmentIn, NEW_FIELDS, optional=("description",))

    async def save(data: AppointmentIn) -> Response:
        await appointments.create_destination(
            session,
            admin=user,
            key=data.key,
            name=data.name,
            url=data.url,
            description=data.description,
        )
        return RedirectResponse("/admin/appointments?notice=appointment-saved", 303)

    # the key is taken (409), or a rule the schema missed (422): shown beside the field
    return await submit_form(
        session,
        form,
        save=save,
        show=lambda values, errors: _list_page(request, session, user, values, errors),
    )


def _edit_page(
    request: Request,
    destination: AppointmentDestination,
    values: dict[str, str],
    errors: dict[str, str],
) -> Response:
    return render(
        request,
        "admin/appointments_edit.html",
        {"destination": destination, "values": values, "errors": errors},
    )


@router.get("/admin/appointments/{appointment_key}/edit")
async def edit_form(
    request: Request, appointment_key: KeyPath, session: SessionDep, user: CurrentUser
) -> Response:
    destination = await appointments.access_destination(session, appointment_key, admin=user)
    values = {
        "name": destination.name,
        "url": destination.url,
        "description": destination.description,
    }
    return _edit_page(request, destination, values, {})


@router.post("/admin/appointments/{appointment_key}/edit")
async def edit(
    request: Request, appointment_key: KeyPath, session: SessionDep, user: CurrentUser
) -> Response:
    destination = await appointments.access_destination(session, appointment_key, admin=user)
    form = await read_form(request, AppointmentPatchIn, EDIT_FIELDS)

    async def save(data: AppointmentPatchIn) -> Response:
        await appointments.update_destination(
            session,
            admin=user,
            destination=destination,
            name=data.name,
            url=data.url,
            description=data.description,
        )
        return RedirectResponse("/admin/appointments?notice=appointment-saved", 303)

    return await submit_form(
        session,
        form,
        save=save,
        show=lambda values, errors: _edit_page(request, destination, values, errors),
    )


@router.get("/admin/appointments/{appointment_key}/delete")
async def delete_confirm(
    request: Request, appointment_key: KeyPath, session: SessionDep, user: CurrentUser
) -> Response:
    """Confirm first; a link still used by canned responses names them instead."""
    destination = await appointments.access_destination(session, appointment_key, admin=user)
    used_by = await appointments.responses_using(session, key=destination.key)
    return render(
        request,
        "admin/appointment_delete.html",
        {"destination": destination, "used_by": used_by},
    )


@router.post("/admin/appointments/{appointment_key}/delete")
async def delete(appointment_key: KeyPath, session: SessionDep, user: CurrentUser) -> Response:
    destination = await appointments.access_destination(session, appointment_key, admin=user)
    await appointments.delete_destination(session, admin=user, destination=destination)
    return RedirectResponse("/admin/appointments?notice=appointment-deleted", 303)
