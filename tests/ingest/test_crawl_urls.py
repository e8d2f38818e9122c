"""URL canonicalisation and the scope of a source: pure functions, small inputs."""

from __future__ import annotations

import re

import pytest

from ingest.crawl.links import extract_links, robots_directives
from ingest.crawl.sitemaps import parse_sitemap
from ingest.crawl.sniff import HTML, PDF, sniff
from ingest.crawl.urls import Scope, canonical, normalize, origin_of
from ingest.parse_html import refresh_target


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # fragments, case of scheme and host, default ports
        ("HTTPS://WWW.Example.DE:443/Foerderung#kontakt", "https://www.example.de/Foerderung"),
        ("http://example.de:80/", "http://example.de/"),
        ("http://example.de:8080/a", "http://example.de:8080/a"),
        # tracking parameters go, the rest is sorted
        (
            "https://example.de/p?utm_source=x&b=2&fbclid=1&a=1&gclid=9&mc_cid=3&mc_eid=4",
            "https://example.de/p?a=1&b=2",
        ),
        ("https://example.de/p?UTM_Campaign=x", "https://example.de/p"),
        ("https://example.de/p?q=", "https://example.de/p?q="),
        # trailing slashes (identity) and dot segments
        ("https://example.de/foerderung/", "https://example.de/foerderung"),
        ("https://example.de/a/./b/../c/", "https://example.de/a/c"),
        ("https://example.de", "https://example.de/"),
        # percent-escapes: unreserved decoded, others upper-cased, non-ASCII encoded
        ("https://example.de/%7Eamt/%c3%bc", "https://example.de/~amt/%C3%BC"),
        ("https://example.de/förderung", "https://example.de/f%C3%B6rderung"),
        ("https://example.de/a%2Fb", "https://example.de/a%2Fb"),
        # internationalised host names
        ("https://München.de/x", "https://xn--mnchen-3ya.de/x"),  # the well-known punycode of münchen
        # user info is dropped
        ("https://user:pw@example.de/x", "https://example.de/x"),
        # IPv6 literals keep their brackets
        ("http://[::1]:8000/x/", "http://[::1]:8000/x"),
    ],
)
def test_canonical(url: str, expected: str) -> None:
    assert canonical(url) == expected


def test_variants_of_one_document_share_one_canonical_url() -> None:
    variants = [
        "https://www.wfg-kreis-unna.de/projekte/ecotechub",
        "https://www.wfg-kreis-unna.de/projekte/ecotechub/",
        "https://WWW.WFG-KREIS-UNNA.DE/projekte/ecotechub?utm_source=newsletter&utm_medium=mail",
        "https://www.wfg-kreis-unna.de:443/projekte/ecotechub#kontakt",
        "https://www.wfg-kreis-unna.de/projekte/./ecotechub/?fbclid=IwAR0",
    ]
    assert {canonical(v) for v in variants} == {"https://www.wfg-kreis-unna.de/projekte/ecotechub"}


def test_normalize_keeps_the_trailing_slash_for_the_request() -> None:
    assert normalize("https://example.de/foerderung/?utm_source=x") == "https://example.de/foerderung/"
    assert canonical("https://example.de/foerderung/?utm_source=x") == "https://example.de/foerderung"


@pytest.mark.parametrize(
    "url",
    [
        "mailto:info@example.de",
        "javascript:void(0)",
        "ftp://example.de/x",
        "file:///etc/passwd",
        "tel:+49231",
        "http://",
        "http://[::1/x",
        "http://x:99999/",
    ],
)
def test_non_http_or_broken_urls_are_refused(url: str) -> None:
    assert canonical(url) is None


def test_relative_links_resolve_against_the_base() -> None:
    assert canonical("../b/", base="https://example.de/a/x/seite") == "https://example.de/a/b"
    assert canonical("?seite=2", base="https://example.de/liste?seite=1") == "https://example.de/liste?seite=2"
    assert canonical("//cdn.example.de/x", base="https://example.de/") == "https://cdn.example.de/x"
    assert origin_of("https://example.de:8443/a/b") == "https://example.de:8443"


def test_scope() -> None:
    scope = Scope(
        allowed_hosts=("www.example.de", "*.ruhr.de"),
        include=(re.compile(r"/foerder"),),
        exclude=(re.compile(r"/en/"), re.compile(r"\?print=")),
    )
    assert scope.why_not("https://www.example.de/foerderung") is None
    assert scope.why_not("https://projekte.ruhr.de/foerderung") is None
    assert scope.why_not("https://ruhr.de/foerderung") is None
    assert scope.why_not("https://evilruhr.de/foerderung") == "offsite"
    assert scope.why_not("https://example.de/foerderung") == "offsite"
    assert scope.why_not("https://www.example.de/en/foerderung") == "excluded"
    assert scope.why_not("https://www.example.de/foerderung?print=1") == "excluded"
    assert scope.why_not("https://www.example.de/kontakt") == "not_included"
    assert scope.why_not("https://www.example.de/kontakt", seed=True) is None  # start URLs need no include
    assert scope.why_not("https://www.example.de/foerderung/logo.PNG") == "asset"


