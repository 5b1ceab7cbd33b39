"""Listen addresses of the front ends that run a server (`judge serve`, `judge annotate`).

One home for what "this machine only" means, so both servers refuse and accept the same
addresses: `127.0.0.0/8`, `::1` (also written `[::1]`, as in a URL) and `localhost`. Any other
address, host names included (they may resolve anywhere), is reachable from other machines.
Standard library only.
"""

from __future__ import annotations

import ipaddress

__all__ = ["bind_address", "is_loopback", "url_host"]


def _literal(host: str) -> str:
    # `[::1]` is how a URL writes an IPv6 address; sockets and uvicorn want `::1`.
    host = host.strip()
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine only (127.0.0.0/8, ::1 or [::1], localhost)."""
    literal = _literal(host)
    if literal.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(literal).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


def bind_address(host: str) -> str:
    """The address to bind for `host`: brackets dropped, `localhost` as 127.0.0.1 (a name
    could resolve to ::1 on one machine and 127.0.0.1 on another)."""
    literal = _literal(host)
    return "127.0.0.1" if literal.lower() == "localhost" else literal


def url_host(host: str) -> str:
    """`host` as a URL writes it: an IPv6 address in brackets."""
    literal = _literal(host)
    return f"[{literal}]" if ":" in literal else literal
