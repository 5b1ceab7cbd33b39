"""Listen addresses of the front ends that run a server (`judge serve`, `judge annotate`).

One home for what "this machine only" means, so both servers refuse and accept the same
addresses and Host headers: `127.0.0.0/8`, `::1` (also written `[::1]`, as in a URL) and
`localhost`. Any other address, host names included (they may resolve anywhere), is
reachable from other machines. Both bind their socket here too, so an address in use is one
ConfigError (exit status 2), not uvicorn's own exit (status 3, which `judge` uses for a run
stopped early). Standard library only.
"""

from __future__ import annotations

import ipaddress
import socket

from judge.errors import ConfigError

__all__ = ["allowed_hosts", "bind_address", "is_loopback", "listen", "url_host"]


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


def allowed_hosts(host: str, port: int) -> set[str] | None:
    """The Host headers a server on `host`:`port` answers; None = any. On loopback only this
    machine's names: a page elsewhere that rebinds its own name to 127.0.0.1 (DNS rebinding)
    sends its name, and is refused."""
    if not is_loopback(host):
        return None
    return {f"{name}:{port}" for name in ("127.0.0.1", "localhost", "[::1]", host)}


def bind_address(host: str) -> str:
    """The address to bind for `host`: brackets dropped, `localhost` as 127.0.0.1 (a name
    could resolve to ::1 on one machine and 127.0.0.1 on another)."""
    literal = _literal(host)
    return "127.0.0.1" if literal.lower() == "localhost" else literal


def url_host(host: str) -> str:
    """`host` as a URL writes it: an IPv6 address in brackets."""
    literal = _literal(host)
    return f"[{literal}]" if ":" in literal else literal


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on `host`:`port` (0: a free port the kernel picks), bound before
    the server starts, so the port printed is the port served."""
    address = bind_address(host)
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((address, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.listen(128)
    sock.set_inheritable(True)
    return sock
