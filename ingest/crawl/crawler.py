"""The crawl: sources -> frontier -> guarded, polite fetches in worker threads -> the Indexer.

    scheduling thread (the caller's)                      worker threads (``concurrency``)
      seed: start URLs, robots.txt Sitemap lines,
            /sitemap.xml  -> frontier
      claim queued URLs (per-host limit) ---- submit ---> robots.txt check, fetch (gate, retries,
                                                          redirects, size cap), link extraction
      <------------------------------------- result ----
      decide: 304 / same hash -> not modified; 404 -> Indexer.remove; duplicate / noindex / robots
              -> skipped; else -> SourceItem to Indexer.ingest (one ingest run for the whole crawl)
      Indexer result -> frontier (outcome, validators)

The scheduler is a generator handed to ``Indexer.ingest``, so fetching continues in the workers while
the Indexer parses and embeds, and the whole crawl is one ingest run. Registry, Indexer and the
scheduling decisions stay on the caller's thread; workers touch only the fetcher, the robots cache
and the (locked) frontier.

Documents are identified by their canonical URL (``urls.canonical``): it is the ``source`` and ``url``
of the ``SourceItem``, so the document id (``core.ids.doc_id_for``) is stable across crawls, restarts
and tracking-parameter variants.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import httpx

from core.ids import content_hash
from core.models import FileStatus
from core.registry import INDEXING, SourceRecord
from ingest.crawl.fetch import Fetcher, FetchResult, Outcome, Validators
from ingest.crawl.frontier import DONE, FETCHING, FORGOTTEN_OUTCOMES, QUEUED, Frontier, UrlRow
from ingest.crawl.links import PageLinks, extract_links, robots_directives
from ingest.crawl.netguard import AddressPolicy
from ingest.crawl.politeness import HostGate
from ingest.crawl.report import CrawlPlan, CrawlReport, PlannedSource, Problem, Tally
from ingest.crawl.robots import RobotsCache
from ingest.crawl.sitemaps import parse_sitemap
from ingest.crawl.sniff import DOCUMENT_TYPES, HTML
from ingest.crawl.sources import CrawlOptions, Source
from ingest.crawl.urls import Scope, canonical, host_of, normalize, origin_of
from ingest.discovery import SourceItem
from ingest.pipeline import Indexer
from ingest.report import FileResult

log = logging.getLogger(__name__)

MAX_SITEMAP_FILES = 10  # per start host, index files included
SITEMAP_URLS_PER_PAGE = 5  # sitemap URLs queued per source: at most this many times max_pages


def guard_policy(sources: Sequence[Source], allow_private_networks: bool) -> AddressPolicy:
    """Private, loopback and link-local addresses only for the allowed hosts of sources that set
    ``allow_private``, and only when the setting ``allow_private_networks`` is on."""
    if not allow_private_networks:
        return AddressPolicy()
    return AddressPolicy(frozenset(h for s in sources if s.allow_private for h in s.allowed_hosts))


@dataclass(frozen=True)
class CrawlEvent:
    """Progress: one URL was handled (``what`` is an outcome word)."""

    source: str
    url: str
    what: str


@dataclass
class _SourceState:
    source: Source
    scope: Scope
    crawl_id: int
    tally: Tally
    pages: int = 0  # document fetches started in this crawl (the max_pages budget)
    counted_skips: set[str] = field(default_factory=set)

    @property
    def budget_left(self) -> int:
        return self.source.max_pages - self.pages


@dataclass(frozen=True)
class _Task:
    state: _SourceState
    row: UrlRow


@dataclass(frozen=True)
class _TaskResult:
    fetch: FetchResult | None = None
    robots_reason: str | None = None  # set: robots.txt disallows the URL, nothing was fetched
    links: PageLinks | None = None
    sha256: str | None = None


class Crawler:
    """Crawls sources into the index of ``indexer``. Build one per run (entry points do)."""

    def __init__(
        self,
        *,
        indexer: Indexer,
        frontier: Frontier,
        client: httpx.Client,
        options: CrawlOptions,
        user_agent: str,
        max_bytes: int,
        allow_private_networks: bool = False,
        on_event: Callable[[CrawlEvent], None] | None = None,
    ) -> None:
        self.indexer = indexer
        self.registry = indexer.registry
        self.frontier = frontier
        self.options = options
        self.user_agent = user_agent
        self.allow_private_networks = allow_private_networks
        self.on_event = on_event
        self.gate = HostGate(delay=options.delay_s, max_concurrent=options.per_host_concurrency)
        self.fetcher = Fetcher(client, self.gate, options.fetch_options(max_bytes), user_agent=user_agent)
        self.robots = RobotsCache(self.fetcher)
        self._pending: dict[str, tuple[_SourceState, str]] = {}  # source (canonical URL) -> (state, new|changed)

    # ---------------------------------------------------------------- the run

    def crawl(self, sources: Sequence[Source]) -> CrawlReport:
        started = time.monotonic()
        run_id = self.registry.start_run("crawl")
        states = [self._open(source) for source in sources]
        unseeded = [st for st in states if not self.frontier.is_seeded(st.crawl_id)]
        if unseeded:  # robots.txt and sitemaps of all sources at once (each host keeps its own pace)
            with ThreadPoolExecutor(max_workers=min(len(unseeded), self.options.concurrency)) as pool:
                for st in pool.map(self._seed, unseeded):
                    self.frontier.mark_seeded(st.crawl_id)
        self.indexer.ingest(self._items(states), on_result=self._on_result)
        for st in states:
            left = self.frontier.count_state(st.crawl_id, QUEUED)
            if left:
                st.tally.skipped["max_pages"] += left
            self.frontier.finish_crawl(st.crawl_id, json.dumps(st.tally.freeze().to_dict(), ensure_ascii=False))
        report = CrawlReport(sources=tuple(st.tally.freeze() for st in states), seconds=time.monotonic() - started)
        self.registry.finish_run(run_id, json.dumps(report.totals()))
        return report

    def _open(self, source: Source) -> _SourceState:
        crawl_id, resumed = self.frontier.open_crawl(source.name)
        st = _SourceState(source, source.scope, crawl_id, Tally(source.name, resumed=resumed))
        st.pages = self.frontier.pages_fetched(crawl_id)
        if source.allow_private and not self.allow_private_networks:
            st.tally.notes.append(
                "allow_private is set, but FOERDERSUCHE_ALLOW_PRIVATE_NETWORKS is not: private addresses stay refused"
            )
        if not resumed:
            self.frontier.requeue_known(source.name, crawl_id)
        return st

    def _seed(self, st: _SourceState) -> _SourceState:
        """Queue the start URLs and what the start hosts' sitemaps list (robots.txt Sitemap lines and
        /sitemap.xml); runs once per crawl, in a thread of its own per source."""
        for url in st.source.start_urls:
            self._queue(st, url, depth=0, seed=True)
        budget = SITEMAP_URLS_PER_PAGE * st.source.max_pages
        for origin in dict.fromkeys(origin_of(u) for u in st.source.start_urls):
            rules = self.robots.rules(origin)
            self._apply_crawl_delay(st, origin)
            if rules.note and rules.disallow_all:
                st.tally.notes.append(f"{origin}: {rules.note}")
            todo = list(rules.sitemaps)
            if rules.allowed(origin + "/sitemap.xml", self.user_agent):
                todo.append(origin + "/sitemap.xml")
            seen: set[str] = set()
            while todo and len(seen) < MAX_SITEMAP_FILES and budget > 0:
                sitemap_url = normalize(todo.pop(0))
                if sitemap_url is None or sitemap_url in seen or not st.scope.host_allowed(sitemap_url):
                    continue
                seen.add(sitemap_url)
                result = self.fetcher.fetch(
                    sitemap_url, check_hop=lambda u: None if st.scope.host_allowed(u) else "offsite"
                )
                if result.outcome is not Outcome.OK:
                    if result.outcome is not Outcome.GONE:  # a missing /sitemap.xml is normal
                        st.tally.notes.append(f"sitemap {sitemap_url}: {result.reason}")
                    continue
                sitemap = parse_sitemap(result.body)
                if sitemap.error:
                    st.tally.notes.append(f"sitemap {sitemap_url}: {sitemap.error}")
                todo.extend(sitemap.sitemaps)
                for page in sitemap.pages:
                    if budget <= 0:
                        break
                    if self._queue(st, page, depth=1, base=sitemap_url):
                        budget -= 1
        return st

    def _queue(self, st: _SourceState, url: str, *, depth: int, seed: bool = False, base: str | None = None) -> bool:
        fetch_url = normalize(url, base)
        key = canonical(fetch_url) if fetch_url else None
        if fetch_url is None or key is None:
            return False
        why = st.scope.why_not(key, seed=seed)
        if why is None and depth > st.source.max_depth:
            why = "depth"
        if why is not None:
            if key not in st.counted_skips:
                st.counted_skips.add(key)
                st.tally.skipped[why] += 1
            return False
        return self.frontier.add(key, fetch_url, st.source.name, host_of(key), depth, st.crawl_id)

    def _apply_crawl_delay(self, st: _SourceState, origin: str) -> None:
        delay = self.robots.rules(origin).crawl_delay(self.user_agent)
        if delay is None:
            return
        cap = self.options.max_crawl_delay_s
        if delay > cap:
            note = f"{origin}: robots.txt Crawl-delay {delay:g} s capped at {cap:g} s"
            if note not in st.tally.notes:
                st.tally.notes.append(note)
        self.gate.set_delay(host_of(origin), min(delay, cap))

    # ---------------------------------------------------------------- scheduling

    def _items(self, states: list[_SourceState]) -> Iterator[SourceItem]:
        in_flight: dict[Future[_TaskResult], _Task] = {}
        busy: Counter[str] = Counter()
        for st in states:
            if st.tally.resumed:
                yield from self._resume_pending(st)
        pool = ThreadPoolExecutor(max_workers=self.options.concurrency, thread_name_prefix="crawl")
        try:
            while True:
                self._schedule(states, pool, in_flight, busy)
                if not in_flight:
                    return
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    task = in_flight.pop(future)
                    busy[task.row.host] -= 1
                    item = self._handle(task, future.result())
                    if item is not None:
                        yield item
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _schedule(
        self,
        states: list[_SourceState],
        pool: ThreadPoolExecutor,
        in_flight: dict[Future[_TaskResult], _Task],
        busy: Counter[str],
    ) -> None:
        per_host = self.options.per_host_concurrency
        progress = True
        while progress and len(in_flight) < self.options.concurrency:
            progress = False
            for st in states:  # round robin over the sources
                if len(in_flight) >= self.options.concurrency or st.budget_left <= 0:
                    continue
                full = [h for h, n in busy.items() if n >= per_host]
                rows = self.frontier.claim(st.crawl_id, 1, full)
                if not rows:
                    continue
                row = rows[0]
                st.pages += 1
                busy[row.host] += 1
                in_flight[pool.submit(self._work, st, row)] = _Task(st, row)
                progress = True

    # ---------------------------------------------------------------- worker side

    def _work(self, st: _SourceState, row: UrlRow) -> _TaskResult:
        try:
            return self._fetch_one(st, row)
        except Exception as exc:  # a bug or a library surprise on one page must not end the crawl
            log.exception("crawling %s failed", row.fetch_url)
            reason = f"internal error: {type(exc).__name__}: {exc}"
            return _TaskResult(fetch=FetchResult(row.fetch_url, row.fetch_url, Outcome.FAILED, reason=reason))

    def _fetch_one(self, st: _SourceState, row: UrlRow) -> _TaskResult:
        origin = origin_of(row.fetch_url)
        rules = self.robots.rules(origin)
        self._apply_crawl_delay_quiet(origin)
        if rules.disallow_all:  # robots.txt unreachable (RFC 9309: crawl nothing): a failure, not a rule
            reason = f"not fetched: {rules.note}"
            return _TaskResult(fetch=FetchResult(row.fetch_url, row.fetch_url, Outcome.FAILED, reason=reason))
        if not rules.allowed(row.fetch_url, self.user_agent):
            return _TaskResult(robots_reason="disallowed by robots.txt")

        def check_hop(url: str) -> str | None:
            if st.scope.why_not(canonical(url) or url, seed=True) is not None:
                return f"host {host_of(url)} is not allowed for source {st.source.name}"
            hop_origin = origin_of(url)
            self._apply_crawl_delay_quiet(hop_origin)
            if not self.robots.rules(hop_origin).allowed(url, self.user_agent):
                return "disallowed by robots.txt"
            return None

        def validators_for(url: str) -> Validators | None:
            key = canonical(url)
            return self.frontier.validators(key) if key else None

        result = self.fetcher.fetch(row.fetch_url, validators_for=validators_for, check_hop=check_hop)
        if result.outcome is not Outcome.OK:
            return _TaskResult(fetch=result)
        if result.media_type == HTML:
            links = extract_links(result.body, result.final_url, result.robots_tag)
        else:  # a PDF has no links we follow, but may carry "X-Robots-Tag: noindex"
            links = PageLinks(noindex=robots_directives(result.robots_tag)[0])
        return _TaskResult(fetch=result, links=links, sha256=content_hash(result.body))

    def _apply_crawl_delay_quiet(self, origin: str) -> None:
        delay = self.robots.rules(origin).crawl_delay(self.user_agent)
        if delay is not None:
            self.gate.set_delay(host_of(origin), min(delay, self.options.max_crawl_delay_s))

    # ---------------------------------------------------------------- decisions (scheduling thread)

    def _event(self, st: _SourceState, url: str, what: str) -> None:
        if self.on_event is not None:
            self.on_event(CrawlEvent(st.source.name, url, what))

    def _live(self, source: str) -> SourceRecord | None:
        record = self.registry.get(source)
        if record is None or record.deleted or record.status == INDEXING:
            return None
        return record

    def _remove(self, st: _SourceState, url: str, reason: str) -> None:
        if self.indexer.remove(url, reason):
            st.tally.deleted += 1
            self._event(st, url, "deleted")

    def _fail(self, st: _SourceState, url: str, outcome: str, reason: str, status: int | None = None) -> None:
        self.frontier.record(url, state=DONE, outcome=outcome, reason=reason, http_status=status, fetched=True)
        st.tally.failed.append(Problem(url, reason, status))
        self._event(st, url, outcome)

    def _handle(self, task: _Task, done: _TaskResult) -> SourceItem | None:
        st, row = task.state, task.row
        if done.robots_reason is not None:
            self.frontier.record(row.url, state=DONE, outcome="robots", reason=done.robots_reason)
            st.pages -= 1  # nothing was fetched
            st.tally.skipped["robots"] += 1
            self._event(st, row.url, "robots")
            return None
        result = done.fetch
        assert result is not None
        if result.outcome is Outcome.REFUSED:  # failures belong to the URL asked for, whatever hop failed
            self._fail(st, row.url, "refused", result.reason or "refused", result.status)
            return None
        if result.outcome is Outcome.FAILED:
            self._fail(st, row.url, "failed", result.reason or "failed", result.status)
            return None
        doc_url = canonical(result.final_url) or row.url
        if doc_url != row.url:
            # the URL now redirects to another document: record the hop, handle the target
            self.frontier.record(
                row.url, state=DONE, outcome="redirected", http_status=result.status, fetched=True, final_url=doc_url
            )
            if self._live(row.url) is not None:
                self._remove(st, row.url, f"moved to {doc_url}")
            target = self.frontier.get(doc_url)
            if target is not None and target.crawl_id == st.crawl_id and target.state != QUEUED:
                return None  # already fetched (or being fetched) in this crawl
            self.frontier.claim_target(
                doc_url,
                normalize(result.final_url) or doc_url,
                st.source.name,
                host_of(doc_url),
                row.depth,
                st.crawl_id,
            )

        if result.outcome is Outcome.GONE:
            if self._live(doc_url) is not None:
                self.frontier.record(
                    doc_url, state=DONE, outcome="gone", reason=result.reason, http_status=result.status, fetched=True
                )
                self._remove(st, doc_url, f"gone from the site ({result.reason})")
            else:
                self._fail(st, doc_url, "broken", f"{result.reason} (broken link)", result.status)
            return None
        if result.outcome is Outcome.NOT_MODIFIED:
            if self._live(doc_url) is None:  # validators without an indexed document: fetch again in full
                self.frontier.record(doc_url, state=QUEUED, outcome="stale", reason="304 without an indexed copy")
                st.pages -= 1
                return None
            self.frontier.record(
                doc_url,
                state=DONE,
                outcome="not_modified",
                http_status=304,
                fetched=True,
                etag=result.etag,
                last_modified=result.last_modified,
                final_url=None,
                keep_validators=True,
            )
            st.tally.not_modified += 1
            self._event(st, doc_url, "not_modified")
            return None
        return self._fetched(st, row, doc_url, result, done)

    def _fetched(
        self, st: _SourceState, row: UrlRow, doc_url: str, result: FetchResult, done: _TaskResult
    ) -> SourceItem | None:
        st.tally.fetched += 1
        sha = done.sha256 or content_hash(result.body)
        validators: dict[str, Any] = {
            "http_status": result.status,
            "etag": result.etag,
            "last_modified": result.last_modified,
            "content_hash": sha,
            "fetched": doc_url == row.url,
        }
        links = done.links or PageLinks()
        if links.links and row.depth < st.source.max_depth:
            for link in links.links:
                self._queue(st, link, depth=row.depth + 1)
        elif links.links:
            for link in links.links:
                key = canonical(link)
                if (
                    key
                    and st.scope.why_not(key) is None
                    and self.frontier.get(key) is None
                    and key not in st.counted_skips
                ):
                    st.counted_skips.add(key)
                    st.tally.skipped["depth"] += 1

        if result.media_type not in DOCUMENT_TYPES:
            self.frontier.record(
                doc_url, state=DONE, outcome="unsupported", reason=f"content type {result.media_type}", **validators
            )
            st.tally.skipped["unsupported"] += 1
            self._event(st, doc_url, "unsupported")
            return None
        if links.noindex:
            self.frontier.record(doc_url, state=DONE, outcome="noindex", reason="robots noindex", **validators)
            st.tally.skipped["noindex"] += 1
            if self._live(doc_url) is not None:
                self._remove(st, doc_url, "the page now says noindex")
            self._event(st, doc_url, "noindex")
            return None
        previous = self._live(doc_url)
        if previous is not None and previous.raw_sha256 == sha:
            self.frontier.record(
                doc_url, state=DONE, outcome="not_modified", reason="same bytes as indexed", **validators
            )
            st.tally.not_modified += 1
            self._event(st, doc_url, "not_modified")
            return None
        duplicate = self.frontier.duplicate_of(sha, doc_url)
        if duplicate is not None:
            self.frontier.record(
                doc_url, state=DONE, outcome="duplicate", reason=f"same content as {duplicate}", **validators
            )
            st.tally.skipped["duplicate"] += 1
            if previous is not None:
                self._remove(st, doc_url, f"now the same content as {duplicate}")
            self._event(st, doc_url, "duplicate")
            return None
        content_type = result.content_type or result.media_type
        self.indexer.raw.put(result.body)  # kept before it is pending, so a resumed crawl needs no refetch
        self.frontier.record(doc_url, state=FETCHING, outcome="pending", content_type=content_type, **validators)
        self._pending[doc_url] = (st, "changed" if previous is not None else "new")
        self._event(st, doc_url, "fetched")
        return SourceItem(
            source=doc_url, url=doc_url, data=result.body, content_type=content_type, source_name=st.source.name
        )

    def _resume_pending(self, st: _SourceState) -> Iterator[SourceItem]:
        """Documents fetched by an interrupted run but not confirmed by the Indexer: their bytes are in the
        raw store, so they go to the Indexer again without a request."""
        for row in self.frontier.pending(st.crawl_id):
            if not row.content_hash or not self.indexer.raw.has(row.content_hash):
                self.frontier.record(row.url, state=QUEUED, outcome="stale", reason="raw bytes missing")
                continue
            self._pending[row.url] = (st, "changed" if self._live(row.url) is not None else "new")
            self._event(st, row.url, "resumed")
            yield SourceItem(
                source=row.url,
                url=row.url,
                data=self.indexer.raw.get(row.content_hash),
                content_type=row.content_type,
                source_name=st.source.name,
            )

    def _on_result(self, result: FileResult) -> None:
        pending = self._pending.pop(result.source, None)
        if pending is None:
            return
        st, kind = pending
        if result.status is FileStatus.INDEXED:
            self.frontier.record(result.source, state=DONE, outcome="indexed", keep_validators=True)
            if kind == "new":
                st.tally.new += 1
            else:
                st.tally.changed += 1
            st.tally.passages_written += result.passages
            self._event(st, result.source, kind)
        elif result.status is FileStatus.UNCHANGED:
            self.frontier.record(result.source, state=DONE, outcome="unchanged", keep_validators=True)
            st.tally.unchanged_by_indexer += 1
            self._event(st, result.source, "unchanged")
        else:
            reason = f"{result.status.value}: {result.reason}"
            self.frontier.record(result.source, state=DONE, outcome="not_indexed", reason=reason, keep_validators=True)
            st.tally.failed.append(Problem(result.source, reason, stage="index"))
            self._event(st, result.source, "not_indexed")


# -------------------------------------------------------------------- dry run


def plan(
    sources: Sequence[Source],
    frontier: Frontier | None,
    *,
    sources_file: str,
    allow_private_networks: bool,
    limit: int = 50,
) -> CrawlPlan:
    """What a crawl would fetch first, from the sources file and the frontier alone (no request)."""
    planned = []
    for source in sources:
        runs = frontier.runs(source.name) if frontier is not None else []
        resumes = bool(runs) and runs[0].finished_at is None
        known = (
            [r for r in frontier.urls_of(source.name) if r.outcome not in FORGOTTEN_OUTCOMES]
            if frontier is not None
            else []
        )
        if resumes:
            order = [r.fetch_url for r in known if r.state == QUEUED and r.crawl_id == runs[0].crawl_id]
        else:
            order = list(source.start_urls) + [
                r.fetch_url for r in known if canonical(r.fetch_url) not in {canonical(u) for u in source.start_urls}
            ]
        planned.append(
            PlannedSource(
                name=source.name,
                resumes_unfinished_crawl=resumes,
                start_urls=source.start_urls,
                allowed_hosts=source.allowed_hosts,
                include=source.include,
                exclude=source.exclude,
                max_depth=source.max_depth,
                max_pages=source.max_pages,
                allow_private=source.allow_private,
                private_allowed_now=source.allow_private and allow_private_networks,
                known_urls=len(known),
                conditional=sum(1 for r in known if r.etag or r.last_modified),
                would_fetch=tuple(order[: min(limit, source.max_pages)]),
            )
        )
    return CrawlPlan(sources_file=sources_file, sources=tuple(planned))
