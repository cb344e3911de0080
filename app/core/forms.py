"""HTML forms are validated by the same pydantic schemas as the JSON API."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from app.core.errors import describe_validation_errors
from app.core.security import CSRF_FIELD

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
