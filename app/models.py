"""Every domain's models, imported in one place for alembic and the test database."""

from app.accounts.models import ApiToken, PasswordReset, User, UserSession
from app.db import Base
from app.discussions.models import Discussion, Post, PostRevision, Reaction
from app.email.models import (
    EmailPreference,
    OutboxItem,
    OutboxMessage,
)
from app.groups.models import Group
from app.library.models import (
    Advance,
    LibraryPage,
    LibraryPerson,
    LibraryReference,
    LibrarySection,
    PageGroup,
    PageTrial,
    SavedItem,
    Specialist,
    Trial,
    TrialLocation,
)
from app.moderation.models import (
    AppointmentDestination,
    AuditEntry,
    CannedResponse,
    Flag,
    SiteSettings,
)
from app.notifications.models import DiscussionFollow, GroupFollow, Notification, PostMention
from app.safety.models import SafetyReview, UsernameHold
from app.search.models import SearchDocument, SearchTermDay

__all__ = [
    "Advance",
    "LibraryPage",
    "LibraryPerson",
    "LibraryReference",
    "LibrarySection",
    "PageGroup",
    "PageTrial",
    "SavedItem",
    "Specialist",
    "Trial",
    "TrialLocation",
    "ApiToken",
    "AppointmentDestination",
    "AuditEntry",
    "CannedResponse",
    "Flag",
    "SiteSettings",
    "Base",
    "Discussion",
    "DiscussionFollow",
    "GroupFollow",
    "Notification",
    "PostMention",
    "Group",
    "Post",
    "PostRevision",
    "Reaction",
    "SearchDocument",
    "SearchTermDay",
    "User",
    "UserSession",
    "EmailPreference",
    "OutboxItem",
    "OutboxMessage",
    "PasswordReset",
    "SafetyReview",
    "UsernameHold",
]
