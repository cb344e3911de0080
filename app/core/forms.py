"""HTML forms are validated by the same pydantic schemas as the JSON API."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import DomainError, describe_validation_errors
from app.core.security import CSRF_FIELD
from app.db import keep_nothing

M = TypeVar("M", bound=BaseModel)


class FormResult(Generic[M]):
    def __init__(self, values: dict[str, str], model: M | None, errors: dict[str, str]) -> None:
        self.values = values
        self.model = model
        self.errors = errors

    @property
    def ok(self) -> bool:
        return self.model is not None


async def read_form(
    request: Request,
    schema: type[M],
    fields: tuple[str, ...],
    optional: tuple[str, ...] = (),
    **overrides: Any,
) -> FormResult[M]:
    """Parse the listed fields of a submitted form into `schema`. Empty `optional` fields
    count as absent; errors come back per field for the form to show next to each input."""
    form = await request.form()
    values: dict[str, str] = {}
    for name in fields:
        value = form.get(name)
        if isinstance(value, str):
            values[name] = value
    data: dict[str, Any] = {k: v for k, v in values.items() if v != "" or k not in optional}
    data.update(overrides)
    data.pop(CSRF_FIELD, None)
    try:
        return FormResult(values, schema.model_validate(data), {})
    except ValidationError as exc:
        _, items = describe_validation_errors(list(exc.errors()))
        errors: dict[str, str] = {}
        for item in items:
            errors.setdefault(item["field"].split(".")[0], item["message"])
        return FormResult(values, None, errors)


FieldErrors = dict[str, str]
Shown = Response | Awaitable[Response]


async def submit_form(
    session: AsyncSession,
    form: FormResult[M],
    *,
    save: Callable[[M], Awaitable[Response]],
    show: Callable[[dict[str, str], FieldErrors], Shown],
) -> Response:
    """The round trip of an HTML form. A valid form goes to `save` (the service call and the
    redirect after it). A form with errors, or one the service refuses with a 409 or 422
    naming a field, is shown again (422) with what was typed and a message beside the field,
    and nothing the refused call wrote is kept. Other refusals (403, 404, 429) are raised to
    the error handler as they are."""
    errors = dict(form.errors)
    if form.model is not None:
        try:
            return await save(form.model)
        except DomainError as exc:
            if exc.status_code not in (409, 422):
                raise
            keep_nothing(session)
            errors[exc.field or "form"] = exc.detail
    shown = show(form.values, errors)
    response = await shown if inspect.isawaitable(shown) else shown
    response.status_code = 422
    return response
