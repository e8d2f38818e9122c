"""The sources file (``corpus/sources.toml``): what to crawl and how politely.

    [crawler]                      # optional; every key optional (defaults: CrawlOptions)
    delay_s = 1.0                  # minimum seconds between two requests to one host
    concurrency = 4                # requests in flight over all hosts
    per_host_concurrency = 1       # requests in flight per host
    timeout_s = 20.0               # connect / read timeout per request
    total_timeout_s = 120.0        # whole download of one response
    max_retries = 2                # on 429, 5xx and connection errors
    backoff_s = 1.0                # first retry wait without Retry-After, doubled each time
    max_retry_after_s = 60.0       # cap on a server's Retry-After
    max_redirects = 5
    max_bytes = 50_000_000         # per response (default: the max_file_bytes setting)
    max_crawl_delay_s = 30.0       # cap on a robots.txt Crawl-delay

    [[sources]]
    name = "ecotechub"             # lower case, digits, - and _; unique
    start_urls = ["https://..."]   # http(s); their hosts must be allowed
    allowed_hosts = ["www.hs-bochum.de", "*.hs-bochum.de"]   # default: the hosts of start_urls
    include = ["/ecotechub"]       # regexes searched in the canonical URL; if given, a link must match one
    exclude = ["/en/", "\\?print="]  # regexes; a URL matching any is never fetched
    max_depth = 2                  # link hops from a start URL (sitemap URLs count as depth 1)
    max_pages = 100                # documents fetched per crawl of this source
    allow_private = false          # with FOERDERSUCHE_ALLOW_PRIVATE_NETWORKS=1: may reach private addresses

Unknown keys are errors (a typo must not silently widen a crawl). Every error is a ``CrawlError``
naming the file, the source and the key.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from core.errors import CrawlError
from ingest.crawl.fetch import FetchOptions
from ingest.crawl.urls import Scope, host_matches, host_of, normalize

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_HOST = re.compile(r"^(?:\*\.)?[a-z0-9._-]+(?::\d+)?$|^\[?[0-9a-f:.]+\]?$")


@dataclass(frozen=True)
class CrawlOptions:
    delay_s: float = 1.0
    concurrency: int = 4
    per_host_concurrency: int = 1
    timeout_s: float = 20.0
    total_timeout_s: float = 120.0
    max_retries: int = 2
    backoff_s: float = 1.0
    max_retry_after_s: float = 60.0
    max_redirects: int = 5
    max_bytes: int | None = None
    max_crawl_delay_s: float = 30.0

    def fetch_options(self, default_max_bytes: int) -> FetchOptions:
        return FetchOptions(
            timeout_s=self.timeout_s,
            total_timeout_s=self.total_timeout_s,
            max_bytes=self.max_bytes if self.max_bytes is not None else default_max_bytes,
            max_retries=self.max_retries,
            backoff_s=self.backoff_s,
            max_retry_after_s=self.max_retry_after_s,
            max_redirects=self.max_redirects,
        )


@dataclass(frozen=True)
class Source:
    name: str
    start_urls: tuple[str, ...]  # normalised
    allowed_hosts: tuple[str, ...]
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    max_depth: int = 3
    max_pages: int = 200
    allow_private: bool = False

    @property
    def scope(self) -> Scope:
        return Scope(
            allowed_hosts=self.allowed_hosts,
            include=tuple(re.compile(p) for p in self.include),
            exclude=tuple(re.compile(p) for p in self.exclude),
        )


@dataclass(frozen=True)
class SourcesFile:
    path: Path
    options: CrawlOptions
    sources: tuple[Source, ...]

    def select(self, names: list[str] | tuple[str, ...]) -> tuple[Source, ...]:
        """The sources named (all if none); an unknown name is an error listing the known ones."""
        if not names:
            return self.sources
        known = {s.name: s for s in self.sources}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise CrawlError(f"{self.path}: no source named {', '.join(unknown)} (known: {', '.join(known)})")
        return tuple(known[n] for n in dict.fromkeys(names))


_OPTION_TYPES: dict[str, tuple[type, ...]] = {
    "delay_s": (int, float),
    "concurrency": (int,),
    "per_host_concurrency": (int,),
    "timeout_s": (int, float),
    "total_timeout_s": (int, float),
    "max_retries": (int,),
    "backoff_s": (int, float),
    "max_retry_after_s": (int, float),
    "max_redirects": (int,),
    "max_bytes": (int,),
    "max_crawl_delay_s": (int, float),
}
_SOURCE_KEYS = {f.name for f in fields(Source)}


def _check(cond: bool, where: str, message: str) -> None:
    if not cond:
        raise CrawlError(f"{where}: {message}")


def _is_type(value: Any, types: tuple[type, ...]) -> bool:
    return isinstance(value, types) and not isinstance(value, bool)


def _options(table: Any, where: str) -> CrawlOptions:
    _check(isinstance(table, dict), where, "[crawler] must be a table")
    unknown = sorted(set(table) - set(_OPTION_TYPES))
    _check(not unknown, where, f"unknown key(s) {', '.join(unknown)} (known: {', '.join(_OPTION_TYPES)})")
    for key, value in table.items():
        _check(_is_type(value, _OPTION_TYPES[key]), f"{where}: {key}", f"must be a number, got {value!r}")
        minimum = 1 if key in ("concurrency", "per_host_concurrency", "max_bytes") else 0
        _check(value >= minimum, f"{where}: {key}", f"must be >= {minimum}, got {value!r}")
    values: dict[str, Any] = {k: (float(v) if float in _OPTION_TYPES[k] else v) for k, v in table.items()}
    return CrawlOptions(**values)


def _strings(entry: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = entry.get(key, [])
    _check(
        isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value),
        f"{where}: {key}",
        "must be a list of non-empty strings",
    )
    return tuple(v.strip() for v in value)


def _bare_host(entry: str) -> str:
    """``host[:port]`` or ``[v6]:port`` -> the host alone (scope matches host names, not ports)."""
    if entry.startswith("["):
        return entry[1:].split("]", 1)[0]
    if entry.count(":") == 1:
        return entry.split(":", 1)[0]
    return entry


def _source(entry: Any, where: str) -> Source:
    _check(isinstance(entry, dict), where, "each [[sources]] entry must be a table")
    unknown = sorted(set(entry) - _SOURCE_KEYS)
    _check(not unknown, where, f"unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(_SOURCE_KEYS))})")
    name = entry.get("name")
    _check(
        isinstance(name, str) and bool(_NAME.match(name)),
        f"{where}: name",
        f"must be lower-case letters, digits, '-' or '_' (got {name!r})",
    )
    where = f"{where} ({name})"
    raw_starts = _strings(entry, "start_urls", where)
    _check(bool(raw_starts), f"{where}: start_urls", "needs at least one URL")
    starts = []
    for url in raw_starts:
        normal = normalize(url)
        _check(normal is not None and "://" in url, f"{where}: start_urls", f"{url!r} is not an http(s) URL")
        assert normal is not None
        starts.append(normal)
    hosts = tuple(h.lower().rstrip(".") for h in _strings(entry, "allowed_hosts", where))
    for host in hosts:
        _check(
            bool(_HOST.match(host)),
            f"{where}: allowed_hosts",
            f"{host!r} is not a host name (give 'www.example.de' or '*.example.de', no scheme or path)",
        )
    hosts = tuple(_bare_host(h) for h in hosts)
    if not hosts:
        hosts = tuple(dict.fromkeys(host_of(u) for u in starts))
    for url in starts:
        _check(
            any(host_matches(host_of(url), h) for h in hosts),
            f"{where}: start_urls",
            f"the host of {url} is not in allowed_hosts {list(hosts)}",
        )
    include, exclude = _strings(entry, "include", where), _strings(entry, "exclude", where)
    for key, patterns in (("include", include), ("exclude", exclude)):
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise CrawlError(f"{where}: {key}: {pattern!r} is not a valid regular expression: {exc}") from None
    values: dict[str, Any] = {}
    for key, default, minimum in (("max_depth", Source.max_depth, 0), ("max_pages", Source.max_pages, 1)):
        value = entry.get(key, default)
        _check(
            _is_type(value, (int,)) and value >= minimum,
            f"{where}: {key}",
            f"must be an integer >= {minimum}, got {value!r}",
        )
        values[key] = value
    allow_private = entry.get("allow_private", False)
    _check(isinstance(allow_private, bool), f"{where}: allow_private", f"must be true or false, got {allow_private!r}")
    return Source(
        name=name,
        start_urls=tuple(dict.fromkeys(starts)),
        allowed_hosts=hosts,
        include=include,
        exclude=exclude,
        allow_private=allow_private,
        **values,
    )


def parse_sources(text: str, path: Path) -> SourcesFile:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CrawlError(f"{path}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"crawler", "sources"})
    _check(
        not unknown, str(path), f"unknown top-level key(s) {', '.join(unknown)} (expected [crawler] and [[sources]])"
    )
    options = _options(data.get("crawler", {}), f"{path}: [crawler]")
    entries = data.get("sources")
    _check(isinstance(entries, list) and bool(entries), str(path), "no [[sources]] entries")
    assert isinstance(entries, list)
    sources = tuple(_source(entry, f"{path}: sources[{i}]") for i, entry in enumerate(entries))
    names = [s.name for s in sources]
    dupes = sorted({n for n in names if names.count(n) > 1})
    _check(not dupes, str(path), f"duplicate source name(s) {', '.join(dupes)}")
    return SourcesFile(path=path, options=options, sources=sources)


def load_sources(path: Path) -> SourcesFile:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CrawlError(f"cannot read sources file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise CrawlError(f"{path}: not UTF-8: {exc}") from None
    return parse_sources(text, path)
