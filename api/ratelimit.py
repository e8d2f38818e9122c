"""A per-client rate limit for the searches (``/search``, ``/export.*``, the web page with ``q``).

A token bucket per client address: ``burst`` requests at once, refilled at ``rate`` per second
(``Settings.search_rate_limit`` / ``search_rate_burst``); a request without a token gets 429 with
``Retry-After`` and the common error body. A search costs an embedding and two retrievals, so this is
what keeps one client from occupying the server; everything else is cheap and not limited.

Buckets live in memory, at most ``max_clients`` of them (least recently seen dropped first: a client
that was dropped starts again with a full bucket, so the bound can only make the limit milder). The
client address is the socket's, or the trusted proxy's X-Forwarded-For as uvicorn sets it.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import error_response

LIMITED_PATHS = frozenset({"/search", "/export.json", "/export.csv"})
MAX_CLIENTS = 10_000


class TokenBuckets:
    """``take(key)`` -> 0.0 when a token was taken, else the seconds until the next one."""

    def __init__(
        self, rate: float, burst: int, *, max_clients: int = MAX_CLIENTS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.max_clients = max_clients
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, updated)

    def take(self, key: str) -> float:
        now = self.clock()
        tokens, updated = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - updated) * self.rate)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.rate
        self._buckets[key] = (tokens, now)  # most recently seen last
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return wait

    def __len__(self) -> int:
        return len(self._buckets)


def _is_search(scope: Scope) -> bool:
    path = scope.get("path", "")
    if path in LIMITED_PATHS:
        return True
    if path == "/":  # the web page searches when it has a query
        query = scope.get("query_string", b"")
        return any(part.startswith(b"q=") and len(part) > 2 for part in query.split(b"&"))
    return False


class RateLimitMiddleware:
    """429 for a client's searches beyond its token bucket; ``rate`` 0 turns the limit off."""

    def __init__(self, app: ASGIApp, rate: float, burst: int) -> None:
        self.app = app
        self.buckets = TokenBuckets(rate, burst) if rate > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.buckets is None or scope["type"] != "http" or not _is_search(scope):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        wait = self.buckets.take(client[0] if client else "unknown")
        if wait > 0:
            response = error_response(
                429,
                "too_many_requests",
                f"Too many search requests from this address; try again in {math.ceil(wait)} s.",
                headers={"Retry-After": str(math.ceil(wait))},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
