"""The SSRF guard: address classes, resolution checked before connecting, redirects re-checked,
and the opt-in. A real server on 127.0.0.1; fake names resolve through an injected resolver."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator

import httpx
import pytest
from crawlsite import FixtureSite, Page, german_page

from ingest.crawl.crawler import guard_policy
from ingest.crawl.fetch import Fetcher, FetchOptions, Outcome
from ingest.crawl.netguard import (
    AddressPolicy,
    BlockedAddress,
    checked_addresses,
    classify,
    guarded_client,
    system_resolver,
)
from ingest.crawl.politeness import HostGate
from ingest.crawl.sources import Source

UA = "foerdersuche-test/1.0 (kontakt@example.de)"


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped IPv6
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("fe80::1", "link-local"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.178.1", "private"),
        ("fd12:3456::1", "private"),
        ("100.64.0.1", "non-global"),  # carrier-grade NAT
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "private"),  # reserved (Python counts 240/4 as private too)
        ("93.184.216.34", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_classify(address: str, kind: str | None) -> None:
    assert classify(ipaddress.ip_address(address)) == kind


FAKE_DNS = {
    "public.test": ["93.184.216.34"],
    "intern.test": ["10.0.0.5"],
    "mixed.test": ["93.184.216.34", "127.0.0.1"],
    "metadata.test": ["169.254.169.254"],
    "loopback.test": ["127.0.0.1"],
}


def fake_resolver(host: str, port: int) -> list[str]:
    """The fake names above; every other name through the system resolver."""
    return FAKE_DNS[host] if host in FAKE_DNS else system_resolver(host, port)


def test_every_resolved_address_is_checked() -> None:
    policy = AddressPolicy()
    assert checked_addresses("public.test", 80, policy, fake_resolver) == ["93.184.216.34"]
    with pytest.raises(BlockedAddress, match=r"private address 10\.0\.0\.5"):
        checked_addresses("intern.test", 80, policy, fake_resolver)
    with pytest.raises(BlockedAddress, match=r"loopback address 127\.0\.0\.1"):
        checked_addresses("mixed.test", 80, policy, fake_resolver)  # one bad address is enough
    with pytest.raises(BlockedAddress, match="link-local"):
        checked_addresses("metadata.test", 80, policy, fake_resolver)
    with pytest.raises(BlockedAddress, match="loopback"):
        checked_addresses("localhost", 80, policy)  # the system resolver: localhost is 127.0.0.1 / ::1
    with pytest.raises(BlockedAddress, match="loopback address ::1"):
        checked_addresses("::1", 80, policy)
    with pytest.raises(BlockedAddress, match="private"):
        checked_addresses("10.0.0.1", 80, policy)


def test_opt_in_unlocks_private_but_never_multicast_or_unspecified() -> None:
    policy = AddressPolicy(frozenset({"intern.test", "*.intranet.test"}))
    assert checked_addresses("intern.test", 80, policy, fake_resolver) == ["10.0.0.5"]
    assert policy.refusal("wiki.intranet.test", ipaddress.ip_address("192.168.1.1")) is None
    assert policy.refusal("other.test", ipaddress.ip_address("192.168.1.1")) is not None
    assert policy.refusal("intern.test", ipaddress.ip_address("224.0.0.1")) is not None
    assert policy.refusal("intern.test", ipaddress.ip_address("0.0.0.0")) is not None


def test_guard_policy_needs_the_setting_and_the_source_key() -> None:
    private = Source(
        name="intranet", start_urls=("http://wiki.intern/",), allowed_hosts=("wiki.intern",), allow_private=True
    )
    public = Source(name="public", start_urls=("https://example.de/",), allowed_hosts=("example.de",))
    assert guard_policy([private, public], allow_private_networks=False).private_ok_hosts == frozenset()
    assert guard_policy([private, public], allow_private_networks=True).private_ok_hosts == {"wiki.intern"}
    assert guard_policy([public], allow_private_networks=True).private_ok_hosts == frozenset()


@pytest.fixture(scope="module")
def site() -> Iterator[FixtureSite]:
    with FixtureSite(crawl_delay=0) as s:
        s.pages["/"] = Page(german_page("Startseite", "die Förderung"))
        s.redirects["/weiter-intern"] = (302, f"http://intern.test:{s.port}/")
        s.redirects["/weiter-metadata"] = (302, "http://metadata.test/latest/meta-data/")
        s.redirects["/weiter-localhost"] = (302, f"http://localhost:{s.port}/")
        s.redirects["/weiter-v6"] = (302, f"http://[::1]:{s.port}/")
        s.redirects["/weiter-loopback-name"] = (302, f"http://loopback.test:{s.port}/")
        yield s


@pytest.fixture
def fetcher() -> Iterator[Callable[[AddressPolicy], Fetcher]]:
    clients: list[httpx.Client] = []

    def make(policy: AddressPolicy) -> Fetcher:
        client = guarded_client(policy, user_agent=UA, timeout_s=5, resolve=fake_resolver)
        clients.append(client)
        return Fetcher(client, HostGate(delay=0, max_concurrent=4), FetchOptions(max_retries=0), user_agent=UA)

    yield make
    for client in clients:
        client.close()


def test_the_transport_refuses_loopback_by_default(
    site: FixtureSite, fetcher: Callable[[AddressPolicy], Fetcher]
) -> None:
    before = site.fetched("/")
    result = fetcher(AddressPolicy()).fetch(site.url("/"))
    assert result.outcome is Outcome.REFUSED
    assert "loopback address 127.0.0.1" in (result.reason or "")
    assert site.fetched("/") == before  # refused before connecting


def test_the_opt_in_host_connects(site: FixtureSite, fetcher: Callable[[AddressPolicy], Fetcher]) -> None:
    result = fetcher(AddressPolicy(frozenset({"127.0.0.1"}))).fetch(site.url("/"))
    assert result.outcome is Outcome.OK and b"Startseite" in result.body


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/weiter-intern", "private address 10.0.0.5"),
        ("/weiter-metadata", "link-local address 169.254.169.254"),
        ("/weiter-localhost", "localhost resolves to loopback"),
        ("/weiter-v6", "loopback address ::1"),
    ],
)
def test_redirects_to_private_addresses_are_refused(
    site: FixtureSite, fetcher: Callable[[AddressPolicy], Fetcher], path: str, reason: str
) -> None:
    # 127.0.0.1 may be reached (the opt-in for the test server); the redirect targets may not
    result = fetcher(AddressPolicy(frozenset({"127.0.0.1"}))).fetch(site.url(path))
    assert result.outcome is Outcome.REFUSED, result
    assert reason in (result.reason or "")
    assert result.redirects  # the first hop was followed, the second refused


def test_the_checked_address_is_the_one_connected_to(
    site: FixtureSite, fetcher: Callable[[AddressPolicy], Fetcher]
) -> None:
    # loopback.test exists only in the fake resolver: reaching the server proves the connection went to
    # the address that was checked, not to a second resolution of the name
    result = fetcher(AddressPolicy(frozenset({"127.0.0.1", "loopback.test"}))).fetch(site.url("/weiter-loopback-name"))
    assert result.outcome is Outcome.OK
    assert site.requests_for("/")[-1].host == f"loopback.test:{site.port}"


def test_no_proxy_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, site: FixtureSite, fetcher: Callable[[AddressPolicy], Fetcher]
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://10.9.9.9:3128")
    monkeypatch.setenv("ALL_PROXY", "http://10.9.9.9:3128")
    result = fetcher(AddressPolicy(frozenset({"127.0.0.1"}))).fetch(site.url("/"))
    assert result.outcome is Outcome.OK


def test_a_plain_client_can_be_injected(site: FixtureSite) -> None:
    """The transport seam: the fetcher works with any httpx.Client (here: no guard at all)."""
    with httpx.Client(trust_env=False) as client:
        result = Fetcher(client, HostGate(delay=0, max_concurrent=1), FetchOptions(), user_agent=UA).fetch(
            site.url("/")
        )
    assert result.outcome is Outcome.OK
    assert site.requests_for("/")[-1].headers["User-Agent"] == UA
