"""Turning an outbox row into an e-mail, when it is sent.

Notification e-mails are composed from the notifications attached to the row, as they are
at sending time: a post hidden or deleted since, or a kind the member has since switched
off, is left out; when nothing is left the message is skipped. Account e-mails carry their
links, which are derived from signed values (never stored in the outbox).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage

from jinja2 import Environment
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.access.visibility import shown_to_everybody
from app.accounts.models import PasswordReset, Role, User
from app.accounts.tokens import reset_token, verification_token
from app.config import Settings
from app.core.security import Signer
from app.core.templating import MENTOR_FOOTER
from app.core.urls import discussion_url
from app.db import utcnow
from app.discussions.models import Discussion, Post
from app.email.mailer import (
    absolute,
    build_message,
    message_id,
    render_email,
    site_domain,
    unsubscribe_token,
)
from app.email.models import (
    ALERT_KEY_PREFIX,
    EmailMode,
    EmailPreference,
    OutboxCategory,
    OutboxItem,
    OutboxMessage,
)
from app.email.outbox import mode_expr
from app.notifications.models import Notification, NotificationKind

EXCERPT_CHARS = 280


@dataclass(slots=True)
class Item:
    kind: str
    kind_label: str
    actor: str | None
    excerpt: str
    url: str
    created_at: datetime
    discussion_id: int | None
    discussion_title: str
    # under a volunteer mentor's post, as on the page (core.templating.MENTOR_FOOTER)
    footer: str | None = None


@dataclass(slots=True)
class DiscussionGroup:
    title: str
    url: str
    items: list[Item] = field(default_factory=list)


ITEM_LABELS = {
    NotificationKind.mention.value: "mentioned you",
    NotificationKind.reply_to_you.value: "replied to you",
    NotificationKind.watched_reply.value: "replied",
    NotificationKind.new_discussion.value: "started a new discussion",
    NotificationKind.moderation.value: "Moderators",
}


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


@dataclass(slots=True)
class Composer:
    settings: Settings
    signer: Signer
    env: Environment

    async def compose(
        self, session: AsyncSession, row: OutboxMessage, now: datetime | None = None
    ) -> EmailMessage | None:
        """The message for `row`, or None when there is nothing (left) to send."""
        category = OutboxCategory(row.category)
        if category is OutboxCategory.register_confirm:
            return await self._register_confirm(session, row, now)
        user = await session.get(User, row.user_id) if row.user_id is not None else None
        if user is None:
            return None
        if category is OutboxCategory.register_taken:
            return self._register_taken(row, user, now)
        if category is OutboxCategory.email_change:
            return self._email_change(row, user, now)
        if category is OutboxCategory.email_change_notice:
            return self._email_change_notice(row, user, now)
        if category in (OutboxCategory.notification, OutboxCategory.digest):
            return await self._notification(session, row, user, category, now)
        if category is OutboxCategory.verify_email:
            return self._verification(row, user, now)
        return await self._reset(session, row, user, now)

    def _finish(
        self,
        row: OutboxMessage,
        template: str,
        context: dict[str, object],
        *,
        to_address: str,
        to_name: str,
        unsubscribe_url: str | None = None,
        now: datetime | None = None,
    ) -> EmailMessage:
        context = {
            "site_name": self.settings.site_name,
            "base_url": self.settings.base_url.rstrip("/"),
            "settings_url": absolute(self.settings, "/settings/email"),
            "username": to_name,
            "unsubscribe_url": unsubscribe_url,
            **context,
        }
        rendered = render_email(self.env, template, context)
        msg_id = message_id(
            self.signer,
            outbox_id=row.id,
            created_at=row.created_at,
            domain=site_domain(self.settings),
        )
        return build_message(
            self.settings,
            rendered,
            to_address=to_address,
            to_name=to_name,
            msg_id=msg_id,
            unsubscribe_url=unsubscribe_url,
            now=now,
        )

    # -- account e-mail ---------------------------------------------------------------------

    def _verification(
        self, row: OutboxMessage, user: User, now: datetime | None
    ) -> EmailMessage | None:
        # the address being verified is the one the row was queued for; if the member has
        # changed it since, this message is moot
        if user.email_key != row.to_address.strip().lower() or user.email_verified_at:
            return None
        issued = int((now or utcnow()).timestamp())
        token = verification_token(
            self.signer, user_id=user.id, email_key=user.email_key, issued=issued
        )
        return self._finish(
            row,
            "verify_email",
            {
                "verify_url": absolute(self.settings, f"/verify-email/{token}"),
                "days": self.settings.email_verification_days,
            },
            to_address=row.to_address,
            to_name=user.username,
            now=now,
        )

    async def _register_confirm(
        self, session: AsyncSession, row: OutboxMessage, now: datetime | None
    ) -> EmailMessage | None:
        from app.accounts.models import PendingRegistration
        from app.accounts.registration import registration_token

        payload = json.loads(row.payload or "{}")
        pending = await session.get(PendingRegistration, int(payload.get("pending_id", 0)))
        if pending is None or pending.expires_at <= (now or utcnow()):
            return None  # finished or expired before we got to it
        token = registration_token(self.signer, pending.nonce)
        return self._finish(
            row,
            "register_confirm",
            {"confirm_url": absolute(self.settings, f"/register/confirm/{token}")},
            to_address=row.to_address,
            to_name=pending.username,
            now=now,
        )

    def _register_taken(
        self, row: OutboxMessage, user: User, now: datetime | None
    ) -> EmailMessage | None:
        payload = json.loads(row.payload or "{}")
        return self._finish(
            row,
            "register_taken",
            {
                "login_url": absolute(self.settings, "/login"),
                "email_change": bool(payload.get("email_change")),
            },
            to_address=row.to_address,
            to_name=user.username,
            now=now,
        )

    def _email_change(
        self, row: OutboxMessage, user: User, now: datetime | None
    ) -> EmailMessage | None:
        from app.accounts.email_change import change_token

        payload = json.loads(row.payload or "{}")
        if user.email_key != payload.get("from_key"):
            return None  # the address changed since: this link could not work
        token = change_token(
            self.signer,
            user_id=user.id,
            new_email=str(payload.get("new_email", "")),
            current_email_key=user.email_key,
            issued=int((now or utcnow()).timestamp()),
        )
        return self._finish(
            row,
            "email_change",
            {"confirm_url": absolute(self.settings, f"/settings/email-address/confirm/{token}")},
            to_address=row.to_address,
            to_name=user.username,
            now=now,
        )

    def _email_change_notice(
        self, row: OutboxMessage, user: User, now: datetime | None
    ) -> EmailMessage | None:
        payload = json.loads(row.payload or "{}")
        return self._finish(
            row,
            "email_change_notice",
            {
                "new_email": str(payload.get("new_email", "")),
                "settings_account_url": absolute(self.settings, "/settings"),
            },
            to_address=row.to_address,
            to_name=user.username,
            now=now,
        )

    async def _reset(
        self, session: AsyncSession, row: OutboxMessage, user: User, now: datetime | None
    ) -> EmailMessage | None:
        payload = json.loads(row.payload or "{}")
        reset = await session.get(PasswordReset, int(payload.get("reset_id", 0)))
        if reset is None or reset.used_at is not None or reset.expires_at <= (now or utcnow()):
            return None  # used or expired before we got to it: a dead link helps nobody
        token = reset_token(self.signer, reset.nonce)
        return self._finish(
            row,
            "password_reset",
            {
                "reset_url": absolute(self.settings, f"/reset-password/{token}"),
                "expires_at": reset.expires_at,
                "minutes": self.settings.password_reset_minutes,
            },
            to_address=row.to_address,
            to_name=user.username,
            now=now,
        )

    # -- notification e-mail ----------------------------------------------------------------

    async def _notification(
        self,
        session: AsyncSession,
        row: OutboxMessage,
        user: User,
        category: OutboxCategory,
        now: datetime | None,
    ) -> EmailMessage | None:
        if user.email_verified_at is None:
            return None
        items = await self._items(session, row, category)
        if not items:
            return None
        kinds = sorted({i.kind for i in items})
        unsubscribe = absolute(
            self.settings,
            "/email/unsubscribe/"
            + unsubscribe_token(
                self.signer,
                user_id=user.id,
                kinds=None if category is OutboxCategory.digest else kinds,
            ),
        )
        groups: dict[str, DiscussionGroup] = {}
        for item in items:
            key = str(item.discussion_id)
            if key not in groups:
                url = item.url.split("#", 1)[0]
                groups[key] = DiscussionGroup(title=item.discussion_title, url=url)
            groups[key].items.append(item)
        template = "digest" if category is OutboxCategory.digest else "notification"
        context: dict[str, object] = {
            "items": items,
            "groups": list(groups.values()),
            "discussion": next(iter(groups.values())),
            "kinds": kinds,
            "count": len(items),
            "now": now or utcnow(),
        }
        return self._finish(
            row,
            template,
            context,
            to_address=user.email,
            to_name=user.username,
            unsubscribe_url=unsubscribe,
            now=now,
        )

    async def _items(
        self, session: AsyncSession, row: OutboxMessage, category: OutboxCategory
    ) -> list[Item]:
        n = Notification
        actor = aliased(User)
        query = (
            select(
                n.id,
                n.kind,
                n.created_at,
                n.discussion_id,
                actor.username,
                actor.role.label("actor_role"),
                Post.id.label("post_id"),
                Post.body_md,
                Post.status.label("post_status"),
                Post.deleted_at,
                Discussion.title,
                Discussion.slug,
                Discussion.status.label("discussion_status"),
                Discussion.deleted_at.label("discussion_deleted_at"),
                n.message,
            )
            .join(OutboxItem, OutboxItem.notification_id == n.id)
            .outerjoin(actor, actor.id == n.actor_id)
            .outerjoin(Post, Post.id == n.post_id)
            .outerjoin(Discussion, Discussion.id == n.discussion_id)
            .outerjoin(
                EmailPreference,
                (EmailPreference.user_id == n.user_id) & (EmailPreference.kind == n.kind),
            )
            .where(OutboxItem.outbox_id == row.id)
            .order_by(n.created_at, n.id)
        )
        if not (row.batch_key or "").startswith(ALERT_KEY_PREFIX):  # alerts go regardless
            # the member's choice now: a kind switched off since is left out (one
            # switched between "immediately" and "daily" stays where it was queued)
            query = query.where(mode_expr(n.kind, EmailPreference.mode) != EmailMode.never.value)
        items: list[Item] = []
        for r in await session.execute(query):
            # nobody is told about a post they can no longer see
            if r.kind != NotificationKind.moderation.value and not shown_to_everybody(
                r.post_status if r.post_id is not None else None,
                r.deleted_at,
                r.discussion_status if r.title is not None else None,
                r.discussion_deleted_at,
            ):
                continue
            url = "/notifications"
            if r.discussion_id is not None and r.slug is not None:
                url = discussion_url(r.discussion_id, r.slug)
                if r.post_id is not None:
                    url += f"#post-{r.post_id}"
            text = r.body_md if r.body_md is not None else ""
            if r.kind == NotificationKind.moderation.value and r.message:
                text = r.message
            items.append(
                Item(
                    kind=r.kind,
                    kind_label=ITEM_LABELS.get(r.kind, r.kind),
                    actor=r.username,
                    excerpt=excerpt(text),
                    url=absolute(self.settings, url),
                    created_at=r.created_at,
                    discussion_id=r.discussion_id,
                    discussion_title=r.title or "",
                    footer=MENTOR_FOOTER
                    if r.actor_role == Role.mentor.value
                    and r.kind != NotificationKind.moderation.value
                    else None,
                )
            )
        return items
