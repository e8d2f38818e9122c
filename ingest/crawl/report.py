"""The crawl report: per source what was fetched, what changed in the index, what was skipped and why,
and every failure with its reason. Frozen values with ``to_json``; ``Tally`` is the mutable counter the
crawler fills while it runs.

Counter meanings (per source):

- ``fetched``: responses whose body was downloaded (2xx);
- ``not_modified``: known documents that did not change (304, or the same bytes as indexed);
- ``new`` / ``changed``: documents indexed for the first time / re-indexed with new content;
- ``unchanged_by_indexer``: fetched bytes the Indexer found already indexed;
- ``deleted``: known documents removed from the index (404 / 410, or now a duplicate / noindex);
- ``skipped``: URLs not fetched or not indexed, by reason (``robots``, ``offsite``, ``excluded``,
  ``not_included``, ``asset``, ``depth``, ``max_pages``, ``duplicate``, ``unsupported``, ``noindex``);
- ``failed``: URLs that failed, each with its reason (``stage`` ``fetch`` or ``index``).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Problem:
    url: str
    reason: str
    status: int | None = None
    stage: str = "fetch"


@dataclass(frozen=True)
class SourceReport:
    name: str
    resumed: bool = False
    fetched: int = 0
    not_modified: int = 0
    new: int = 0
    changed: int = 0
    unchanged_by_indexer: int = 0
    deleted: int = 0
    passages_written: int = 0
    skipped: tuple[tuple[str, int], ...] = ()
    failed: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = ()  # about the source as a whole: robots.txt unreachable, sitemap errors, ...

    @property
    def skipped_by_robots(self) -> int:
        return dict(self.skipped).get("robots", 0)

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["skipped"] = dict(self.skipped)
        out["skipped_by_robots"] = self.skipped_by_robots
        return out


COUNTERS = ("fetched", "not_modified", "new", "changed", "unchanged_by_indexer", "deleted", "passages_written")


@dataclass(frozen=True)
class CrawlReport:
    sources: tuple[SourceReport, ...]
    seconds: float

    def totals(self) -> dict[str, int]:
        out = {key: sum(getattr(s, key) for s in self.sources) for key in COUNTERS}
        out["skipped"] = sum(n for s in self.sources for _, n in s.skipped)
        out["skipped_by_robots"] = sum(s.skipped_by_robots for s in self.sources)
        out["failed"] = sum(len(s.failed) for s in self.sources)
        return out

    def source(self, name: str) -> SourceReport:
        return next(s for s in self.sources if s.name == name)

    def to_dict(self) -> dict[str, object]:
        return {
            "sources": [s.to_dict() for s in self.sources],
            "totals": self.totals(),
            "seconds": round(self.seconds, 3),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)


@dataclass
class Tally:
    """Counts of one source during a crawl (owned by the crawler's scheduling thread)."""

    name: str
    resumed: bool = False
    fetched: int = 0
    not_modified: int = 0
    new: int = 0
    changed: int = 0
    unchanged_by_indexer: int = 0
    deleted: int = 0
    passages_written: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    failed: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def freeze(self) -> SourceReport:
        return SourceReport(
            name=self.name,
            resumed=self.resumed,
            **{key: getattr(self, key) for key in COUNTERS},
            skipped=tuple(sorted(self.skipped.items())),
            failed=tuple(self.failed),
            notes=tuple(self.notes),
        )


@dataclass(frozen=True)
class PlannedSource:
    """What ``crawl --dry-run`` shows for one source (no request is made)."""

    name: str
    resumes_unfinished_crawl: bool
    start_urls: tuple[str, ...]
    allowed_hosts: tuple[str, ...]
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    max_depth: int
    max_pages: int
    allow_private: bool
    private_allowed_now: bool
    known_urls: int  # revisited with conditional requests when the crawl starts
    conditional: int  # of which have an ETag or Last-Modified to send
    would_fetch: tuple[str, ...]  # the first URLs in the order the crawl would take them (sitemaps not yet read)


@dataclass(frozen=True)
class CrawlPlan:
    sources_file: str
    sources: tuple[PlannedSource, ...]
    robots_and_sitemaps: str = "read at crawl time: robots.txt and sitemap.xml of every start host"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)
