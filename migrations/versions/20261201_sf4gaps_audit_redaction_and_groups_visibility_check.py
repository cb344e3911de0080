"""the audit log's one sanctioned redaction; groups' visibility CHECK on SQLite too

The audit log stays append-only, save for one change its triggers now allow: when an account
is deleted, an entry's actor name, or a member target's name (the part of its label before
any ": what changed"), becomes that account's neutral name `former-member-<id>`; nothing else
of the entry may change, and only for an account that is deleted. Entries about accounts
deleted before this revision are redacted here, with the other stored name snapshots.

On SQLite, `groups` gains the CHECK on its visibility that PostgreSQL has had since
sf2groupvis. A batch rebuild of `groups` cannot run with foreign keys enforced (dropping
the old table would cascade to group follows and library links), and the pragma cannot be
turned off inside the migration's transaction; so the CHECK is written into the table's
stored definition (SQLite's documented procedure for schema changes that do not touch the
stored rows), after checking that every row satisfies it.

Revision ID: sf4gaps
Revises: s3speed
Create Date: 2026-12-01 03:10:00
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "sf4gaps"
down_revision: str | None = "s3speed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFUSED = "audit log entries cannot be changed or deleted"
VISIBILITY_CHECK = "visibility IN ('public', 'members')"


def _sanctioned(position: str) -> str:
    """The condition an UPDATE of an audit entry must meet: only the names change, each to
    the neutral name of its deleted account. `position` is the dialect's strpos/instr."""
    deleted = "EXISTS (SELECT 1 FROM users WHERE users.id = {} AND users.deleted_at IS NOT NULL)"
    suffix = (
        f"CASE WHEN {position}(OLD.target_label, ':') > 0 "
        f"THEN substr(OLD.target_label, {position}(OLD.target_label, ':')) ELSE '' END"
    )
    return (
        "NEW.id = OLD.id AND NEW.action = OLD.action AND NEW.target_type = OLD.target_type "
        "AND NEW.reason = OLD.reason AND NEW.created_at = OLD.created_at "
        "AND NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id "
        "AND NEW.target_id IS NOT DISTINCT FROM OLD.target_id "
        "AND (NEW.actor_name = OLD.actor_name OR ("
        "NEW.actor_name = 'former-member-' || OLD.actor_id "
        f"AND {deleted.format('OLD.actor_id')})) "
        "AND (NEW.target_label = OLD.target_label OR ("
        "OLD.target_type = 'user' "
        f"AND NEW.target_label = 'former-member-' || OLD.target_id || {suffix} "
        f"AND {deleted.format('OLD.target_id')}))"
    )


def _redact_already_deleted(position: str) -> None:
    deleted = "(SELECT id FROM users WHERE deleted_at IS NOT NULL)"
    op.execute(
        "UPDATE audit_log SET actor_name = 'former-member-' || actor_id "
        f"WHERE actor_id IN {deleted} AND actor_name <> 'former-member-' || actor_id"
    )
    op.execute(
        "UPDATE audit_log SET target_label = 'former-member-' || target_id || "
        f"CASE WHEN {position}(target_label, ':') > 0 "
        f"THEN substr(target_label, {position}(target_label, ':')) ELSE '' END "
        f"WHERE target_type = 'user' AND target_id IN {deleted}"
    )
    op.execute(
        "UPDATE post_revisions SET editor_name = 'former-member-' || editor_id "
        f"WHERE editor_id IN {deleted}"
    )
    for table in ("flags", "safety_reviews"):
        op.execute(
            f"UPDATE {table} SET resolved_by_name = 'former-member-' || resolved_by_id "
            f"WHERE resolved_by_id IN {deleted}"
        )


def _sqlite_groups_definition(add: bool) -> None:
    bind = op.get_bind()
    sql = bind.execute(
        text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'groups'")
    ).scalar_one()
    clause = f"CONSTRAINT ck_groups_visibility_known CHECK ({VISIBILITY_CHECK})"
    if add:
        if clause in sql:
            return
        bad = bind.execute(
            text(f"SELECT count(*) FROM groups WHERE NOT ({VISIBILITY_CHECK})")
        ).scalar_one()
        if bad:
            raise RuntimeError(f"{bad} groups have an unknown visibility: fix them first")
        closing = sql.rindex(")")
        new_sql = sql[:closing].rstrip() + ",\n\t" + clause + "\n)"
    else:
        new_sql = sql.replace(",\n\t" + clause + "\n)", "\n)")
    version = bind.execute(text("PRAGMA schema_version")).scalar_one()
    bind.execute(text("PRAGMA writable_schema = ON"))
    bind.execute(
        text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = 'groups'"),
        {"sql": new_sql},
    )
    bind.execute(text(f"PRAGMA schema_version = {int(version) + 1}"))
    bind.execute(text("PRAGMA writable_schema = OFF"))
    check = bind.execute(text("PRAGMA integrity_check")).scalar_one()
    if check != "ok":
        raise RuntimeError(f"groups after adding its CHECK: {check}")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION audit_log_is_append_only() RETURNS trigger AS $$ BEGIN "
            f"IF TG_OP = 'UPDATE' AND coalesce(({_sanctioned('strpos')}), false) THEN "
            "RETURN NEW; END IF; "
            f"RAISE EXCEPTION '{REFUSED}'; END; $$ LANGUAGE plpgsql"
        )
        _redact_already_deleted("strpos")
    else:
        op.execute("DROP TRIGGER audit_log_no_update")
        sanctioned = _sanctioned("instr").replace("IS NOT DISTINCT FROM", "IS")
        op.execute(
            "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
            f"WHEN NOT coalesce(({sanctioned}), 0) "
            f"BEGIN SELECT RAISE(ABORT, '{REFUSED}'); END"
        )
        _redact_already_deleted("instr")
        _sqlite_groups_definition(add=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION audit_log_is_append_only() RETURNS trigger AS $$ BEGIN "
            f"RAISE EXCEPTION '{REFUSED}'; END; $$ LANGUAGE plpgsql"
        )
    else:
        _sqlite_groups_definition(add=False)
        op.execute("DROP TRIGGER audit_log_no_update")
        op.execute(
            "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
            f"BEGIN SELECT RAISE(ABORT, '{REFUSED}'); END"
        )
