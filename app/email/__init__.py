"""E-mail delivery: the durable outbox, composing, the SMTP (or .eml) transport, the worker,
and members' e-mail preferences."""
