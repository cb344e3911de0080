from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup
from sqlalchemy import Boolean, Integer, Select, String, and_, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.permissions import Action, check_permission
from app.access.visibility import (
    can_see_group,
    in_visible_group,
    published_discussions,
    visible_groups,
)
from app.accounts.models import Actor, User
from app.core.errors import Conflict, Invalid, NotFound
from app.core.rows import Batch, Query, fetch_all, fetch_batch, fetch_one, inline
from app.core.templating import moment, plural
from app.core.validation import MAX_ID, is_storable
from app.discussions.models import Discussion
from app.groups.models import Group, GroupVisibility
from app.moderation import audit
from app.notifications import follows


async def list_groups(session: AsyncSession, *, viewer: Actor | None) -> list[Group]:
    """The groups this viewer may see (a visitor: the public ones); archived ones leave
    every listing."""
    query = (
        select(Group)
        .where(Group.archived_at.is_(None), visible_groups(viewer))
        .order_by(Group.name)
    )
    return list((await session.scalars(query)).all())


async def set_visibility(
    session: AsyncSession, *, admin: User, group: Group, visibility: str, reason: str = ""
) -> bool:
    """Make a group public or members-only: an administrator's action, in the audit log."""
    check_permission(admin, Action.manage_groups)
    try:
        wanted = GroupVisibility(visibility)
    except ValueError:
        raise Invalid("Visibility is 'public' or 'members'.", field="visibility") from None
    if group.visibility == wanted.value:
        return False
    old = group.visibility
    group.visibility = wanted.value
    await session.flush()
    await audit.record(
        session,
        actor=admin,
        action="set_group_visibility",
        target_type="group",
        target_id=group.id,
        target_label=f"{group.name}: {old} \u2192 {wanted.value}",
        reason=reason,
    )
    return True


async def create_group(
    session: AsyncSession, *, slug: str, name: str, description: str = ""
) -> Group:
    if await session.scalar(select(Group.id).where(Group.slug == slug)) is not None:
        raise Conflict("A group with that address already exists.", field="slug")
    group = Group(slug=slug, name=name, description=description)
    session.add(group)
    await session.flush()
    return group


@dataclass(slots=True)
class GroupView:
    """A group as its page shows it, with the viewer's follow level."""

    id: int
    slug: str
    name: str
    description: str
    discussion_count: int
    created_at: datetime
    last_activity_at: datetime | None
    follow_level: str | None
    archived_at: datetime | None = None
    visibility: str = "public"

    @property
    def members_only(self) -> bool:
        return self.visibility == GroupVisibility.members.value


GROUP_VIEW = Query(
    select(
        Group.id,
        Group.slug,
        Group.name,
        Group.description,
        Group.discussion_count,
        Group.created_at,
        Group.last_activity_at,
        follows.group_level_column(bindparam("viewer", type_=Integer), Group.id),
        Group.archived_at,
        Group.visibility,
    ).where(Group.slug == bindparam("slug", type_=String)),
    GroupView,
)


async def group_view(session: AsyncSession, slug: str, *, viewer: Actor | None) -> GroupView:
    found = None
    if is_storable(slug) and len(slug) <= 80:
        viewer_id = viewer.id if viewer is not None else 0
        found = await fetch_one(session, GROUP_VIEW, slug=slug, viewer=viewer_id)
    if found is None or not can_see_group(viewer, found.visibility):
        raise NotFound("There is no group at this address.")
    return found


@dataclass(slots=True)
class DiscussionRow:
    id: int
    title: str
    slug: str
    reply_count: int
    created_at: datetime
    last_activity_at: datetime
    pinned_at: datetime | None
    is_locked: bool
    author: str
    author_role: str
    group_slug: str
    group_name: str

    @property
    def replies(self) -> str:
        return plural(self.reply_count, "reply", "replies")

    @property
    def last_active(self) -> Markup:
        return moment(self.last_activity_at)


@dataclass(slots=True)
class DiscussionList:
    items: list[DiscussionRow]
    next_cursor: str | None


# built once for everybody: whether the viewer is signed in (members-only groups) is a
# parameter of the statement
_SIGNED_IN = bindparam("signed_in", type_=Boolean)


