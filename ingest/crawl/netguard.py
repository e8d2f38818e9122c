"""The SSRF guard: the crawler connects only to public addresses, checked after DNS resolution.

``GuardedTransport`` is an ``httpx.HTTPTransport`` whose connection pool resolves each host itself,
checks *every* address the name resolves to, and then connects to a checked address (never resolving
again, so a DNS answer that changes between check and connect - DNS rebinding - cannot slip through).
Because the check sits where connections are opened, every redirect hop the fetcher follows is checked
too. TLS still verifies the certificate against the host name (httpcore sends the original host as SNI).

Refused by default: private (RFC 1918, ULA), loopback, link-local (incl. 169.254.169.254, the cloud
metadata address), shared (100.64/10), multicast, reserved, unspecified and other non-global ranges,
also inside IPv4-mapped IPv6 addresses. The opt-in for tests and intranet sites lets a listed host
reach private, loopback and link-local addresses: the setting ``allow_private_networks``
(``FOERDERSUCHE_ALLOW_PRIVATE_NETWORKS=1``) *and* ``allow_private = true`` on the source that lists the
host (see ``ingest.crawl.crawler.guard_policy``). Multicast, unspecified and reserved addresses stay
refused even then.

A refusal raises ``BlockedAddress`` (an ``httpx.TransportError``), which the fetcher reports as a
failure of that URL; it never aborts a crawl.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import httpcore
import httpx

from ingest.crawl.urls import host_matches

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]


class BlockedAddress(httpx.TransportError):
    """A connection was refused by the guard; the message names the host, the address and why."""


def classify(address: IPAddress) -> str | None:
    """None for a public (globally routable unicast) address, else what kind of address it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return classify(address.ipv4_mapped)
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_private:
        return "private"
    if address.is_reserved:
        return "reserved"
    if not address.is_global:
        return "non-global"
    return None


# What the opt-in unlocks; the rest is never a crawl target.
OPT_IN_KINDS = frozenset({"private", "loopback", "link-local"})


@dataclass(frozen=True)
class AddressPolicy:
    """Which hosts may connect to private, loopback and link-local addresses (lower-case names, IP
    literals without brackets, or ``*.example.de`` patterns). Empty by default: public addresses only."""

    private_ok_hosts: frozenset[str] = frozenset()

    def refusal(self, host: str, address: IPAddress) -> str | None:
        """None if ``host`` may connect to ``address``, else the reason."""
        kind = classify(address)
        if kind is None:
            return None
        if kind in OPT_IN_KINDS and any(host_matches(host, pattern) for pattern in self.private_ok_hosts):
            return None
        hint = ""
        if kind in OPT_IN_KINDS:
            hint = " (opt in: FOERDERSUCHE_ALLOW_PRIVATE_NETWORKS=1 and allow_private = true on the source)"
        return f"{host} resolves to {kind} address {address}{hint}"


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (A and AAAA), in the resolver's order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def checked_addresses(host: str, port: int, policy: AddressPolicy, resolve: Resolver = system_resolver) -> list[str]:
    """Resolve ``host`` and check every address; raises ``BlockedAddress`` if any is refused."""
    try:
        literal: IPAddress | None = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = list(resolve(host, port))
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        if not addresses:
            raise httpcore.ConnectError(f"{host} resolves to no address")
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone id
        reason = policy.refusal(host, address)
        if reason is not None:
            raise BlockedAddress(reason)
    return addresses


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's synchronous backend, connecting only to addresses the policy accepts."""

    def __init__(self, policy: AddressPolicy, resolve: Resolver = system_resolver) -> None:
        self.policy = policy
        self.resolve = resolve
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = checked_addresses(host, port, self.policy, self.resolve)
        last: Exception | None = None
        for address in addresses:
            try:
                return self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise BlockedAddress("unix sockets are not crawl targets")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


DEFAULT_LIMITS = httpx.Limits(max_connections=32, max_keepalive_connections=16)


class GuardedTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` with its connection pool on a ``GuardedBackend``. Never uses a proxy
    (the guard must see the real target)."""

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        resolve: Resolver = system_resolver,
        limits: httpx.Limits = DEFAULT_LIMITS,
    ) -> None:
        super().__init__(limits=limits, trust_env=False)
        # httpx builds its httpcore pool in __init__ without a way to pass a network backend; swap it
        # for the same pool on the guarded backend (httpx is pinned; tests/ingest/test_crawl_netguard.py
        # fails if a new version stops routing connections through this pool).
        ssl_context = self._pool._ssl_context
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy, resolve),
        )


def guarded_client(
    policy: AddressPolicy,
    *,
    user_agent: str,
    timeout_s: float,
    resolve: Resolver = system_resolver,
) -> httpx.Client:
    """The crawler's HTTP client: guarded transport, no redirects (the fetcher follows them itself),
    no proxies or .netrc from the environment, a User-Agent with contact."""
    return httpx.Client(
        transport=GuardedTransport(policy, resolve=resolve),
        headers={"User-Agent": user_agent},
        timeout=httpx.Timeout(timeout_s),
        follow_redirects=False,
        trust_env=False,
    )
