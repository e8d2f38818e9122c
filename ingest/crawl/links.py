"""The links of a fetched HTML page and what its robots meta tag allows.

``<a href>`` and ``<area href>`` resolved against ``<base href>`` (or the page URL), and what older
sites use instead of links: the target of a ``<meta http-equiv="refresh">`` redirect (a moved page)
and the ``<frame src>`` of a frameset. ``<meta name="robots">`` (and the ``X-Robots-Tag`` header,
passed in) with ``noindex`` / ``nofollow`` / ``none``. Pure: bytes in, values out.
"""

from __future__ import annotations

from dataclasses import dataclass

import lxml.html
from lxml import etree

from ingest.crawl.urls import canonical, normalize
from ingest.parse_html import meta_refresh

MAX_LINKS = 5000  # per page; a page with more links is a link farm, not a funding text


@dataclass(frozen=True)
class PageLinks:
    links: tuple[str, ...] = ()  # normalised (request form), deduplicated by canonical URL, in page order
    noindex: bool = False
    nofollow: bool = False


def robots_directives(value: str) -> tuple[bool, bool]:
    """(noindex, nofollow) from a robots meta content or X-Robots-Tag value."""
    words = {w.strip().lower() for w in value.replace(";", ",").split(",")}
    words |= {w.split(":", 1)[-1].strip() for w in words if ":" in w}  # "googlebot: noindex"
    none = "none" in words
    return none or "noindex" in words, none or "nofollow" in words


def extract_links(html: bytes, page_url: str, robots_header: str = "") -> PageLinks:
    noindex, nofollow = robots_directives(robots_header)
    try:
        tree = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return PageLinks(noindex=noindex, nofollow=nofollow)
    for meta in tree.iter("meta"):
        if (meta.get("name") or "").strip().lower() in ("robots", "foerdersuche-crawler"):
            meta_noindex, meta_nofollow = robots_directives(meta.get("content") or "")
            noindex, nofollow = noindex or meta_noindex, nofollow or meta_nofollow
    if nofollow:
        return PageLinks(noindex=noindex, nofollow=True)
    base = page_url
    for element in tree.iter("base"):
        href = element.get("href")
        if href:
            base = normalize(href, base=page_url) or page_url
            break
    seen: set[str] = set()
    links: list[str] = []
    for element in tree.iter("meta", "frame", "a", "area"):
        if element.tag == "meta":
            href = meta_refresh(element)
        else:
            href = element.get("src" if element.tag == "frame" else "href")
        if not href:
            continue
        url = normalize(href, base=base)
        key = canonical(url) if url else None
        if url is None or key is None or key in seen:
            continue
        seen.add(key)
        links.append(url)
        if len(links) >= MAX_LINKS:
            break
    return PageLinks(links=tuple(links), noindex=noindex, nofollow=False)
