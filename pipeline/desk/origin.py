"""Requests that change something must come from the desk's own pages: a browser sends
``Sec-Fetch-Site`` and ``Origin`` with them, and one from another site is refused (the check
Datasette and the browsers' own guidance use). A script with a bearer token sends neither and
carries no cookie a page elsewhere could borrow, so it passes."""

from __future__ import annotations

from urllib.parse import urlsplit

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SAME = frozenset({"same-origin", "none"})  # none: typed into the address bar, or a bookmark


def cross_site_refusal(method: str, headers: dict[str, str], host: str, scheme: str) -> str | None:
    """Why an unsafe request must be refused, or None when it may go on. ``headers``: lower-case
    names; ``host``: the Host the request was sent to; ``scheme``: http or https."""
    if method.upper() in SAFE_METHODS:
        return None
    site = headers.get("sec-fetch-site")
    if site is not None and site not in _SAME:
        return f"refused: a request from another site ({site})"
    origin = headers.get("origin")
    if origin is not None:
        parts = urlsplit(origin)
        if origin == "null" or parts.scheme != scheme or parts.netloc.lower() != host.lower():
            return "refused: a request from another origin"
    return None
