"""who may hide a post by flagging: flags count toward the automatic hide only from members
in good standing (a verified e-mail and `flag_trust_posts` published posts, or an account
`flag_trust_days` old)

Revision ID: m9mod
Revises: p2shownfill
Create Date: 2026-12-01 00:20:13.198031
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'm9mod'
down_revision: str | None = 'p2shownfill'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('site_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flag_trust_posts', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('flag_trust_days', sa.Integer(), server_default='30', nullable=False))
        batch_op.create_check_constraint('flag_trust_posts_not_negative', 'flag_trust_posts >= 0')
        batch_op.create_check_constraint('flag_trust_days_not_negative', 'flag_trust_days >= 0')


def downgrade() -> None:
    with op.batch_alter_table('site_settings', schema=None) as batch_op:
        batch_op.drop_constraint('flag_trust_days_not_negative', type_='check')
        batch_op.drop_constraint('flag_trust_posts_not_negative', type_='check')
        batch_op.drop_column('flag_trust_days')
        batch_op.drop_column('flag_trust_posts')
