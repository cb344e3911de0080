"""Where it is safe to send people back to after signing in: only paths on this site."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from fastapi import Request


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to redirect to, or `default`.

    Refuses anything a browser could read as another site: absolute URLs, scheme-relative
    `//host`, back-slashes (`/\\host` is `//host` to browsers), control characters and
    encoded tricks in the first characters.
    """
    if not target or len(target) > 2000:
        return default
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return default
    if not target.startswith("/") or target.startswith(("//", "/\\")) or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    lowered = target.lower()
    if lowered.startswith(("/%2f", "/%5c", "/%09", "/%0a", "/%0d")):
        return default
    return target


def login_url_for(request: Request) -> str:
    path = request.url.path
    if request.url.query:
        path += "?" + request.url.query
    return "/login?next=" + quote(safe_next(path), safe="/")


def discussion_url(discussion_id: int, slug: str) -> str:
    """A discussion's canonical address (`/discussions/{id}` redirects to it)."""
    return f"/discussions/{discussion_id}/{slug}"
