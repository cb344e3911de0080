"""A member's data, as a ZIP streamed while it is read: JSON files (and a CSV of posts).

Constant memory whatever the member's size: rows are read in keyset batches of
`BATCH` on a session of the export's own (the request's session is gone once the response
starts), each batch is written into the ZIP member being built, and the compressed bytes go
out as soon as there are a few of them. `zipfile` writes to a stream it cannot seek by
putting each member's sizes after its data, which every unzip tool reads.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

from sqlalchemy import case, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from app.accounts.models import ApiToken, User, UserSession
from app.discussions.models import Discussion, Post, PostRevision, Reaction
from app.email.models import EmailPreference
from app.groups.models import Group
from app.library.models import SavedItem
from app.moderation.models import AuditEntry, Flag
from app.notifications.models import DiscussionFollow, GroupFollow, Notification

BATCH = 500
FLUSH_BYTES = 64 * 1024

README = """Your data from {site}, exported {when} UTC for {username}.

profile.json        your account: name, e-mail, about you, country, preferences
posts.json          every post you wrote, deleted ones included, each with its earlier versions
posts.csv           the same posts, one row each (the text as it is now)
reactions.json      the reactions you gave
follows.json        the discussions and groups you follow
flags.json          the posts you flagged for moderators, and what became of each flag
notifications.json  your notifications
sessions.json       where you are signed in (no session keys)
tokens.json         your API tokens (names and dates; the tokens themselves are never stored)
moderation.json     what moderators did about you, your posts and your discussions (the audit log)
saved.json          the library pages and discussions you saved for later
"""


class _Sink(io.RawIOBase):
    """Where the ZIP is written: bytes kept until the response takes them."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.chunks.append(chunk)
        self.size += len(chunk)
        return len(chunk)

    def take(self) -> bytes:
        out = b"".join(self.chunks)
        self.chunks.clear()
        self.size = 0
        return out


def _json(value: Any) -> bytes:
    return json.dumps(value, default=_plain, ensure_ascii=False, indent=1).encode()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot export {type(value).__name__}")


async def _batches(
    session: AsyncSession, query: Any, key: Any
) -> AsyncIterator[list[dict[str, Any]]]:
    """Rows of `query` (which selects `key` as "key"), BATCH at a time, in key order."""
    after = None
    while True:
        page = query.order_by(key).limit(BATCH)
        if after is not None:
            page = page.where(key > after)
        rows = [dict(r._mapping) for r in (await session.execute(page)).all()]
        if not rows:
            return
        after = rows[-1]["key"]
        for row in rows:
            row.pop("key", None)
        yield rows
        if len(rows) < BATCH:
            return


async def _array(batches: AsyncIterator[list[dict[str, Any]]]) -> AsyncIterator[bytes]:
    yield b"["
    first = True
    async for rows in batches:
        for row in rows:
            yield (b"\n" if first else b",\n") + _json(row)
            first = False
    yield b"\n]\n"


# -- what goes in ---------------------------------------------------------------------------


async def _profile(session: AsyncSession, user_id: int) -> AsyncIterator[bytes]:
    user = await session.get_one(User, user_id)
    preferences = (
        await session.execute(
            select(EmailPreference.kind, EmailPreference.mode).where(
                EmailPreference.user_id == user_id
            )
        )
    ).all()
    yield _json(
        {
            "username": user.username,
            "email": user.email,
            "email_verified_at": user.email_verified_at,
            "role": user.role,
            "bio": user.bio,
            "country": user.country,
            "joined_at": user.created_at,
            "password_changed_at": user.password_changed_at,
            "suspended_at": user.suspended_at,
            "suspended_until": user.suspended_until,
            "suspension_reason": user.suspension_reason,
            "preferences": {
                "auto_follow": user.auto_follow,
                "email": {kind: mode for kind, mode in preferences},
            },
        }
    )