def summary_query(signed_in: Any = _SIGNED_IN) -> Select[*tuple[Any, ...]]:
    """The columns of a discussion in a listing (`DiscussionRow`), visible ones only: group
    pages, the home page's tabs. `signed_in`: a bool, or (the default) a parameter of the
    statement, for statements built once for everybody."""
    return (
        select(
            Discussion.id,
            Discussion.title,
            Discussion.slug,
            Discussion.reply_count,
            Discussion.created_at,
            Discussion.last_activity_at,
            Discussion.pinned_at,
            Discussion.is_locked,
            User.username,
            User.role,
            Group.slug,
            Group.name,
        )
        .join(User, User.id == Discussion.author_id)
        .join(Group, Group.id == Discussion.group_id)
        .where(published_discussions(), in_visible_group(signed_in))
    )


_GROUP_ID = bindparam("group_id", type_=Integer)
# the group of a group page's one statement (`page_of_group`), by its address
_GROUP_OF_SLUG = (
    select(Group.id).where(Group.slug == bindparam("slug", type_=String)).scalar_subquery()
)


def _pinned(group_id: Any = _GROUP_ID) -> Query[DiscussionRow]:
    return Query(
        summary_query()
        .where(Discussion.group_id == group_id, Discussion.pinned_at.is_not(None))
        .order_by(Discussion.pinned_at.desc())
        .limit(inline(10)),
        DiscussionRow,
    )


PINNED = _pinned()


def _listing(
    *, in_group: bool, after_cursor: bool, limit: int, group_id: Any = _GROUP_ID
) -> Query[DiscussionRow]:
    """Newest activity first. In a group, pinned discussions head the page instead."""
    query = (
        summary_query()
        .order_by(Discussion.last_activity_at.desc(), Discussion.id.desc())
        .limit(inline(limit))
    )
    if in_group:
        query = query.where(Discussion.group_id == group_id, Discussion.pinned_at.is_(None))
    else:  # the site-wide list: archived groups' discussions have left the listings
        query = query.where(Group.archived_at.is_(None))
    if after_cursor:
        stamp = bindparam("stamp", type_=Discussion.last_activity_at.type)
        query = query.where(
            or_(
                Discussion.last_activity_at < stamp,
                and_(
                    Discussion.last_activity_at == stamp,
                    Discussion.id < bindparam("after_id", type_=Integer),
                ),
            )
        )
    return Query(query, DiscussionRow)


_LISTINGS: dict[tuple[bool, bool, int], Query[DiscussionRow]] = {}


def listing(*, in_group: bool, after_cursor: bool, limit: int) -> Query[DiscussionRow]:
    """The listing statement, built once per shape and LIMIT. The LIMIT is written into its
    text (`core.rows.inline`): as a parameter, PostgreSQL costs a generic plan of
    `ORDER BY ... LIMIT $n` as if a tenth of the group's discussions were wanted, so it
    planned the group page's listing again on every request (bind 0.17-0.25 ms of its CPU).
    Few limits are ever asked (the pages' settings, the API's 1 to 100, the home page's)."""
    key = (in_group, after_cursor, limit)
    found = _LISTINGS.get(key)
    if found is None:
        found = _LISTINGS[key] = _listing(in_group=in_group, after_cursor=after_cursor, limit=limit)
    return found


_GROUP_PAGES: dict[tuple[bool, int], Batch] = {}


def _group_page(*, after_cursor: bool, limit: int) -> Batch:
    """A group page's reads in one statement (`core.rows.Batch`: one round trip, not three):
    the group by its address (`GROUP_VIEW`), one page of its discussions (`listing`) and,
    on its first page, its pinned ones (`PINNED`), both of the group found by that
    address. Built once per shape and LIMIT, as `listing`."""
    key = (after_cursor, limit)
    found = _GROUP_PAGES.get(key)
    if found is None:
        parts: list[Query[Any]] = [
            GROUP_VIEW,
            _listing(
                in_group=True, after_cursor=after_cursor, limit=limit, group_id=_GROUP_OF_SLUG
            ),
        ]
        if not after_cursor:
            parts.append(_pinned(_GROUP_OF_SLUG))
        found = _GROUP_PAGES[key] = Batch(*parts)
    return found


