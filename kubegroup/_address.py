"""This pod's own address and peer URLs (port of kubegroup ``FindMyAddress``/``FindMyURL``).

Unlike Go kubegroup, the downward-API ``POD_IP`` variable wins over hostname resolution,
several resolved addresses are not fatal (dual-stack pods have two), and IPv6 hosts are
bracketed.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Mapping

from ._errors import KubeConfigError

__all__ = ["check_scheme", "find_my_address", "find_my_url", "parse_port", "peer_url"]

POD_IP_ENV = "POD_IP"
SCHEMES = ("http", "https")


def parse_port(port: int | str) -> int:
    """Return ``port`` as an int; accepts 5000, ``"5000"`` and Go's ``":5000"``.

    Raises:
        KubeConfigError: not a port number in 1..65535.
    """
    text = str(port).strip().removeprefix(":")
    if isinstance(port, bool) or not text.isdigit() or not 0 < int(text) < 65536:
        raise KubeConfigError(f"invalid port {port!r}: expected 1..65535, e.g. 5000 or ':5000'")
    return int(text)


def check_scheme(scheme: str) -> str:
    """Return ``scheme`` if it is ``"http"`` or ``"https"`` (https: a pool serving TLS).

    Raises:
        KubeConfigError: any other value.
    """
    if scheme not in SCHEMES:
        raise KubeConfigError(f"invalid peer URL scheme {scheme!r}: expected 'http' or 'https'")
    return scheme


def peer_url(ip: str, port: int | str, *, scheme: str = "http") -> str:
    """Return ``scheme://ip:port``, with the IP bracketed when it is IPv6.

    Raises:
        KubeConfigError: bad port, or a scheme other than ``"http"`` and ``"https"``.
    """
    host = f"[{ip}]" if ":" in ip else ip
    return f"{check_scheme(scheme)}://{host}:{parse_port(port)}"


def _pick(addresses: list[str]) -> str:
    """Prefer IPv4 over IPv6, and anything over loopback, keeping resolver order."""

    def rank(addr: str) -> tuple[bool, bool]:
        ip = ipaddress.ip_address(addr.split("%", 1)[0])
        return ip.is_loopback, ip.version == 6

    return min(addresses, key=rank)


def find_my_address(*, environ: Mapping[str, str] | None = None) -> str:
    """Return this pod's IP address.

    ``$POD_IP`` (set from ``status.podIP`` with the downward API) wins. Otherwise the
    hostname is resolved, as Go kubegroup does; when it has several addresses the first
    non-loopback IPv4 one is taken.

    Args:
        environ: Environment to read ``POD_IP`` from; defaults to ``os.environ``.

    Raises:
        KubeConfigError: ``POD_IP`` is not an IP address, or the hostname has no address.
    """
    env = os.environ if environ is None else environ
    pod_ip = env.get(POD_IP_ENV, "").strip()
    if pod_ip:
        try:
            return str(ipaddress.ip_address(pod_ip))
        except ValueError as exc:
            raise KubeConfigError(f"{POD_IP_ENV}={pod_ip!r} is not an IP address") from exc
    hostname = socket.gethostname()
    try:
        infos = socket.getaddrinfo(hostname, None, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise KubeConfigError(
            f"cannot resolve my hostname {hostname!r} ({exc}); set {POD_IP_ENV} from "
            "status.podIP with the downward API"
        ) from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:  # pragma: no cover - getaddrinfo raises instead of returning nothing
        raise KubeConfigError(f"hostname {hostname!r}: no address found")
    return _pick(addresses)


def find_my_url(
    port: int | str, *, environ: Mapping[str, str] | None = None, scheme: str = "http"
) -> str:
    """Return this pod's groupcache URL, ``http://<my address>:<port>``.

    Args:
        port: The groupcache port: ``5000``, ``"5000"`` or Go's ``":5000"``.
        environ: Environment to read ``POD_IP`` from; defaults to ``os.environ``.
        scheme: ``"http"``, or ``"https"`` for a pool that serves TLS.

    Raises:
        KubeConfigError: bad port or scheme, or no address (see :func:`find_my_address`).
    """
    check_scheme(scheme)
    return peer_url(find_my_address(environ=environ), port, scheme=scheme)
