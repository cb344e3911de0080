"""mentions, follows and notifications

Revision ID: c3n1notify
Revises: a4d2builtins
Create Date: 2026-11-24 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c3n1notify"
down_revision: str | None = "a4d2builtins"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