def test_links_and_robots_meta() -> None:
    html = b"""<html><head><base href="https://example.de/sub/"></head><body>
    <a href="a">A</a> <a href="/b#x">B</a> <a href="/b?utm_source=y">B again</a>
    <a href="mailto:x@example.de">mail</a> <a>no href</a> <map><area href="c"></map></body></html>"""
    page = extract_links(html, "https://example.de/sub/page")
    assert page.links == ("https://example.de/sub/a", "https://example.de/b", "https://example.de/sub/c")
    assert not page.noindex and not page.nofollow

    meta = b'<html><head><meta name="robots" content="noindex, follow"></head><body><a href="/x">x</a></body></html>'
    page = extract_links(meta, "https://example.de/")
    assert page.noindex and page.links == ("https://example.de/x",)
    assert extract_links(b'<html><head><meta name="ROBOTS" content="none"></head></html>', "https://e.de/").nofollow
    assert extract_links(b"<html><a href='/x'>x</a></html>", "https://e.de/", robots_header="nofollow").links == ()
    assert robots_directives("googlebot: noindex") == (True, False)
    assert extract_links(b"", "https://e.de/").links == ()


@pytest.mark.parametrize(
    ("content", "target"),
    [
        ("0; URL=/neu/seite.html", "/neu/seite.html"),
        ("5;url='https://www.kreis-unna.de/a'", "https://www.kreis-unna.de/a"),
        ('3; URL = "b.html"', "b.html"),
        ("url=c.html", "c.html"),
        ("0", None),  # reloads itself: no target
        ("", None),
    ],
)
def test_meta_refresh_targets(content: str, target: str | None) -> None:
    assert refresh_target(content) == target


def test_a_forwarding_page_and_a_frameset_link_to_their_targets() -> None:
    html = b"""<html><head><meta http-equiv="Refresh" content="0; URL=/neu/"></head>
    <frameset><frame src="menue.html"><frame src="inhalt.html"><frame></frameset></html>"""
    page = extract_links(html, "https://example.de/alt/")
    assert page.links == (
        "https://example.de/neu/",
        "https://example.de/alt/menue.html",
        "https://example.de/alt/inhalt.html",
    )
    robots = b'<html><head><meta name="robots" content="nofollow"><meta http-equiv="refresh" content="0; url=/x"></head></html>'
    assert extract_links(robots, "https://example.de/").links == ()


def test_sniffing_trusts_the_bytes() -> None:
    pdf = b"%PDF-1.7\n..."
    assert sniff("text/html; charset=utf-8", pdf) == PDF
    assert sniff("application/octet-stream", b"\n\n" + pdf) == PDF
    assert sniff("text/plain", b"\xef\xbb\xbf<!DOCTYPE html><html>") == HTML
    assert sniff(None, b"<?xml version='1.0'?>\n<html xmlns='http://www.w3.org/1999/xhtml'>") == HTML
    assert sniff("application/pdf", b"<!-- error --><html><body>Fehler</body></html>") == HTML
    assert sniff("application/pdf", b"garbage") == "application/octet-stream"
    assert sniff("image/png", b"\x89PNG") == "image/png"
    assert sniff("text/html", b"Hallo") == HTML


def test_sitemaps() -> None:
    urlset = b"""<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <url><loc> https://example.de/a </loc></url><url><loc>https://example.de/b</loc></url></urlset>"""
    assert parse_sitemap(urlset).pages == ("https://example.de/a", "https://example.de/b")
    index = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <sitemap><loc>https://example.de/s1.xml.gz</loc></sitemap></sitemapindex>"""
    assert parse_sitemap(index).sitemaps == ("https://example.de/s1.xml.gz",)
    import gzip

    assert parse_sitemap(gzip.compress(urlset)).pages == ("https://example.de/a", "https://example.de/b")
    assert parse_sitemap(b"<html><body>kein Sitemap</body></html>").error
    entity = b"""<?xml version="1.0"?><!DOCTYPE u [<!ENTITY x SYSTEM "file:///etc/passwd">]>
      <urlset><url><loc>&x;</loc></url></urlset>"""
    assert parse_sitemap(entity).pages == ()  # external entities are never resolved
