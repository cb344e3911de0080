"""Which pages a visitor may be served from the cache, and the query parameters each reads.

Keyed by the route's path template (what Starlette puts in `scope["route"]`), so only an
address that routed to one of these pages, and was answered 200, is ever kept. A page's
entry is keyed by its path and the parameters listed here; an address carrying any other
parameter is served the entry of its canonical address when there is one, and never makes
an entry of its own (a flood of random query strings adds nothing). Parameters in
`BYPASS` (the notice shown after a redirect, the crisis resources) change the page for one
person: such requests never touch the cache.

Search is left out on purpose: each search is written to the private search log, and its
combinations of words are too many to be worth keeping.
"""

from __future__ import annotations

PAGES: dict[str, frozenset[str]] = {
    "/": frozenset({"tab"}),
    "/groups": frozenset(),
    "/groups/{slug}": frozenset({"cursor"}),
    "/discussions/{discussion_id}/{slug}": frozenset({"page"}),
    "/library": frozenset({"q"}),
    # the trial-matching form's answers (age, sex, place) are a visitor's own: not kept
    "/library/{slug}": frozenset({"tier"}),
    "/users/{username}": frozenset(),
    "/feeds/latest.atom": frozenset(),
    "/groups/{slug}/feed.atom": frozenset(),
    "/discussions/{discussion_id}/feed.atom": frozenset(),
}

# every parameter some page reads: the only ones that make part of a key
KEYED = frozenset().union(*PAGES.values())
# parameters that make a page one person's (app/core/templating.NOTICES, app/safety)
BYPASS = frozenset({"notice", "support"})
