"""Which pages a visitor may be served from the cache, and the query parameters each reads.

Keyed by the route's path template (what Starlette puts in `scope["route"]`), so only an
address that routed to one of these pages, and was answered 200, is ever kept. A page's
entry is keyed by its path and the parameters listed here. Tracking parameters that no
page reads (`IGNORED`: utm_*, fbclid, ...) are dropped: such an address is served the
entry of its canonical address, and never makes one of its own. Any other parameter
(one a page reads without it being listed, such as the library's trial-matching answers,
or random junk) sends the request past the cache to the app, and nothing is kept: so a
flood of random query strings adds nothing, and a parameter a page reads can never be
answered with the page rendered without it. Parameters in `BYPASS` (the notice shown
after a redirect, the crisis resources) make the page one person's, likewise.

Searches are kept like the library's filter: a visitor's search writes nothing (only
signed-in members' searches are counted in the private search log, and theirs carry a
session, so they never reach the cache), its answer changes only when what visitors see
changes, and the people who arrive with a question ask the same few ones (the search log's
top searches). Any value of `q` is a page, so a flood of distinct searches makes entries
that are each asked for once: they stay in the store's probation segment and push out only
each other, never the pages people keep reading (`cache.store`).
"""

from __future__ import annotations

# what a search reads (app/search/pages.search_page and api.search take the same)
SEARCH = frozenset({"q", "type", "group", "author", "after", "before", "cursor"})

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
    "/search": SEARCH,
    "/api/v1/search": SEARCH,
}

# every parameter some page reads: the only ones that make part of a key
KEYED = frozenset().union(*PAGES.values())
# parameters that make a page one person's (app/core/templating.NOTICES, app/safety)
BYPASS = frozenset({"notice", "support"})
# parameters links carry for someone else's statistics, which no page reads
IGNORED = frozenset({"fbclid", "gclid", "msclkid", "mc_cid", "mc_eid", "ref"})
IGNORED_PREFIX = "utm_"
