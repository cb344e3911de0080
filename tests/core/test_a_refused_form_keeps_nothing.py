"""A form the service refuses part-way (after it wrote something) is shown again with the
message beside its field, and nothing the refused call wrote is kept: the request's
transaction ends with a rollback, not a commit."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy import func, select

from app.core.errors import Forbidden, Invalid
from app.core.forms import FormResult, submit_form
from app.db import SessionDep
from app.groups.models import Group


class NameIn(BaseModel):
    name: str


def install(app, refusal: Exception | None) -> None:
    async def route(request: Request, session: SessionDep) -> Response:
        form: FormResult[NameIn] = FormResult({"name": "x"}, NameIn(name="x"), {})

        async def save(data: NameIn) -> Response:
            session.add(Group(slug="half-written", name=data.name, description=""))
            await session.flush()
            if refusal is not None:
                raise refusal
            return RedirectResponse("/", 303)

        return await submit_form(
            session,
            form,
            save=save,
            show=lambda values, errors: HTMLResponse(f"again: {values} {errors}"),
        )

    app.add_api_route("/test-form", route, methods=["POST"])


async def count(app) -> int:
    async with app.state.db.sessionmaker() as s:
        return int(await s.scalar(select(func.count()).where(Group.slug == "half-written")))


async def test_a_refusal_after_a_write_shows_the_form_and_keeps_nothing(app, client):
    install(app, Invalid("That name is not allowed.", field="name"))
    r = await client.post("/test-form")
    assert r.status_code == 422
    assert "That name is not allowed." in r.text and "'name'" in r.text
    assert await count(app) == 0


async def test_an_accepted_form_keeps_what_it_wrote(app, client):
    install(app, None)
    r = await client.post("/test-form")
    assert r.status_code == 303
    assert await count(app) == 1


async def test_other_refusals_go_to_the_error_page(app, client):
    install(app, Forbidden("No."))
    r = await client.post("/test-form")
    assert r.status_code == 403
    assert await count(app) == 0
