"""robots.txt per origin (RFC 9309), parsed with protego.

What the answer to ``/robots.txt`` means:

- 2xx: its rules apply (``Allow`` / ``Disallow`` for our User-Agent or ``*``, ``Crawl-delay``,
  ``Sitemap`` lines);
- 404, 410 and other 4xx (except 429): there are no rules, everything may be crawled;
- 429, 5xx, timeouts and connection errors: the site is unreachable and nothing is crawled
  (RFC 9309 section 2.3.1.4: assume complete disallow);
- refused by the SSRF guard: no rules; the page fetches are refused by the guard too, and the report
  names the guard's reason rather than robots.txt.

Redirects are followed (the fetcher allows 5 hops); at most ``MAX_ROBOTS_BYTES`` are read.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from protego import Protego

from ingest.crawl.fetch import Fetcher, Outcome

MAX_ROBOTS_BYTES = 512_000


@dataclass(frozen=True)
class RobotsRules:
    origin: str
    parser: Protego | None = None  # None: no rules (allow all) unless ``disallow_all``
    disallow_all: bool = False
    note: str | None = None  # why there are no rules or nothing is allowed
    sitemaps: tuple[str, ...] = field(default=())

    def allowed(self, url: str, user_agent: str) -> bool:
        if self.disallow_all:
            return False
        return self.parser is None or self.parser.can_fetch(url, user_agent)

    def crawl_delay(self, user_agent: str) -> float | None:
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(user_agent)
        return float(delay) if delay is not None else None


def parse_robots(origin: str, text: str) -> RobotsRules:
    parser = Protego.parse(text)
    return RobotsRules(origin=origin, parser=parser, sitemaps=tuple(dict.fromkeys(parser.sitemaps)))


class RobotsCache:
    """Fetches each origin's robots.txt once per crawl; thread-safe (one fetch per origin at a time)."""

    def __init__(self, fetcher: Fetcher) -> None:
        self.fetcher = fetcher
        self._rules: dict[str, RobotsRules] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def rules(self, origin: str) -> RobotsRules:
        with self._lock:
            lock = self._locks.setdefault(origin, threading.Lock())
        with lock:
            cached = self._rules.get(origin)
            if cached is None:
                cached = self._fetch(origin)
                self._rules[origin] = cached
            return cached

    def _fetch(self, origin: str) -> RobotsRules:
        result = self.fetcher.fetch(origin + "/robots.txt", max_bytes=MAX_ROBOTS_BYTES)
        if result.outcome is Outcome.OK:
            return parse_robots(origin, result.body.decode("utf-8", errors="replace"))
        if result.outcome is Outcome.REFUSED:  # the guard refused the host: every page fetch says so itself
            return RobotsRules(origin=origin, note=f"robots.txt not fetched: {result.reason}")
        if result.outcome is Outcome.GONE or (
            result.status is not None and 400 <= result.status < 500 and result.status != 429
        ):
            return RobotsRules(origin=origin, note=f"no robots.txt ({result.reason})")
        return RobotsRules(origin=origin, disallow_all=True, note=f"robots.txt unreachable: {result.reason}")
