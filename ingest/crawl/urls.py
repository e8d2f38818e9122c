"""URL canonicalisation and the scope of a source.

Two forms of a URL:

- ``normalize(url)`` is what the crawler requests: http(s) only, lower-case scheme and host (IDNA),
  no user info, no default port, no fragment, no tracking parameters, sorted query, dot segments
  resolved, percent-escapes normalised (RFC 3986 section 6.2.2).
- ``canonical(url)`` is the identity of a document (the key of the frontier, the registry and
  ``core.ids.doc_id_for``): ``normalize`` without a trailing slash, so ``/foerderung/`` and
  ``/foerderung`` are one document. The request keeps the slash because servers answer
  ``/foerderung`` with a redirect to ``/foerderung/``.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}

# Query parameters that only track a click; they never change the document.
_TRACKING_PARAM = re.compile(r"^(?:utm_.*|fbclid|gclid|dclid|gbraid|wbraid|msclkid|mc_.*|_hsenc|_hsmi|igshid)$", re.I)

# Characters RFC 3986 calls unreserved: their percent-escapes are decoded (%7E -> ~).
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"

# Links to files that are never documents; fetching them would only cost the site bandwidth.
ASSET_SUFFIXES = frozenset(
    ".css .js .mjs .json .xml .rss .atom .ico .png .jpg .jpeg .gif .webp .svg .bmp .tif .tiff .avif "
    ".mp3 .mp4 .m4a .m4v .mov .avi .webm .ogg .wav .zip .gz .tgz .rar .7z .exe .dmg .iso .woff .woff2 "
    ".ttf .otf .eot .ics .vcf .doc .docx .xls .xlsx .ppt .pptx .odt .ods".split()
)


def _normalize_escapes(text: str) -> str:
    def fix(m: re.Match[str]) -> str:
        char = chr(int(m.group(1), 16))
        return char if char in _UNRESERVED else "%" + m.group(1).upper()

    return _ESCAPE.sub(fix, text)


def _remove_dot_segments(path: str) -> str:
    if "." not in path:
        return path
    trailing = path.endswith(("/", "/.", "/.."))
    cleaned = posixpath.normpath(path)
    if cleaned.startswith("//"):  # normpath keeps a leading double slash (POSIX); a URL path does not need it
        cleaned = "/" + cleaned.lstrip("/")
    if cleaned == ".":
        cleaned = "/"
    return cleaned + "/" if trailing and not cleaned.endswith("/") else cleaned


def _host(hostname: str) -> str | None:
    host = hostname.strip().rstrip(".").lower()
    if not host:
        return None
    if ":" in host:  # an IPv6 literal
        return f"[{host}]"
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return None


def normalize(url: str, base: str | None = None) -> str | None:
    """The URL as the crawler requests it, or None when it is no http(s) URL (mailto:, javascript:, ...)."""
    url = url.strip()
    if base is not None:
        try:
            url = urljoin(base, url)
        except ValueError:
            return None
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port
        hostname = parts.hostname
    except ValueError:  # e.g. a port out of range, a broken IPv6 literal
        return None
    if scheme not in DEFAULT_PORTS or not hostname:
        return None
    host = _host(hostname)
    if host is None:
        return None
    netloc = host if port is None or port == DEFAULT_PORTS[scheme] else f"{host}:{port}"
    path = quote(_normalize_escapes(_remove_dot_segments(parts.path or "/")), safe=_PATH_SAFE)
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING_PARAM.match(k)]
    query = urlencode(sorted(pairs), quote_via=quote)
    return urlunsplit((scheme, netloc, path, query, ""))


def canonical(url: str, base: str | None = None) -> str | None:
    """The identity of the document at ``url``: ``normalize`` without a trailing slash (except the root)."""
    normal = normalize(url, base)
    if normal is None:
        return None
    parts = urlsplit(normal)
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def host_of(url: str) -> str:
    """The lower-case host of a normalised URL (IPv6 literals without brackets)."""
    return (urlsplit(url).hostname or "").lower()


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a normalised URL: the unit robots.txt and politeness apply to."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def host_matches(host: str, pattern: str) -> bool:
    """``pattern`` is a host name, or ``*.example.de`` for the domain and all its subdomains."""
    host, pattern = host.lower(), pattern.lower()
    if pattern.startswith("*."):
        domain = pattern[2:]
        return host == domain or host.endswith("." + domain)
    return host == pattern


@dataclass(frozen=True)
class Scope:
    """Which URLs belong to a source: allowed hosts, then ``include`` (any must match, if given) and
    ``exclude`` (none may match) regexes searched in the canonical URL, and no asset suffix."""

    allowed_hosts: tuple[str, ...]
    include: tuple[re.Pattern[str], ...] = ()
    exclude: tuple[re.Pattern[str], ...] = ()

    def host_allowed(self, url: str) -> bool:
        host = host_of(url)
        return any(host_matches(host, pattern) for pattern in self.allowed_hosts)

    def why_not(self, url: str, *, seed: bool = False) -> str | None:
        """None if ``url`` is in scope, else the skip reason (a stable word: ``offsite``, ``excluded``,
        ``not_included``, ``asset``). Seeds (start URLs) are exempt from ``include`` and the suffix rule."""
        if not self.host_allowed(url):
            return "offsite"
        if any(p.search(url) for p in self.exclude):
            return "excluded"
        if seed:
            return None
        if self.include and not any(p.search(url) for p in self.include):
            return "not_included"
        if posixpath.splitext(urlsplit(url).path)[1].lower() in ASSET_SUFFIXES:
            return "asset"
        return None
