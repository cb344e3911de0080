"""Jinja2 pages: autoescaped everywhere; the only markup let through is post HTML that was
sanitized when written (marked with `|safe` in exactly one component)."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import markupsafe
from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, nodes, select_autoescape
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import new_context
from markupsafe import Markup

from app.core.security import ANON_COOKIE, SESSION_COOKIE

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIR = ROOT / "templates"
STATIC_DIR = ROOT / "static"


def _static_version() -> str:
    digest = hashlib.sha256()
    for path in sorted(STATIC_DIR.rglob("*")):
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


# ?notice=KEY after a redirect picks one of these; no text from the address reaches the page
NOTICES = {
    "signed-out": "You are signed out.",
    "account-deleted": "Your account is deleted. Thank you for having been part of the community.",
    "welcome": "Welcome to the community! Your account is ready.",
    "profile-saved": "Your profile is saved.",
    "country-saved": "Your country is saved.",
    "password-changed": "Your password is changed; your other sessions were signed out.",
    "discussion-deleted": "The discussion was deleted.",
    "session-ended": "That session is signed out.",
    "flagged": "Thank you. Moderators will look at the post you flagged.",
    "moderated": "Done. The action is in the audit log.",
    "settings-saved": "Settings saved.",
    "sessions-ended": "You are signed out everywhere else, and every API token is revoked.",
    "token-revoked": "The API token is revoked.",
    "tokens-revoked": "Every API token is revoked.",
    "email-change-sent": "We have sent a link to your new address. Your address changes when "
    "you follow it; until then we keep using your current address.",
    "email-changed": "Your e-mail address is changed.",
    "follow-saved": "Your notification setting is saved.",
    "notifications-read": "All your notifications are marked read.",
    "email-settings-saved": "Your e-mail settings are saved.",
    "verification-sent": "We have sent you an e-mail with a link to confirm your address.",
    "password-reset": "Your new password is saved and every session was signed out. "
    "Please sign in with the new password.",
    "canned-saved": "The canned response is saved.",
    "canned-retired": "The canned response is retired. It stays in the library's history.",
    "canned-restored": "The canned response is back in use.",
    "appointment-saved": "The appointment link is saved.",
    "appointment-deleted": "The appointment link is deleted.",
    "group-saved": "The group is saved.",
    "group-archived": "The group is archived: it is read-only and has left the listings.",
    "group-reopened": "The group is open again and back in the listings.",
    "post-restored": "The post is restored. The action is in the audit log.",
    "saved": "Saved for later. Find it under Saved.",
    "unsaved": "Removed from your saved items.",
    "library-published": "The page is published.",
    "library-unpublished": "The page is unpublished: only administrators can open it now.",
}


# Numbers as dates print them: a look-up, where a format spec ("{:02d}") costs a call each
# (a discussion page prints some twenty times, of six fields each).
_TWO_DIGITS = tuple(f"{n:02d}" for n in range(60))
_MONTHS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_AGO_UNITS = (
    ("year", 31_536_000),
    ("month", 2_592_000),
    ("day", 86_400),
    ("hour", 3_600),
    ("minute", 60),
)


def format_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    return _in_full(value.astimezone(UTC))


def _in_full(v: datetime) -> str:
    """What strftime("%-d %b %Y, %H:%M UTC") says of a UTC time, without its locale, at a
    tenth of the cost."""
    return f"{v.day} {_MONTHS[v.month]} {v.year}, {_TWO_DIGITS[v.hour]}:{_TWO_DIGITS[v.minute]} UTC"


def format_date(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).strftime("%-d %B %Y")


def iso(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).isoformat(timespec="seconds")


def _ago(seconds: int) -> str:
    for unit, size in _AGO_UNITS:
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"


def timeago(value: datetime | None, now: datetime | None = None) -> str:
    if value is None:
        return ""
    return _ago(int(((now or datetime.now(UTC)) - value).total_seconds()))


def moment(value: datetime) -> Markup:
    """A time as pages show it, a <time> element: machine-readable, in full (its title),
    and how long ago. Every part of it is made here from numbers and fixed words, so there
    is nothing in it to escape."""
    return Markup(moment_html(value, time.time()))  # noqa: S704 (digits and fixed words only)


def moment_html(value: datetime, now: float) -> str:
    """`moment(value)`'s text, how long ago counted from `now` (a time.time())."""
    v = value if value.tzinfo is UTC else value.astimezone(UTC)
    two = _TWO_DIGITS
    hour_minute = f"{two[v.hour]}:{two[v.minute]}"
    # the datetime is isoformat(timespec="seconds") and the title _in_full(v), at a fraction
    # of the cost. Not kept between requests: a table of them by time cost more to fill
    # than it saved while pages of many discussions were read (bench, ~40 µs a page).
    return (
        f'<time datetime="{v.year:04d}-{two[v.month]}-{two[v.day]}T{hour_minute}:'
        f'{two[v.second]}+00:00" title="{v.day} {_MONTHS[v.month]} {v.year}, {hour_minute}'
        f' UTC">{_ago(int(now - v.timestamp()))}</time>'
    )


