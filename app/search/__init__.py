"""Search and discovery: one full-text index over the databases' own engines (SQLite FTS5,
PostgreSQL tsvector), the query language people type, similar discussions, the unanswered
queue, Atom feeds and the private daily search log."""
