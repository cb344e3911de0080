"""How pages and the API show discussions and posts: plain dataclasses filled from one row
each, and what depends on the viewer (concealed, editable, the actions offered)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup

from app.access.permissions import Action, can
from app.accounts.models import Actor, Role
from app.core.templating import moment
from app.core.text import plain_text
from app.core.urls import discussion_url
from app.discussions.models import (
    ReactionKind,
    Visibility,
)

# Indentation stops here; deeper replies say whom they answer instead.
MAX_INDENT = 3


@dataclass(slots=True)
class PostView:
    """A post as pages and the API show it: plain values from one row."""

    id: int
    reply_to_id: int | None
    root_id: int | None
    depth: int
    is_opening: bool
    body_md: str
    body_html: str
    created_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None
    status: str
    helpful_count: int
    hug_count: int
    author_id: int
    author: str
    author_role: str
    # the viewer's own reactions, as bits (REACTION_BITS); None for none
    my_reactions: int | None = None
    # deeper than MAX_INDENT: whom it answers
    in_reply_to: str | None = None
    indent: int = 0
    # a hidden post shows as a placeholder to those who may not read it
    concealed: bool = False
    # the viewer may edit it
    editable: bool = False

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def pending(self) -> bool:
        return self.status == Visibility.pending

    @property
    def hidden(self) -> bool:
        return self.status == Visibility.hidden

    @property
    def badge(self) -> str | None:
        return Role(self.author_role).badge

    @property
    def counts(self) -> dict[str, int]:
        return {"helpful": self.helpful_count, "hug": self.hug_count}

    @property
    def my_helpful(self) -> bool:
        return bool(self.my_reactions and self.my_reactions & REACTION_BITS[ReactionKind.helpful])

    @property
    def my_hug(self) -> bool:
        return bool(self.my_reactions and self.my_reactions & REACTION_BITS[ReactionKind.hug])

    @property
    def mine(self) -> list[str]:
        bits = self.my_reactions or 0
        return [kind.value for kind, bit in REACTION_BITS.items() if bits & bit]

    @property
    def when(self) -> Markup:
        return moment(self.created_at)

    @property
    def css_class(self) -> str:
        classes = f"post indent-{self.indent}"
        if self.is_opening:
            classes += " opening"
        if self.deleted_at is not None:
            classes += " deleted"
        if self.concealed:
            classes += " concealed"
        elif self.status == Visibility.pending:
            classes += " pending"
        elif self.status == Visibility.hidden:
            classes += " hidden-post"
        return classes

    def seen_by(self, viewer: Seer) -> PostView:
        """Fill in what depends on the viewer (after the visibility filter of the query)."""
        if not viewer.sees_hidden:
            self.concealed = self.status == Visibility.hidden and self.author_id != viewer.id
        self.editable = self.deleted_at is None and (
            viewer.edits_any or (viewer.edits_own and self.author_id == viewer.id)
        )
        return self


@dataclass(frozen=True, slots=True)
class Seer:
    """The viewer of a page of posts, the permission table read once per page rather
    than once per post."""

    id: int  # 0: a visitor
    sees_hidden: bool
    edits_own: bool
    edits_any: bool

    @classmethod
    def of(cls, viewer: Actor | None) -> Seer:
        return cls(
            id=viewer.id if viewer is not None else 0,
            sees_hidden=can(viewer, Action.see_hidden_content),
            edits_own=can(viewer, Action.edit_own_post),
            edits_any=can(viewer, Action.edit_any_post),
        )


@dataclass(frozen=True, slots=True)
class PostActions:
    """What the viewer of a page of posts may do with them (the `v` of `posts(items, v)`,
    app/discussions/post_html.py)."""

    viewer_id: int  # 0: a visitor
    csrf_token: str
    can_reply: bool
    can_flag: bool
    can_moderate: bool
    return_to: str  # where a moderator's action on a post comes back to

    @classmethod
    def of(
        cls,
        viewer: Actor | None,
        *,
        csrf_token: str,
        return_to: str,
        locked: bool = False,
        archived: bool = False,
    ) -> PostActions:
        return cls(
            viewer_id=viewer.id if viewer is not None else 0,
            csrf_token=csrf_token,
            can_reply=can(viewer, Action.reply)
            and not archived
            and (not locked or can(viewer, Action.lock_discussion)),
            can_flag=can(viewer, Action.flag_post),
            can_moderate=can(viewer, Action.moderate),
            return_to=return_to,
        )


@dataclass(slots=True)
class GroupRef:
    id: int
    slug: str
    name: str


@dataclass(slots=True)
class DiscussionHead:
    """A discussion as its page shows it: with its group, its author and the viewer's
    follow level, in one row."""

    id: int
    title: str
    slug: str
    status: str
    author_id: int
    group_id: int
    reply_count: int
    top_level_count: int
    created_at: datetime
    last_activity_at: datetime
    is_locked: bool
    pinned_at: datetime | None
    group_slug: str
    group_name: str
    author: str
    author_role: str
    follow_level: str | None
    group_archived_at: datetime | None = None
    # the moderator who locked it (from the audit log), when it is locked
    locked_by: str | None = None
    # the viewer is a new member whose next post waits for a moderator (initial_status)
    viewer_held: bool = False
    # a members-only group's pages are not for visitors or robots
    group_visibility: str = "public"

    @property
    def url(self) -> str:
        return discussion_url(self.id, self.slug)

    @property
    def group(self) -> GroupRef:
        return GroupRef(self.group_id, self.group_slug, self.group_name)


@dataclass(slots=True)
class DiscussionPage:
    discussion: DiscussionHead
    opening: PostView | None
    replies: list[PostView]
    page: int
    pages: int

    @property
    def group(self) -> GroupRef:
        return self.discussion.group

    @property
    def follow_level(self) -> str | None:
        return self.discussion.follow_level

    @property
    def last_post_id(self) -> int:
        """Where live updates take over from."""
        ids = [p.id for p in self.replies]
        if self.opening is not None:
            ids.append(self.opening.id)
        return max(ids, default=0)

    @property
    def url(self) -> str:
        return self.discussion.url


REACTION_BITS = {ReactionKind.helpful: 1, ReactionKind.hug: 2}


@dataclass(slots=True)
class AuthoredPost:
    id: int
    discussion_id: int
    title: str
    slug: str
    body_html: str
    created_at: datetime
    is_opening: bool
    status: str = Visibility.visible.value

    @property
    def excerpt(self) -> str:
        """The start of what the post says, as text: its rendered Markdown without the
        markup (`**third cycle**` reads "third cycle")."""
        text = " ".join(plain_text(self.body_html).split())
        return text if len(text) <= 160 else text[:157] + "…"
