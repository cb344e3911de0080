"""Composing and delivering e-mail: signed links, templates, message headers, and the two
transports (SMTP through aiosmtplib, or .eml files under var/mail when no SMTP host is set).

Templates live in templates/emails/<category>/ as subject.txt, body.txt and body.html; the
HTML is autoescaped, the text parts are not (they are plain text, never HTML).
"""

from __future__ import annotations

import email.policy
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiosmtplib
from anyio import to_thread
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app.config import Settings
from app.core.errors import BadRequest
from app.core.security import Signer
from app.core.templating import TEMPLATE_DIR
from app.notifications.models import NotificationKind

# -- signed links ---------------------------------------------------------------------------

UNSUBSCRIBE_ALL = "all"
_UNSUBSCRIBE_RE = re.compile(r"^([0-9]{1,10})\.([a-z_-]{1,120})\.([0-9a-f]{40})$")
BAD_UNSUBSCRIBE = (
    "This unsubscribe link is not valid. Please use the link from the e-mail exactly as it "
    "is, or change your e-mail settings after signing in."
)


def unsubscribe_token(signer: Signer, *, user_id: int, kinds: Sequence[str] | None) -> str:
    """A link that stops the given kinds of e-mail for one member (None: all of them).
    It does not expire: an unsubscribe link has to keep working."""
    scope = UNSUBSCRIBE_ALL if not kinds else "-".join(sorted(set(kinds)))
    payload = f"{user_id}.{scope}"
    return f"{payload}.{signer.sign('unsubscribe', payload)}"


@dataclass(frozen=True, slots=True)
class UnsubscribeScope:
    user_id: int
    kinds: tuple[NotificationKind, ...]  # every kind when the link is for all e-mail
    everything: bool


def read_unsubscribe_token(signer: Signer, token: str) -> UnsubscribeScope:
    """The member and kinds a link is for; BadRequest (400) if it was altered."""
    match = _UNSUBSCRIBE_RE.match(token)
    if match is None:
        raise BadRequest(BAD_UNSUBSCRIBE, code="bad_token")
    user_id, scope, signature = match.groups()
    if not signer.verify("unsubscribe", f"{user_id}.{scope}", signature):
        raise BadRequest(BAD_UNSUBSCRIBE, code="bad_token")
    if scope == UNSUBSCRIBE_ALL:
        return UnsubscribeScope(int(user_id), tuple(NotificationKind), True)
    try:
        kinds = tuple(NotificationKind(k) for k in scope.split("-"))
    except ValueError:
        raise BadRequest(BAD_UNSUBSCRIBE, code="bad_token") from None
    return UnsubscribeScope(int(user_id), kinds, False)


def message_id(signer: Signer, *, outbox_id: int, created_at: datetime, domain: str) -> str:
    """The same Message-ID for every attempt at one outbox message: a message sent again
    after a crash is recognisably the same message (see worker.py)."""
    tag = signer.sign("message-id", f"{outbox_id}:{created_at.isoformat()}")[:16]
    return f"<kindred.{outbox_id}.{tag}@{domain}>"


# -- composing --------------------------------------------------------------------------


def site_domain(settings: Settings) -> str:
    return urlsplit(settings.base_url).hostname or "localhost"


def sender(settings: Settings) -> str:
    default = formataddr((settings.site_name, f"no-reply@{site_domain(settings)}"))
    return settings.mail_from or default


def absolute(settings: Settings, path: str) -> str:
    return settings.base_url.rstrip("/") + path


def email_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["datetime"] = lambda v: v.astimezone(UTC).strftime("%-d %b %Y, %H:%M UTC")
    return env


@dataclass(slots=True)
class Rendered:
    subject: str
    text: str
    html: str


def render_email(env: Environment, template_set: str, context: dict[str, Any]) -> Rendered:
    base = f"emails/{template_set}/"
    subject = env.get_template(base + "subject.txt").render(context)
    # one line, whatever the template or the data did (no header injection)
    subject = " ".join(subject.split())[:200]
    return Rendered(
        subject=subject,
        text=env.get_template(base + "body.txt").render(context),
        html=env.get_template(base + "body.html").render(context),
    )


def build_message(
    settings: Settings,
    rendered: Rendered,
    *,
    to_address: str,
    to_name: str,
    msg_id: str,
    unsubscribe_url: str | None,
    now: datetime | None = None,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender(settings)
    msg["To"] = formataddr((to_name, to_address))
    msg["Subject"] = rendered.subject
    msg["Date"] = format_datetime(now or datetime.now(UTC))
    msg["Message-ID"] = msg_id
    msg["Auto-Submitted"] = "auto-generated"
    if unsubscribe_url is not None:
        # RFC 2369 and RFC 8058: mail programs offer "unsubscribe" and POST to the URL
        # raw: folding would turn a long URL into an encoded word mail programs ignore
        msg.set_raw("List-Unsubscribe", f"<{unsubscribe_url}>")
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        list_id = f"notifications.{site_domain(settings)}"
        msg["List-Id"] = f"{settings.site_name} notifications <{list_id}>"
    msg.set_content(rendered.text)
    msg.add_alternative(rendered.html, subtype="html")
    return msg


# -- delivering ---------------------------------------------------------------------------

# CRLF, headers folded at 78 characters, except raw ones (List-Unsubscribe), kept whole
WIRE_POLICY = email.policy.SMTP.clone(refold_source="none")


def wire_bytes(message: EmailMessage) -> bytes:
    """The message as it goes over SMTP (and into .eml files)."""
    return message.as_bytes(policy=WIRE_POLICY)


class PermanentFailure(Exception):
    """The receiving server refused the message for good (5xx for the recipient)."""


class Transport(Protocol):
    async def send(self, message: EmailMessage, *, outbox_id: int) -> None: ...


class SmtpTransport:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, message: EmailMessage, *, outbox_id: int) -> None:
        s = self.settings
        try:
            await aiosmtplib.send(
                wire_bytes(message),
                sender=parseaddr(str(message["From"]))[1],
                recipients=[parseaddr(str(message["To"]))[1]],
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username or None,
                password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                use_tls=s.smtp_tls,
                start_tls=None if s.smtp_tls else s.smtp_starttls,
                timeout=s.smtp_timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            if codes and all(500 <= code < 600 for code in codes):
                raise PermanentFailure(str(exc)) from exc
            raise


class FileTransport:
    """Writes each message to <var_dir>/mail/<outbox id>-<tag>.eml. The name depends only
    on the message, so writing it again after a crash replaces the same file: delivered
    once."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_for(self, message: EmailMessage, outbox_id: int) -> Path:
        # <kindred.<outbox id>.<tag>@<domain>>: the tag is stable per outbox row
        local = str(message["Message-ID"]).strip("<>").split("@", 1)[0]
        tag = re.sub(r"[^A-Za-z0-9]", "", local.rsplit(".", 1)[-1])[:16]
        return self.directory / f"{outbox_id:08d}-{tag}.eml"

    async def send(self, message: EmailMessage, *, outbox_id: int) -> None:
        await to_thread.run_sync(self._write, message, outbox_id)

    def _write(self, message: EmailMessage, outbox_id: int) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.path_for(message, outbox_id)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(wire_bytes(message))
        os.replace(tmp, path)


def transport_for(settings: Settings) -> Transport:
    if settings.smtp_host:
        return SmtpTransport(settings)
    return FileTransport(settings.var_dir / "mail")