def _posts_query(user_id: int) -> Any:
    return (
        select(
            Post.id.label("key"),
            Post.id,
            Post.discussion_id,
            Discussion.title.label("discussion_title"),
            Post.reply_to_id.label("reply_to"),
            Post.is_opening,
            Post.status,
            Post.created_at,
            Post.edited_at,
            Post.deleted_at,
            Post.body_md.label("body"),
        )
        .join(Discussion, Discussion.id == Post.discussion_id)
        .where(Post.author_id == user_id)
    )


async def _posts_with_revisions(
    session: AsyncSession, user_id: int
) -> AsyncIterator[list[dict[str, Any]]]:
    async for rows in _batches(session, _posts_query(user_id), Post.id):
        revisions: dict[int, list[dict[str, Any]]] = {}
        found = await session.execute(
            select(
                PostRevision.post_id,
                PostRevision.created_at,
                PostRevision.editor_name,
                PostRevision.title,
                PostRevision.body_md,
                PostRevision.reason,
            )
            .where(PostRevision.post_id.in_([r["id"] for r in rows]))
            .order_by(PostRevision.id)
        )
        for r in found:
            revisions.setdefault(r.post_id, []).append(
                {
                    "replaced_at": r.created_at,
                    "edited_by": r.editor_name,
                    "title": r.title,
                    "body": r.body_md,
                    "reason": r.reason,
                }
            )
        for row in rows:
            row["earlier_versions"] = revisions.get(row["id"], [])
        yield rows


async def _posts_json(session: AsyncSession, user_id: int) -> AsyncIterator[bytes]:
    async for chunk in _array(_posts_with_revisions(session, user_id)):
        yield chunk


CSV_FIELDS = [
    "id",
    "discussion_id",
    "discussion_title",
    "reply_to",
    "is_opening",
    "status",
    "created_at",
    "edited_at",
    "deleted_at",
    "body",
]


async def _posts_csv(session: AsyncSession, user_id: int) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS)
    writer.writeheader()
    async for rows in _batches(session, _posts_query(user_id), Post.id):
        for row in rows:
            writer.writerow({k: _cell(row[k]) for k in CSV_FIELDS})
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue().encode()


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value  # a spreadsheet must not run a formula written in a post
    return "" if value is None else value


def _simple(query: Callable[[int], Any], key: Any) -> Any:
    async def produce(session: AsyncSession, user_id: int) -> AsyncIterator[bytes]:
        async for chunk in _array(_batches(session, query(user_id), key)):
            yield chunk

    return produce


# one number per reaction of a member (a post has at most one of each kind from them)
REACTION_KEY = Reaction.post_id * 2 + case((Reaction.kind == "hug", 1), else_=0)


def _reactions(user_id: int) -> Any:
    return select(
        REACTION_KEY.label("key"),
        Reaction.post_id,
        Reaction.kind,
        Reaction.created_at,
    ).where(Reaction.user_id == user_id)


def _discussion_follows(user_id: int) -> Any:
    return (
        select(
            DiscussionFollow.discussion_id.label("key"),
            DiscussionFollow.discussion_id,
            Discussion.title,
            DiscussionFollow.level,
        )
        .join(Discussion, Discussion.id == DiscussionFollow.discussion_id)
        .where(DiscussionFollow.user_id == user_id)
    )


def _group_follows(user_id: int) -> Any:
    return (
        select(
            GroupFollow.group_id.label("key"),
            Group.slug.label("group"),
            Group.name,
            GroupFollow.level,
        )
        .join(Group, Group.id == GroupFollow.group_id)
        .where(GroupFollow.user_id == user_id)
    )


async def _follows(session: AsyncSession, user_id: int) -> AsyncIterator[bytes]:
    """Both lists in batches: replying follows a discussion, so a member's follows grow
    with what they wrote."""
    yield b'{"discussions": '
    async for chunk in _array(
        _batches(session, _discussion_follows(user_id), DiscussionFollow.discussion_id)
    ):
        yield chunk
    yield b', "groups": '
    async for chunk in _array(_batches(session, _group_follows(user_id), GroupFollow.group_id)):
        yield chunk
    yield b"}\n"


