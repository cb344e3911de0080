"""Who may see a post or a discussion: the one place the rule is written.

Every read goes through here: `can_see_*` for one object already loaded, `visible_*` for the
SQL of a listing or a count, `shown_to_everybody` for what is sent out (e-mail, feeds, live
events). The rule:

- a published (`visible`) post in a published discussion, neither deleted, is everybody's;
- a held (`pending`) or `hidden` post or discussion is its author's (marked as such) and the
  moderators'; a reply inside a held or hidden discussion goes with its discussion;
- a deleted post is nobody's to read in its thread (its place stays, without its text);
- moderators see everything that is not deleted, marked; deleted posts too, but only where
  they are marked as deleted (the moderators' deleted-posts pages, search results);
- a members-only group (`visibility = 'members'`), its discussions and posts are for
  signed-in members only: to a visitor they do not exist.

Answers for what a viewer may not see are 404, never 403: a 403 would confirm it exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, literal, or_, select, true

from app.access.permissions import Action, can
from app.accounts.models import Actor
from app.core.rows import inline
from app.discussions.models import Discussion, Post, Visibility
from app.groups.models import Group, GroupVisibility
from app.library.models import LibraryPage
from app.notifications.models import Notification, NotificationKind

PUBLISHED = Visibility.visible.value


class _Authored(Protocol):
    @property
    def status(self) -> str: ...
    @property
    def author_id(self) -> int: ...


class _Thread(_Authored, Protocol):
    @property
    def deleted_at(self) -> datetime | None: ...


PUBLIC_GROUP = GroupVisibility.public.value

# The rule's constants as the statements of the hot pages carry them: written into the text
# (`core.rows.inline`), so PostgreSQL keeps one plan for a statement built once (a group's
# listing was planned again on every request with them, and its LIMIT, as parameters).
_PUBLISHED_SQL = inline(PUBLISHED)
_PUBLIC_GROUP_SQL = inline(PUBLIC_GROUP)


def can_see_group(viewer: Actor | None, visibility: str) -> bool:
    """A group by its visibility: members-only groups are for signed-in members."""
    return visibility == PUBLIC_GROUP or viewer is not None


def visible_groups(viewer: Actor | None) -> ColumnElement[bool]:
    """Listings of groups (on a query of `Group`)."""
    return true() if viewer is not None else Group.visibility == _PUBLIC_GROUP_SQL


def in_visible_group(signed_in: Any) -> ColumnElement[bool]:
    """On a query that joins each discussion's `Group`: the group is one this viewer may
    see. `signed_in` is a bool or a bound parameter (for statements built once)."""
    return or_(signed_in, Group.visibility == _PUBLIC_GROUP_SQL)


def _in_public_group() -> ColumnElement[bool]:
    return Discussion.group_id.in_(select(Group.id).where(Group.visibility == _PUBLIC_GROUP_SQL))


def sees_everything(viewer: Actor | None) -> bool:
    return can(viewer, Action.see_hidden_content)


def can_see_status(viewer: Actor | None, item: _Authored) -> bool:
    if item.status == PUBLISHED or sees_everything(viewer):
        return True
    # authors keep seeing what they wrote, marked as awaiting review or hidden
    return viewer is not None and viewer.id == item.author_id


def can_see_discussion(viewer: Actor | None, discussion: _Authored) -> bool:
    """For a discussion already known not to be deleted."""
    return can_see_status(viewer, discussion)


def can_see_post(viewer: Actor | None, post: _Thread, discussion: _Thread | None = None) -> bool:
    """A post, and (when given) the discussion it lives in: a reply inside a discussion the
    viewer may not see is not theirs to read either."""
    if post.deleted_at is not None:
        return False
    if discussion is not None and (
        discussion.deleted_at is not None or not can_see_discussion(viewer, discussion)
    ):
        return False
    return can_see_status(viewer, post)


def shown_to_everybody(
    post_status: str | None,
    post_deleted_at: datetime | None,
    discussion_status: str | None,
    discussion_deleted_at: datetime | None,
) -> bool:
    """What may go out to anyone (e-mail, feeds, live events): published and not deleted,
    in a published discussion that is not deleted. A missing post or discussion (None
    status) is not checked."""
    if post_status is not None and (post_status != PUBLISHED or post_deleted_at is not None):
        return False
    return discussion_status is None or (
        discussion_status == PUBLISHED and discussion_deleted_at is None
    )


def visible_discussions(viewer: Actor | None = None) -> ColumnElement[bool]:
    """Listings of discussions (group pages, home, feeds, search, library links): what
    everybody may see. A viewer who may see more still gets the public listing; their
    own held discussions and the moderators' queue are shown elsewhere. A visitor is not
    shown discussions of members-only groups."""
    public = published_discussions()
    return public if viewer is not None else and_(public, _in_public_group())


def published_discussions() -> ColumnElement[bool]:
    """Published and not deleted, whatever the group: for statements built once for every
    viewer, which add `in_visible_group` with a parameter."""
    return and_(Discussion.status == _PUBLISHED_SQL, Discussion.deleted_at.is_(None))


def published_posts() -> ColumnElement[bool]:
    """Published posts, not deleted, in published discussions not deleted, whatever the
    group: on a query joining each post's `Discussion`, where the viewer's right to the
    discussion's group was checked already (e.g. by `access_discussion`)."""
    return and_(Post.status == PUBLISHED, Post.deleted_at.is_(None), published_discussions())


