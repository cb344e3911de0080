"""JSON API for administrators' appointment links."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from app.access.permissions import Action
from app.accounts.deps import CurrentUser, requires
from app.db import SessionDep
from app.moderation.canned import appointments
from app.moderation.canned.schemas import AppointmentIn, AppointmentOut, AppointmentPatchIn
from app.moderation.models import AppointmentDestination

# checked before the body is read, so a non-admin gets 403 whatever they send
router = APIRouter(
    prefix="/api/v1/admin",
    tags=["appointment links"],
    dependencies=[requires(Action.manage_appointments)],
)
KeyPath = Annotated[str, Path(max_length=appointments.KEY_MAX)]


def appointment_out(destination: AppointmentDestination, used_by: list[str]) -> AppointmentOut:
    return AppointmentOut(
        key=destination.key,
        name=destination.name,
        url=destination.url,
        description=destination.description,
        created_at=destination.created_at,
        updated_at=destination.updated_at,
        used_by=used_by,
    )


async def _out(session: SessionDep, user: CurrentUser, key: str) -> AppointmentOut:
    for item in await appointments.list_destinations_with_use(session, admin=user):
        if item.destination.key == key:
            return appointment_out(item.destination, item.used_by)
    raise AssertionError("the destination was just written")


@router.get("/appointments", response_model=list[AppointmentOut])
async def list_appointments(session: SessionDep, user: CurrentUser) -> list[AppointmentOut]:
    items = await appointments.list_destinations_with_use(session, admin=user)
    return [appointment_out(i.destination, i.used_by) for i in items]


@router.post("/appointments", status_code=201, response_model=AppointmentOut)
async def create_appointment(
    data: AppointmentIn, session: SessionDep, user: CurrentUser
) -> AppointmentOut:
    destination = await appointments.create_destination(
        session,
        admin=user,
        key=data.key,
        name=data.name,
        url=data.url,
        description=data.description,
    )
    return await _out(session, user, destination.key)


@router.patch("/appointments/{appointment_key}", response_model=AppointmentOut)
async def update_appointment(
    appointment_key: KeyPath, data: AppointmentPatchIn, session: SessionDep, user: CurrentUser
) -> AppointmentOut:
    destination = await appointments.access_destination(session, appointment_key, admin=user)
    await appointments.update_destination(
        session,
        admin=user,
        destination=destination,
        name=data.name,
        url=data.url,
        description=data.description,
    )
    return await _out(session, user, destination.key)


@router.delete("/appointments/{appointment_key}", status_code=204)
async def delete_appointment(
    appointment_key: KeyPath, session: SessionDep, user: CurrentUser
) -> Response:
    """Templates that still link to it refuse to fill in until it is configured again."""
    destination = await appointments.access_destination(session, appointment_key, admin=user)
    await appointments.delete_destination(session, admin=user, destination=destination)
    return Response(status_code=204)