def plural(n: int, singular: str, plural_form: str | None = None) -> str:
    return f"{n:,} {singular if n == 1 else (plural_form or singular + 's')}"


# -- escaping ------------------------------------------------------------------------------
#
# Autoescaping calls markupsafe.escape on every value a page prints: some 500 times on a
# discussion page of twenty replies, where it was a third of the page's cost. Most of that
# is not escaping but its wrapping: an attribute probe that fails, and a new Markup copy of
# every string and number. In the place Jinja calls it, the output of a `{{ ... }}`, the
# wrapping is not needed: what is written there is only ever joined into the page, or into
# a block's text that Jinja itself marks safe (a macro's, a `{% set %}` block's, a filter
# block's). So templates are compiled (through Jinja's documented hook for changing the
# generated code, `Environment.code_generator_class`) to write `escape_output(value)`: the
# same escaping, markupsafe's own routine, for the types pages print most, and
# markupsafe.escape for anything else. tests/core/test_escape_matches_markupsafe.py holds
# the two to the same text.

_escape_inner = markupsafe._escape_inner


def escape_output(value: Any) -> str:
    """The text to write for a value printed by an autoescaped template."""
    kind = type(value)
    if kind is str:
        return _escape_inner(value)  # type: ignore[no-any-return]
    if kind is Markup or kind is int:
        return str(value)  # already safe; digits only
    return markupsafe.escape(value)


class _CodeGenerator(CodeGenerator):
    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        super().visit_Template(node, frame)
        # The module's functions find `escape` among its globals when they run: rebinding
        # it after Jinja's own import changes what they call, not what they write.
        self.writeline("from app.core.templating import escape_output as escape")


class _Environment(Environment):
    code_generator_class = _CodeGenerator


class _Globals(dict[str, Any]):
    """The environment's globals, counting their changes (`Templates.render`)."""

    changes = 0

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self.changes += 1

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self.changes += 1

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self.changes += 1

    def pop(self, *args: Any) -> Any:
        self.changes += 1
        return super().pop(*args)

    def setdefault(self, key: str, default: Any = None) -> Any:
        self.changes += 1
        return super().setdefault(key, default)

    def popitem(self) -> tuple[str, Any]:
        self.changes += 1
        return super().popitem()

    def clear(self) -> None:
        super().clear()
        self.changes += 1


# Under every volunteer mentor's post (app/discussions/post_html.py) and in the API's `footer`.
MENTOR_FOOTER = (
    "Volunteer mentor: shares personal experience as a patient or caregiver, not medical advice."
)

COMPONENTS = {
    "components/macros.html": (
        "badge",
        "field_error",
        "described",
        "form_errors",
        "discussion_list",
    ),
    "notifications/follow_form.html": ("follow_form",),
    "notifications/live_region.html": ("live_region",),
    "library/save_form.html": ("save_form",),
}


