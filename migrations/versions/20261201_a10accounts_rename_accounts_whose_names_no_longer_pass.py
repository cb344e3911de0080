"""rename accounts whose names no longer pass

Data only. The username check used `re.match` with `$`, which let a final newline through:
"moderator\\n" was accepted and shown as "moderator". The rule is now whole
(app/accounts/names.py: full match, no reserved name nor its look-alike skeleton). This
finds the accounts made before whose names fail it and renames each (the old name without
the characters that may not appear, when that passes and is free; else `member-<id>`),
printing one line per rename. `kindred users check-names` applies the same rule to a
database at any later time and reports (`--fix` renames).

Revision ID: a10accounts
Revises: sf3deletion
Create Date: 2026-12-01 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a10accounts"
down_revision: str | None = "sf3deletion"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    from app.accounts.names import rename_plan

    bind = op.get_bind()
    rows = [(r.id, r.username) for r in bind.execute(sa.text("SELECT id, username FROM users"))]
    taken = {name.lower() for _, name in rows}
    for account_id, old, new, why in rename_plan(sorted(rows), taken):
        bind.execute(
            sa.text("UPDATE users SET username = :new, username_key = :key WHERE id = :id"),
            {"new": new, "key": new.lower(), "id": account_id},
        )
        print(f"a10accounts: renamed account #{account_id} from {old!r} to {new!r} ({why})")


def downgrade() -> None:
    pass  # the old names were the hole: they are not given back
