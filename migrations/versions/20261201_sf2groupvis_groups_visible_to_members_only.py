"""groups visible to members only

A group's visibility: `public` (everybody) or `members` (signed-in members only; invisible
to visitors everywhere). Existing groups stay public.

Revision ID: sf2groupvis
Revises: sf1safety
Create Date: 2026-12-01 00:43:03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "sf2groupvis"
down_revision: str | None = "sf1safety"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHECK = "visibility IN ('public', 'members')"


def upgrade() -> None:
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "visibility",
                sa.String(length=10),
                server_default=sa.text("'public'"),
                nullable=False,
            )
        )
    # On SQLite a new CHECK means rebuilding `groups`, which every discussion references:
    # there the rule is held by the application (the API accepts only these two values).
    if op.get_bind().dialect.name == "postgresql":
        op.create_check_constraint("ck_groups_visibility_known", "groups", CHECK)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("ck_groups_visibility_known", "groups", type_="check")
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_column("visibility")