class Templates:
    def __init__(
        self, *, auto_reload: bool, site_name: str, role_badges: dict[str, bool] | None = None
    ) -> None:
        """`role_badges`: each role, and whether its posts carry a badge."""
        role_badges = role_badges or {}
        self.env = _Environment(
            loader=FileSystemLoader(TEMPLATE_DIR),
            autoescape=select_autoescape(default=True, default_for_string=True),
            auto_reload=auto_reload,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        # before any template is loaded: each holds its globals as a ChainMap over these
        self.env.globals = self._globals = _Globals(self.env.globals)
        self._flat: dict[str, tuple[int, Any, dict[str, Any]]] = {}
        self.env.filters.update(
            datetime=format_datetime, date=format_date, iso=iso, timeago=timeago
        )
        self.env.globals.update(
            site_name=site_name,
            static_version=_static_version(),
            plural=plural,
            mentor_footer=MENTOR_FOOTER,
        )
        # For posts and discussion lists: what follows an author's name, a space and the
        # badge (or nothing, for members), rendered once. Set first: the components read it.
        badge = self.env.get_template("components/macros.html").module.badge  # type: ignore[attr-defined]
        self.env.globals["badges"] = {
            role: Markup(" ") + badge(role) if has_badge else Markup("")
            for role, has_badge in role_badges.items()
        }
        # Shared components are macros made globals once, here: a {% from %} import costs
        # each page that uses it about 20 µs (Jinja checks the importing context against the
        # module's globals key by key), an {% include %} a context of its own.
        for name, macro_names in COMPONENTS.items():
            # a module made now, not the one cached above for `badge`: a module's macros
            # see the globals as they were when it was made, and now they hold `badges`
            module = self.env.get_template(name).make_module()
            for macro_name in macro_names:
                self.env.globals[macro_name] = getattr(module, macro_name)

    def render(self, name: str, context: dict[str, Any]) -> str:
        """`get_template(name).render(context)`, with the template's globals copied flat
        once (until they change) rather than read through their ChainMap on every page:
        Jinja copies them into each page's context, twice (about 8 µs a discussion page)."""
        template = self.env.get_template(name)
        kept = self._flat.get(name)
        if kept is None or kept[0] != self._globals.changes or kept[1] is not template:
            kept = self._flat[name] = (self._globals.changes, template, dict(template.globals))
        ctx = new_context(self.env, template.name, template.blocks, context, False, kept[2])
        try:
            return self.env.concat(template.root_render_func(ctx))  # type: ignore[attr-defined,no-any-return]
        except Exception:
            self.env.handle_exception()
            raise  # handle_exception always raises


class LazyToken:
    """A visitor's CSRF token, made (with its anonymous cookie) only when a template prints
    it: a page without a visitor's form sets no cookie and is the same for every visitor,
    so it may be cached (app/cache). `auth` is an `accounts.deps.Auth` (core imports no
    domain: anything with a `csrf_token`)."""

    __slots__ = ("_auth",)

    def __init__(self, auth: Any) -> None:
        self._auth = auth

    def __str__(self) -> str:
        return str(self._auth.csrf_token)

    def __html__(self) -> str:
        return markupsafe.escape(self._auth.csrf_token)  # type: ignore[no-any-return]


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    auth = getattr(request.state, "auth", None)
    scope = request.scope
    ctx: dict[str, Any] = {
        "request": request,
        "here": scope["path"],  # the page's path (request.url would build the whole address)
        "viewer": auth.viewer if auth else None,
        # a visitor's token is made only if the page prints it (LazyToken)
        "csrf_token": (auth.csrf_token if auth.viewer else LazyToken(auth)) if auth else "",
        "notice": NOTICES.get(request.query_params.get("notice", ""))
        if scope["query_string"]
        else None,
    }
    if context:
        ctx.update(context)
    templates: Templates = request.app.state.templates
    response = HTMLResponse(templates.render(name, ctx), status_code=status_code)
    response.headers["cache-control"] = "no-store" if ctx["viewer"] else "no-cache"
    if auth is not None:
        set_auth_cookies(request, response, auth)
    return response


def set_auth_cookies(request: Request, response: Response, auth: Any) -> None:
    """The cookies `auth` (an `accounts.deps.Auth`) asks for: a visitor's new anonymous
    cookie (made when a form's CSRF token was), a stale session cookie's removal."""
    secure = request.app.state.settings.cookie_secure
    if auth.new_anon_cookie:
        response.set_cookie(
            ANON_COOKIE,
            auth.new_anon_cookie,
            httponly=True,
            samesite="lax",
            secure=secure,
            max_age=60 * 60 * 24 * 30,
        )
    if auth.clear_session_cookie:
        response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=secure)


def render_error_page(request: Request, status_code: int, detail: str) -> HTMLResponse:
    return render(
        request, "errors/error.html", {"status_code": status_code, "detail": detail}, status_code
    )
