"""The one table of who may do what. Every route asks it, HTML and JSON alike.

Rows are actions, columns the roles allowed; each role also holds everything granted to the
roles below it (visitor < member < mentor < moderator < admin).
"""

from __future__ import annotations

from enum import StrEnum

from app.accounts.models import Actor, Role, Writer, is_suspended
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
    flag_post = "flag_post"
    follow = "follow"
    save_item = "save_item"
    read_notifications = "read_notifications"
    see_unanswered = "see_unanswered"
    use_canned_responses = "use_canned_responses"
    manage_canned_responses = "manage_canned_responses"
    moderate = "moderate"  # the queue: approve, hide, restore, dismiss flags
    see_hidden_content = "see_hidden_content"
    lock_discussion = "lock_discussion"
    pin_discussion = "pin_discussion"
    move_discussion = "move_discussion"
    suspend_members = "suspend_members"
    read_audit_log = "read_audit_log"
    manage_groups = "manage_groups"
    manage_roles = "manage_roles"
    manage_appointments = "manage_appointments"
    manage_site_settings = "manage_site_settings"
    manage_library = "manage_library"  # import, publish and unpublish condition pages


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
    Action.flag_post: Role.member.value,
    Action.follow: Role.member.value,
    Action.save_item: Role.member.value,
    Action.read_notifications: Role.member.value,
    Action.see_unanswered: Role.mentor.value,
    Action.use_canned_responses: Role.mentor.value,
    Action.manage_canned_responses: Role.moderator.value,
    Action.moderate: Role.moderator.value,
    Action.see_hidden_content: Role.moderator.value,
    Action.lock_discussion: Role.moderator.value,
    Action.pin_discussion: Role.moderator.value,
    Action.move_discussion: Role.moderator.value,
    Action.suspend_members: Role.moderator.value,
    Action.read_audit_log: Role.moderator.value,
    Action.manage_groups: Role.admin.value,
    Action.manage_roles: Role.admin.value,
    Action.manage_appointments: Role.admin.value,
    Action.manage_site_settings: Role.admin.value,
    Action.manage_library: Role.admin.value,
}

MESSAGES: dict[Action, str] = {
    Action.edit_any_post: "Only moderators can edit other members' posts.",
    Action.delete_any_post: "Only moderators can delete other members' posts.",
    Action.read_post_history: "Only moderators can read a post's edit history.",
    Action.use_canned_responses: "Only volunteer mentors and moderators can use canned responses.",
    Action.manage_canned_responses: "Only moderators can change canned responses.",
    Action.moderate: "Only moderators can do that.",
    Action.see_unanswered: "Only volunteer mentors and moderators see the unanswered queue.",
    Action.lock_discussion: "Only moderators can lock discussions.",
    Action.pin_discussion: "Only moderators can pin discussions.",
    Action.move_discussion: "Only moderators can move discussions.",
    Action.suspend_members: "Only moderators can suspend members.",
    Action.read_audit_log: "Only moderators can read the audit log.",
    Action.manage_appointments: "Only administrators can manage appointment links.",
    Action.manage_site_settings: "Only administrators can change site settings.",
    Action.manage_groups: "Only administrators can manage groups.",
    Action.manage_roles: "Only administrators can change roles.",
    Action.manage_library: "Only administrators can manage the health library.",
}


def rung(user: Actor | None) -> int:
    return LADDER.index(user.role) if user is not None else 0


def can(user: Actor | None, action: Action) -> bool:
    return rung(user) >= LADDER.index(PERMISSIONS[action])


def check_permission(user: Actor | None, action: Action) -> None:
    """Raise 401 for a visitor who must sign in, 403 for a member without the right."""
    if can(user, action):
        return
    if user is None:
        raise NotAuthenticated("Please sign in to do that.")
    raise Forbidden(MESSAGES.get(action, "You do not have permission to do that."))


def check_can_post(user: Writer) -> None:
    if is_suspended(user):
        raise Forbidden("Your account is suspended, so you cannot post.", code="suspended")
