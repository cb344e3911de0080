"""The page cache for visitors: rendered pages kept in each server process, served before
anything else runs, and dropped in every process the moment a write commits.

- `pages.py`: which routes are pages a visitor may be served from the cache, and which
  query parameters each one reads (the rest never makes a new entry);
- `store.py`: the bounded store (entries and bytes), segmented LRU so a flood of one-off
  addresses cannot push out the pages people read;
- `middleware.py`: the outermost ASGI callable: a hit is a header scan, a dict look-up and
  two `send` calls; a miss runs the app and keeps the answer if it may be kept. ETag,
  Last-Modified and 304s for the pages of `pages.py`, cached or not;
- `shared.py`: a change counter in a small memory-mapped file in KINDRED_VAR_DIR, shared
  by every process on the host and read on every request;
- `invalidation.py`: which committed writes change what visitors see (watched on the
  engine, so no write path can forget), and the fan-out between hosts (Redis pub/sub or
  PostgreSQL LISTEN/NOTIFY) with the rule that a process which may have missed a message
  serves nothing from its cache until it has caught up.
"""
