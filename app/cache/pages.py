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
# parameters links carry for someone else's statistics, which no page reads
IGNORED = frozenset({"fbclid", "gclid", "msclkid", "mc_cid", "mc_eid", "ref"})
IGNORED_PREFIX = "utm_"
