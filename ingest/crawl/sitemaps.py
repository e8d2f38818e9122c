"""sitemap.xml: ``<urlset>`` lists pages, ``<sitemapindex>`` lists further sitemaps (sitemaps.org).

Gzipped sitemaps are unpacked up to the fetcher's size cap; entities and network access are off in the
XML parser, so a sitemap cannot make the crawler read local files or expand a billion laughs.
"""

from __future__ import annotations

import gzip
import io
import zlib
from dataclasses import dataclass

from lxml import etree

MAX_UNPACKED_BYTES = 50_000_000


@dataclass(frozen=True)
class Sitemap:
    pages: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    error: str | None = None


def _unpack(data: bytes) -> bytes:
    if not data.startswith(b"\x1f\x8b"):
        return data
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
        out = fh.read(MAX_UNPACKED_BYTES + 1)
    if len(out) > MAX_UNPACKED_BYTES:
        raise ValueError(f"unpacks to more than {MAX_UNPACKED_BYTES} bytes")
    return out


def parse_sitemap(data: bytes) -> Sitemap:
    """The page and sitemap URLs listed in ``data`` (not yet normalised or filtered)."""
    try:
        xml = _unpack(data)
    except (OSError, EOFError, ValueError, zlib.error) as exc:
        return Sitemap(error=f"cannot unpack sitemap: {exc}")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=True)
    try:
        root = etree.fromstring(xml, parser=parser)
    except etree.XMLSyntaxError as exc:
        return Sitemap(error=f"not a sitemap: {exc}")
    if root is None:
        return Sitemap(error="not a sitemap: empty document")
    kind = etree.QName(root).localname
    locs = tuple((loc.text or "").strip() for loc in root.iter("{*}loc") if (loc.text or "").strip())
    if kind == "urlset":
        return Sitemap(pages=locs)
    if kind == "sitemapindex":
        return Sitemap(sitemaps=locs)
    return Sitemap(error=f"not a sitemap: root element <{kind}>")
