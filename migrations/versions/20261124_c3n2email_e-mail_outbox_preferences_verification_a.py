"""e-mail outbox, preferences, verification and reset tokens

Revision ID: c3n2email
Revises: c3n1notify
Create Date: 2026-11-24 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c3n2email"
down_revision: str | None = "c3n1notify"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
