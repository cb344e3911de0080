"""Who is calling: the client's address, as rate limits and the security log see it.

The connecting peer is the client, unless it is one of KINDRED_TRUSTED_PROXIES; then the
nearest address in X-Forwarded-For that is not a trusted proxy (read from the right: the
left end is whatever the caller wrote). uvicorn is told to believe no forwarded headers
(`kindred serve`), so this is the one place they are read.
"""

from __future__ import annotations

import ipaddress

from starlette.requests import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(value: str) -> tuple[Network, ...]:
    """KINDRED_TRUSTED_PROXIES: addresses or networks, separated by commas or spaces."""
    return tuple(
        ipaddress.ip_network(part, strict=False) for part in value.replace(",", " ").split()
    )


def _is_trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def _networks(request: Request) -> tuple[Network, ...]:
    state = request.app.state
    networks: tuple[Network, ...] | None = getattr(state, "trusted_proxies", None)
    if networks is None:
        settings = getattr(state, "settings", None)
        networks = trusted_networks(getattr(settings, "trusted_proxies", "") or "")
        state.trusted_proxies = networks
    return networks


def client_ip(request: Request) -> str:
    """The client's address (see the module docstring); worked out once per request."""
    cached = request.scope.get("kindred.client_ip")
    if cached is not None:
        return str(cached)
    peer = request.client.host if request.client else "unknown"
    address = peer
    networks = _networks(request)
    if networks and _is_trusted(peer, networks):
        forwarded = ",".join(request.headers.getlist("x-forwarded-for"))
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        for hop in reversed(hops):
            address = hop
            if not _is_trusted(hop, networks):
                break
        try:
            address = str(ipaddress.ip_address(address))
        except ValueError:
            address = peer  # not an address: the proxy is the best we know
    request.scope["kindred.client_ip"] = address
    return address