@dataclass(slots=True)
class GroupPage:
    group: GroupView
    listing: DiscussionList
    pinned: list[DiscussionRow]  # none after the first page


async def page_of_group(
    session: AsyncSession, slug: str, *, limit: int, viewer: Actor | None, cursor: str | None
) -> GroupPage:
    """The group, if this viewer may see it (as `group_view`), one page of its discussions
    (as `list_discussions`) and, without a cursor, its pinned ones (as
    `pinned_discussions`), in one statement."""
    if not (is_storable(slug) and len(slug) <= 80):
        raise NotFound("There is no group at this address.")
    params: dict[str, Any] = {
        "slug": slug,
        "viewer": viewer.id if viewer is not None else 0,
        "signed_in": viewer is not None,
    }
    if cursor:
        try:
            params["stamp"], params["after_id"] = decode_cursor(cursor)
        except Invalid:
            await group_view(session, slug, viewer=viewer)  # a missing group is 404 first
            raise
    batch = _group_page(after_cursor=bool(cursor), limit=limit + 1)
    groups, rows, *pinned = await fetch_batch(session, batch, **params)
    found = groups[0] if groups else None
    if found is None or not can_see_group(viewer, found.visibility):
        raise NotFound("There is no group at this address.")
    # a part's rows come in no promised order: as each part's ORDER BY says (stable sorts,
    # so rows the ORDER BY leaves tied keep the order they came in)
    rows.sort(key=_by_activity, reverse=True)
    pinned_rows = pinned[0] if pinned else []
    pinned_rows.sort(key=_by_pinned, reverse=True)
    return GroupPage(found, _page_of(rows, limit), pinned_rows)


def _by_activity(row: DiscussionRow) -> tuple[datetime, int]:
    return row.last_activity_at, row.id


def _by_pinned(row: DiscussionRow) -> datetime:
    assert row.pinned_at is not None
    return row.pinned_at


async def pinned_discussions(
    session: AsyncSession, *, group_id: int, viewer: Actor | None
) -> list[DiscussionRow]:
    return await fetch_all(session, PINNED, group_id=group_id, signed_in=viewer is not None)


CURSOR_YEARS = (2000, 9000)


def encode_cursor(last_activity_at: datetime, discussion_id: int) -> str:
    raw = f"{last_activity_at.isoformat()}|{discussion_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, _, ident = raw.partition("|")
        when = datetime.fromisoformat(stamp)
        if when.tzinfo is None:
            raise ValueError("naive timestamp")
        # in UTC, and within the years a discussion can have been active: year 1 with an
        # offset cannot even be moved to UTC, and databases refuse far dates
        when = when.astimezone(UTC)
        if not CURSOR_YEARS[0] <= when.year <= CURSOR_YEARS[1]:
            raise ValueError("date out of range")
        if not (ident.isascii() and ident.isdigit() and len(ident) <= 10):
            raise ValueError("not an id")
        number = int(ident)
        if not 0 < number <= MAX_ID:
            raise ValueError("id out of range")
        return when, number
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise Invalid("The page link is not valid.", field="cursor") from None


async def list_discussions(
    session: AsyncSession,
    *,
    group_id: int | None,
    limit: int,
    viewer: Actor | None,
    cursor: str | None = None,
) -> DiscussionList:
    """Newest activity first, keyset-paginated: page 500 costs what page 1 costs."""
    params: dict[str, Any] = {"signed_in": viewer is not None}
    if group_id is not None:
        params["group_id"] = group_id
    if cursor:
        params["stamp"], params["after_id"] = decode_cursor(cursor)
    query = listing(in_group=group_id is not None, after_cursor=bool(cursor), limit=limit + 1)
    return _page_of(await fetch_all(session, query, **params), limit)


def _page_of(rows: list[DiscussionRow], limit: int) -> DiscussionList:
    """A page of a listing read with one row more than the page holds (`limit + 1`): the
    cursor of the next page when that row came."""
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].last_activity_at, rows[-1].id)
    return DiscussionList(items=rows, next_cursor=next_cursor)
