"""One URL over HTTP: redirects followed by hand, bounded retries, a size cap, conditional requests.

The fetcher receives its ``httpx.Client`` (the transport seam: the crawler passes the guarded client
of ``netguard``, tests may pass any client). It never raises for a URL's problem: every fetch ends as
a ``FetchResult`` whose ``outcome`` and ``reason`` say what happened.

- Redirects: followed one hop at a time (at most ``max_redirects``) so each hop passes ``check_hop``
  (scheme, allowed host) and, in the guarded transport, the address check; a hop to a URL already
  visited in the chain is a loop.
- Retries: 429, 500, 502, 503 and 504 and connection errors are retried ``max_retries`` times, waiting
  ``Retry-After`` (seconds or an HTTP date, capped at ``max_retry_after_s``) or else an exponential
  backoff (``backoff_s * 2**attempt``). A 429 or 503 also holds back every other request to the host.
  Timeouts are not retried: a server that is too slow once is slow again.
- Size: a ``Content-Length`` above ``max_bytes`` is refused before reading; otherwise the body is
  streamed and the download aborted as soon as it passes ``max_bytes`` (decoded bytes, so a
  compression bomb is cut off too) or takes longer than ``total_timeout_s``.
- Conditional requests: ``validators_for(url)`` gives the ETag / Last-Modified remembered for a URL;
  they are sent as If-None-Match / If-Modified-Since and a 304 becomes ``NOT_MODIFIED``.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from ingest.crawl.netguard import BlockedAddress
from ingest.crawl.politeness import HostGate
from ingest.crawl.sniff import media_type, sniff
from ingest.crawl.urls import host_of, normalize

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
GONE_STATUSES = frozenset({404, 410})
ACCEPT = "text/html,application/xhtml+xml,application/pdf;q=0.9,text/plain;q=0.8,*/*;q=0.1"


class Outcome(enum.StrEnum):
    OK = "ok"  # a 2xx with its body
    NOT_MODIFIED = "not_modified"  # 304 to a conditional request
    GONE = "gone"  # 404 or 410
    FAILED = "failed"  # anything else: see reason
    REFUSED = "refused"  # the guard or the scope refused a hop


@dataclass(frozen=True)
class FetchOptions:
    timeout_s: float = 20.0
    total_timeout_s: float = 120.0
    max_bytes: int = 50_000_000
    max_retries: int = 2
    backoff_s: float = 1.0
    max_retry_after_s: float = 60.0
    max_redirects: int = 5


@dataclass(frozen=True)
class Validators:
    etag: str | None = None
    last_modified: str | None = None

    def headers(self) -> dict[str, str]:
        out = {}
        if self.etag:
            out["If-None-Match"] = self.etag
        if self.last_modified:
            out["If-Modified-Since"] = self.last_modified
        return out


@dataclass(frozen=True)
class FetchResult:
    url: str
    final_url: str
    outcome: Outcome
    status: int | None = None
    reason: str | None = None
    body: bytes = b""
    media_type: str = ""  # sniffed from the bytes and the header
    declared_type: str = ""  # the media type the Content-Type header named
    content_type: str | None = None  # the Content-Type header as sent (charset included)
    etag: str | None = None
    last_modified: str | None = None
    robots_tag: str = ""  # X-Robots-Tag header, lower case
    redirects: tuple[str, ...] = ()  # the hops after ``url``
    attempts: int = 1


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: a number of seconds or an HTTP date; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class _Stop(Exception):
    """Ends one fetch early with a result (internal)."""

    def __init__(self, result: FetchResult) -> None:
        self.result = result


class Fetcher:
    """Thread-safe if its client is (httpx.Client is)."""

    def __init__(self, client: httpx.Client, gate: HostGate, options: FetchOptions, *, user_agent: str) -> None:
        self.client = client
        self.gate = gate
        self.options = options
        self.user_agent = user_agent

    def fetch(
        self,
        url: str,
        *,
        validators_for: Callable[[str], Validators | None] | None = None,
        check_hop: Callable[[str], str | None] | None = None,
        max_bytes: int | None = None,
    ) -> FetchResult:
        """GET ``url`` following redirects; ``check_hop(url)`` returns a refusal reason for a redirect target."""
        chain = [url]
        attempts = 0
        current = url
        while True:
            validators = validators_for(current) if validators_for else None
            try:
                response_result, location, tries = self._request(url, current, chain, validators, max_bytes)
            except _Stop as stop:
                return stop.result
            attempts += tries
            if location is None:
                assert response_result is not None
                return replace(response_result, attempts=attempts)
            target = normalize(location, base=current)
            if target is None:
                return self._result(
                    url, chain, Outcome.FAILED, reason=f"redirect to a non-http URL {location!r}", attempts=attempts
                )
            if target in chain:
                return self._result(url, chain, Outcome.FAILED, reason=f"redirect loop at {target}", attempts=attempts)
            if len(chain) > self.options.max_redirects:
                return self._result(
                    url,
                    chain,
                    Outcome.FAILED,
                    reason=f"more than {self.options.max_redirects} redirects",
                    attempts=attempts,
                )
            refusal = check_hop(target) if check_hop else None
            if refusal is not None:
                return self._result(
                    url, chain, Outcome.REFUSED, reason=f"redirect to {target}: {refusal}", attempts=attempts
                )
            chain.append(target)
            current = target

    def _result(self, url: str, chain: list[str], outcome: Outcome, **kw: Any) -> FetchResult:
        return FetchResult(url=url, final_url=chain[-1], outcome=outcome, redirects=tuple(chain[1:]), **kw)

    def _request(
        self, url: str, current: str, chain: list[str], validators: Validators | None, max_bytes: int | None
    ) -> tuple[FetchResult | None, str | None, int]:
        """One hop with retries: (result, None, attempts) or (None, redirect location, attempts)."""
        opts = self.options
        host = host_of(current)
        headers = {"User-Agent": self.user_agent, "Accept": ACCEPT, "Accept-Language": "de,en;q=0.5"}
        if validators is not None:
            headers.update(validators.headers())
        attempt = 0
        while True:
            attempt += 1
            retry_in: float | None = None
            try:
                with self.gate.slot(host):
                    request = self.client.build_request(
                        "GET", current, headers=headers, timeout=httpx.Timeout(opts.timeout_s)
                    )
                    response = self.client.send(request, stream=True, follow_redirects=False)
                    try:
                        status = response.status_code
                        if status in RETRY_STATUSES and attempt <= opts.max_retries:
                            asked = retry_after_seconds(response.headers.get("Retry-After"))
                            backoff = opts.backoff_s * 2 ** (attempt - 1)
                            retry_in = min(asked if asked is not None else backoff, opts.max_retry_after_s)
                            if status in (429, 503):  # the whole host waits; the next slot() sleeps it off
                                self.gate.defer(host, retry_in)
                                retry_in = 0.0
                        elif status in REDIRECT_STATUSES and response.headers.get("Location"):
                            return None, response.headers["Location"], attempt
                        else:
                            return self._finish(url, chain, response, validators, max_bytes, attempt), None, attempt
                    finally:
                        response.close()
            except BlockedAddress as exc:
                raise _Stop(self._result(url, chain, Outcome.REFUSED, reason=str(exc), attempts=attempt)) from None
            except httpx.TimeoutException as exc:
                kind = type(exc).__name__
                raise _Stop(
                    self._result(
                        url,
                        chain,
                        Outcome.FAILED,
                        reason=f"timeout ({kind} after {opts.timeout_s:g} s)",
                        attempts=attempt,
                    )
                ) from None
            except httpx.DecodingError as exc:  # a broken gzip / brotli body: the same again on a retry
                raise _Stop(
                    self._result(url, chain, Outcome.FAILED, reason=f"cannot decode the body: {exc}", attempts=attempt)
                ) from None
            except httpx.TransportError as exc:
                if attempt > opts.max_retries:
                    raise _Stop(
                        self._result(
                            url, chain, Outcome.FAILED, reason=f"{type(exc).__name__}: {exc}", attempts=attempt
                        )
                    ) from None
                retry_in = opts.backoff_s * 2 ** (attempt - 1)
            self.gate.wait(retry_in or 0.0)

    def _finish(
        self,
        url: str,
        chain: list[str],
        response: httpx.Response,
        validators: Validators | None,
        max_bytes: int | None,
        attempts: int,
    ) -> FetchResult:
        status = response.status_code
        base: dict[str, Any] = {
            "status": status,
            "attempts": attempts,
            "etag": response.headers.get("ETag"),
            "last_modified": response.headers.get("Last-Modified"),
            "robots_tag": response.headers.get("X-Robots-Tag", "").lower(),
        }
        if status == 304:
            if validators is None or not validators.headers():
                return self._result(url, chain, Outcome.FAILED, reason="304 to an unconditional request", **base)
            return self._result(url, chain, Outcome.NOT_MODIFIED, **base)
        if status in GONE_STATUSES:
            return self._result(url, chain, Outcome.GONE, reason=f"HTTP {status}", **base)
        if not 200 <= status < 300 or status == 206:
            phrase = response.reason_phrase or ""
            return self._result(url, chain, Outcome.FAILED, reason=f"HTTP {status} {phrase}".strip(), **base)
        limit = max_bytes if max_bytes is not None else self.options.max_bytes
        declared_length = response.headers.get("Content-Length", "")
        if declared_length.isdigit() and int(declared_length) > limit:
            return self._result(
                url,
                chain,
                Outcome.FAILED,
                reason=f"too large: Content-Length {declared_length} > {limit} bytes",
                **base,
            )
        deadline = time.monotonic() + self.options.total_timeout_s
        parts: list[bytes] = []
        size = 0
        for part in response.iter_bytes():
            size += len(part)
            if size > limit:
                return self._result(
                    url, chain, Outcome.FAILED, reason=f"too large: more than {limit} bytes (download aborted)", **base
                )
            if time.monotonic() > deadline:
                return self._result(
                    url,
                    chain,
                    Outcome.FAILED,
                    reason=f"timeout: download took longer than {self.options.total_timeout_s:g} s",
                    **base,
                )
            parts.append(part)
        body = b"".join(parts)
        declared = response.headers.get("Content-Type")
        return self._result(
            url,
            chain,
            Outcome.OK,
            body=body,
            media_type=sniff(declared, body[:4096]),
            declared_type=media_type(declared),
            content_type=declared,
            **base,
        )