def sees_deleted(viewer: Actor | None) -> bool:
    """Moderators read deleted posts where they are marked as deleted: the deleted-posts
    pages (app/moderation/deleted.py) and search results (`readable_posts(marked=True)`)."""
    return can(viewer, Action.see_hidden_content)


@dataclass(frozen=True, slots=True)
class PostFacts:
    """What the rule reads of a post, its discussion and its group, wherever a listing
    finds it: the tables themselves (`TABLE_FACTS`), or the copy the search index keeps
    of them with each document (app/search/models.py, kept by triggers)."""

    post_status: Any
    post_author_id: Any
    discussion_status: Any
    discussion_author_id: Any
    alive: ColumnElement[bool]  # neither the post nor its discussion deleted
    in_public_group: ColumnElement[bool]


def _table_facts() -> PostFacts:
    return PostFacts(
        post_status=Post.status,
        post_author_id=Post.author_id,
        discussion_status=Discussion.status,
        discussion_author_id=Discussion.author_id,
        alive=and_(Post.deleted_at.is_(None), Discussion.deleted_at.is_(None)),
        in_public_group=_in_public_group(),
    )


def readable_posts(
    viewer: Actor | None, facts: PostFacts, *, marked: bool = False
) -> ColumnElement[bool]:
    """The rule, over any columns that hold its facts: everybody's posts, plus (for their
    author) their own held or hidden ones, plus (for moderators) every post not deleted,
    and (`marked`: a listing that marks each post others may not read) deleted ones."""
    if sees_everything(viewer):
        return literal(True) if marked and sees_deleted(viewer) else facts.alive
    public = and_(facts.post_status == PUBLISHED, facts.discussion_status == PUBLISHED)
    if viewer is None:
        return and_(facts.alive, public, facts.in_public_group)
    own = and_(
        facts.post_author_id == viewer.id,
        or_(facts.discussion_status == PUBLISHED, facts.discussion_author_id == viewer.id),
    )
    return and_(facts.alive, or_(public, own))


def visible_posts(viewer: Actor | None = None) -> ColumnElement[bool]:
    """Posts this viewer may read, on a query that joins each post's `Discussion`:
    everybody's posts, plus (for their author) their own held or hidden ones, plus
    (for moderators) every post not deleted."""
    return readable_posts(viewer, _table_facts())


def notification_shown_now() -> ColumnElement[bool]:
    """What `Notification.shown` records (kept current when a post's visibility changes,
    so the lists and the header's count read one flag): moderation notices always; the
    others while their post is published and not deleted, in a discussion neither hidden
    nor deleted. (A held discussion's notifications only ever reach its author and staff.)"""
    visible_target = (
        select(literal(1))
        .select_from(Post)
        .join(Discussion, Discussion.id == Notification.discussion_id)
        .where(
            Post.id == Notification.post_id,
            Post.status == PUBLISHED,
            Post.deleted_at.is_(None),
            Discussion.deleted_at.is_(None),
            Discussion.status != Visibility.hidden.value,
        )
        .correlate(Notification)
        .exists()
    )
    return or_(Notification.kind == NotificationKind.moderation.value, visible_target)


def visible_notifications(user_id: Any) -> ColumnElement[bool]:
    """A member's notifications that may be shown to them: lists and unread counts."""
    return and_(Notification.user_id == user_id, Notification.shown)


__all__ = [
    "can_see_group",
    "published_discussions",
    "in_visible_group",
    "visible_groups",
    "can_see_discussion",
    "can_see_post",
    "can_see_status",
    "notification_shown_now",
    "PostFacts",
    "readable_posts",
    "sees_deleted",
    "sees_everything",
    "shown_to_everybody",
    "visible_discussions",
    "visible_notifications",
    "visible_posts",
]


# -- the health library ------------------------------------------------------------------------


class _LibraryPage(Protocol):
    @property
    def is_published(self) -> bool: ...


def can_see_library_page(viewer: Actor | None, page: _LibraryPage) -> bool:
    """An unpublished condition page is the administrators' only (404 for everyone else)."""
    return page.is_published or can(viewer, Action.manage_library)


def visible_library_pages() -> ColumnElement[bool]:
    """Listings, saved items and search show published pages only."""
    return LibraryPage.is_published.is_(True)
