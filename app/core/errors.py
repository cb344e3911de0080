"""Domain errors carry their HTTP status, a machine code and a sentence a person can read.

One set of handlers (installed by `install_error_handlers`) turns them, FastAPI's validation
errors and Starlette's HTTP errors into JSON `{"detail", "code"}` under /api and into an
HTML page elsewhere.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("kindred")


class DomainError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.field = field
        self.headers = headers
        self.extra = extra or {}


class BadRequest(DomainError):
    """A request that cannot mean anything, e.g. a link whose signature does not match."""

    status_code = 400
    code = "bad_request"


class NotAuthenticated(DomainError):
    status_code = 401
    code = "not_authenticated"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "payload_too_large"


class Invalid(DomainError):
    status_code = 422
    code = "invalid"


class RateLimited(DomainError):
    status_code = 429
    code = "rate_limited"


HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
}


def describe_validation_errors(errors: list[Any]) -> tuple[str, list[dict[str, Any]]]:
    """One readable sentence naming each bad field, plus the structured list."""
    parts = []
    fields = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        # FastAPI prefixes where the value came from ("body", "title"); a form validated
        # directly by its schema gives just the field, which may itself be called "body"
        if len(loc) > 1 and loc[0] in ("body", "query", "path", "header", "cookie"):
            loc = loc[1:]
        field = ".".join(loc) or "request"
        msg = str(err.get("msg", "is invalid")).removeprefix("Value error, ")
        parts.append(f"{field}: {msg}")
        fields.append({"field": field, "message": msg})
    return "; ".join(parts), fields


def is_api_request(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _json(status: int, detail: str, code: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"detail": detail, "code": code, **extra}, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    from app.core.templating import render_error_page

    async def domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        if exc.status_code == 403:
            from app.core.seclog import security_event

            security_event("permission_refused", code=exc.code)
        if is_api_request(request):
            extra = dict(exc.extra)
            if exc.field:
                extra["field"] = exc.field
            response: Response = _json(exc.status_code, exc.detail, exc.code, **extra)
        elif exc.status_code == 401:
            from app.core.urls import login_url_for

            response = RedirectResponse(login_url_for(request), status_code=303)
        else:
            response = render_error_page(request, exc.status_code, exc.detail)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    async def validation_error(request: Request, exc: Exception) -> Response:
        errors = exc.errors() if isinstance(exc, RequestValidationError | ValidationError) else []
        if errors and all(tuple(e.get("loc", ()))[:1] == ("path",) for e in errors):
            # an address whose id is not a number (/discussions/abc) names nothing: 404
            detail = "There is no page at this address."
            if is_api_request(request):
                return _json(404, detail, "not_found")
            return render_error_page(request, 404, detail)
        detail, fields = describe_validation_errors(list(errors))
        if is_api_request(request):
            return _json(422, detail, "validation_error", errors=fields)
        return render_error_page(request, 422, detail)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        status = exc.status_code
        detail = exc.detail if isinstance(exc.detail, str) else "Request failed"
        if status == 404 and detail == "Not Found":
            detail = "There is no page at this address."
        if is_api_request(request):
            response: Response = _json(status, detail, HTTP_CODES.get(status, "error"))
        else:
            response = render_error_page(request, status, detail)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    async def unexpected_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        detail = "Something went wrong on our side. Nothing was saved; please try again."
        if is_api_request(request):
            return _json(500, detail, "server_error")
        return render_error_page(request, 500, detail)

    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(ValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected_error)