def _flags(user_id: int) -> Any:
    return select(
        Flag.id.label("key"),
        Flag.post_id,
        Flag.reason,
        Flag.note,
        Flag.created_at,
        Flag.resolved_at,
        Flag.resolution,
    ).where(Flag.reporter_id == user_id)


def _notifications(user_id: int) -> Any:
    actor = aliased(User)
    return (
        select(
            Notification.id.label("key"),
            Notification.kind,
            Notification.post_id,
            Notification.discussion_id,
            actor.username.label("from"),
            Notification.message,
            Notification.created_at,
            Notification.read_at,
        )
        .outerjoin(actor, actor.id == Notification.actor_id)
        .where(Notification.user_id == user_id)
    )


def _sessions(user_id: int) -> Any:
    return select(
        UserSession.id.label("key"),  # for the order only: not exported
        UserSession.created_at,
        UserSession.last_seen_at,
        UserSession.expires_at,
        UserSession.user_agent,
    ).where(UserSession.user_id == user_id)


def _tokens(user_id: int) -> Any:
    return select(
        ApiToken.id.label("key"),
        ApiToken.name,
        ApiToken.created_at,
        ApiToken.last_used_at,
        ApiToken.expires_at,
    ).where(ApiToken.user_id == user_id)


def _saved(user_id: int) -> Any:
    return select(
        SavedItem.id.label("key"),
        SavedItem.page_id,
        SavedItem.discussion_id,
        SavedItem.created_at,
    ).where(SavedItem.user_id == user_id)


def _moderation(user_id: int) -> Any:
    """What moderators did about the member, their posts and the discussions they started
    (locked, pinned, moved)."""
    mine = select(Post.id).where(Post.author_id == user_id)
    started = select(Discussion.id).where(Discussion.author_id == user_id)
    return select(
        AuditEntry.id.label("key"),
        AuditEntry.created_at,
        AuditEntry.actor_name.label("moderator"),
        AuditEntry.action,
        AuditEntry.target_type,
        AuditEntry.target_id,
        AuditEntry.target_label.label("target"),
        AuditEntry.reason,
    ).where(
        or_(
            (AuditEntry.target_type == "user") & (AuditEntry.target_id == user_id),
            (AuditEntry.target_type == "post") & AuditEntry.target_id.in_(mine),
            (AuditEntry.target_type == "discussion") & AuditEntry.target_id.in_(started),
        )
    )


async def _readme(session: AsyncSession, user_id: int) -> AsyncIterator[bytes]:
    user = await session.get_one(User, user_id)
    settings = session.info.get("settings")
    yield README.format(
        site=getattr(settings, "site_name", "Kindred"),
        when=datetime.now().astimezone().strftime("%Y-%m-%d %H:%M"),
        username=user.username,
    ).encode()


FILES: list[tuple[str, Any]] = [
    ("README.txt", _readme),
    ("profile.json", _profile),
    ("posts.json", _posts_json),
    ("posts.csv", _posts_csv),
    ("reactions.json", _simple(_reactions, REACTION_KEY)),
    ("follows.json", _follows),
    ("flags.json", _simple(_flags, Flag.id)),
    ("notifications.json", _simple(_notifications, Notification.id)),
    ("sessions.json", _simple(_sessions, UserSession.id)),
    ("tokens.json", _simple(_tokens, ApiToken.id)),
    ("moderation.json", _simple(_moderation, AuditEntry.id)),
    ("saved.json", _simple(_saved, SavedItem.id)),
]


async def export_zip(
    sessionmaker: async_sessionmaker[AsyncSession], *, user_id: int, settings: Any = None
) -> AsyncIterator[bytes]:
    """The ZIP of a member's data, in chunks, read on a session of its own."""
    sink = _Sink()
    archive = zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED)
    async with sessionmaker() as session:
        session.info["settings"] = settings
        for name, produce in FILES:
            with archive.open(name, "w", force_zip64=True) as member:
                async for chunk in produce(session, user_id):
                    member.write(chunk)
                    if sink.size >= FLUSH_BYTES:
                        yield sink.take()
            yield sink.take()
    archive.close()
    yield sink.take()
