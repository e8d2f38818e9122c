"""Per-host politeness: at most ``max_concurrent`` requests at a time to one host, and request
starts at least ``delay`` seconds apart (the larger of the crawl's delay and the host's robots.txt
``Crawl-delay``). Every request passes a gate: page fetches, retries, redirect hops, robots.txt
and sitemaps alike.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class _Host:
    delay: float
    slots: threading.Semaphore
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_start: float = 0.0


class HostGate:
    """Thread-safe; one per crawl. ``clock`` and ``sleep`` are seams for tests."""

    def __init__(
        self,
        *,
        delay: float,
        max_concurrent: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.delay = delay
        self.max_concurrent = max_concurrent
        self._clock = clock
        self._sleep = sleep
        self._hosts: dict[str, _Host] = {}
        self._lock = threading.Lock()

    def _host(self, host: str) -> _Host:
        with self._lock:
            state = self._hosts.get(host)
            if state is None:
                state = _Host(self.delay, threading.Semaphore(self.max_concurrent))
                self._hosts[host] = state
            return state

    def set_delay(self, host: str, delay: float) -> None:
        """Raise the host's delay (e.g. to its robots.txt crawl-delay); never lowers it below the crawl's."""
        state = self._host(host)
        with state.lock:
            state.delay = max(self.delay, delay)

    def delay_of(self, host: str) -> float:
        return self._host(host).delay

    def ready_in(self, host: str) -> float:
        """Seconds until a request to ``host`` may start (0 if now); for the scheduler."""
        state = self._host(host)
        with state.lock:
            return max(0.0, state.next_start - self._clock())

    def defer(self, host: str, seconds: float) -> None:
        """Hold back every request to ``host`` for ``seconds`` (after a 429 or 503)."""
        state = self._host(host)
        with state.lock:
            state.next_start = max(state.next_start, self._clock() + seconds)

    def wait(self, seconds: float) -> None:
        """Sleep outside any slot (backoff between retries)."""
        if seconds > 0:
            self._sleep(seconds)

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        """Hold one of the host's slots for the duration of a request, started no earlier than its delay allows."""
        state = self._host(host)
        state.slots.acquire()
        try:
            with state.lock:
                start = max(self._clock(), state.next_start)
                state.next_start = start + state.delay
            pause = start - self._clock()
            if pause > 0:
                self._sleep(pause)
            yield
        finally:
            state.slots.release()
