"""Who may do and see what: the role x action table, check_*, access_* and visible_* helpers."""
