"""built-in canned responses and appointment destinations (data)

Revision ID: a4d2builtins
Revises: a4d1moderation
Create Date: 2026-11-24 07:50:00
"""

from collections.abc import Sequence

revision: str = "a4d2builtins"
down_revision: str | None = "a4d1moderation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
