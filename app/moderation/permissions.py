"""The one table of who may do what. Every route asks it, HTML and JSON alike.

Rows are actions, columns the roles allowed; each role also holds everything granted to the
roles below it (visitor < member < mentor < moderator < admin).
"""

from __future__ import annotations

from enum import StrEnum

from app.accounts.models import Role, User
from app.core.errors import Forbidden, NotAuthenticated


class Action(StrEnum):
    read = "read"
    start_discussion = "start_discussion"
    reply = "reply"
    react = "react"
    edit_own_post = "edit_own_post"
    delete_own_post = "delete_own_post"
    edit_own_profile = "edit_own_profile"
    edit_any_post = "edit_any_post"
    delete_any_post = "delete_any_post"
    read_post_history = "read_post_history"
    manage_groups = "manage_groups"
    manage_roles = "manage_roles"


VISITOR = "visitor"
LADDER = [VISITOR, Role.member.value, Role.mentor.value, Role.moderator.value, Role.admin.value]

# action -> the lowest rung of the ladder that may do it
PERMISSIONS: dict[Action, str] = {
    Action.read: VISITOR,
    Action.start_discussion: Role.member.value,
    Action.reply: Role.member.value,
    Action.react: Role.member.value,
    Action.edit_own_post: Role.member.value,
    Action.delete_own_post: Role.member.value,
    Action.edit_own_profile: Role.member.value,
    Action.edit_any_post: Role.moderator.value,
    Action.delete_any_post: Role.moderator.value,
    Action.read_post_history: Role.moderator.value,
    Action.manage_groups: Role.admin.value,
    Action.manage_roles: Role.admin.value,
}

MESSAGES: dict[Action, str] = {
    Action.edit_any_post: "Only moderators can edit other members' posts.",
    Action.delete_any_post: "Only moderators can delete other members' posts.",
    Action.read_post_history: "Only moderators can read a post's edit history.",
    Action.manage_groups: "Only administrators can manage groups.",
    Action.manage_roles: "Only administrators can change roles.",
}


def rung(user: User | None) -> int:
    return LADDER.index(user.role) if user is not None else 0


def can(user: User | None, action: Action) -> bool:
    return rung(user) >= LADDER.index(PERMISSIONS[action])


def check_permission(user: User | None, action: Action) -> None:
    """Raise 401 for a visitor who must sign in, 403 for a member without the right."""
    if can(user, action):
        return
    if user is None:
        raise NotAuthenticated("Please sign in to do that.")
    raise Forbidden(MESSAGES.get(action, "You do not have permission to do that."))
