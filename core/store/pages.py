"""``release``: unmap the pages of a shard's files that a serving process touched only to start.

The engine memory-maps its files. Two of them are read whole once and then hardly at all: loading a
shard checks every entry of its write-ahead log (``wal/``, two 32 MiB segments), and the server's summary
table (``core.store.summaries``) reads every payload once (``payload_storage/``, 126 MiB at 100k
passages); afterwards a query reads the payloads of its ten results. The kernel keeps every page a
process touched mapped into it, so its resident size (RSS) counted those 175 MiB for as long as it ran.

``madvise(MADV_DONTNEED)`` on these mappings unmaps the pages from the process. For a shared file
mapping this loses nothing (Linux, madvise(2)): the page cache keeps the pages while memory is free and
writes back what was written, and the next access maps the same data again (a minor fault, or a read
from disk once the kernel dropped it). Only shared mappings are touched (a private mapping would lose
what the process changed in it), only those of the given files, and only while no write can map or
unmap a file meanwhile (``EdgeStore`` holds the lock its writes take: an address range a write unmapped
and reused must not be advised). Queries may read on: they map nothing new. Without ``/proc`` (not
Linux) nothing happens.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MADV_DONTNEED = 4  # <sys/mman.h> on Linux


@lru_cache(maxsize=1)
def _madvise() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    fn = libc.madvise
    fn.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    fn.restype = ctypes.c_int
    return fn


def shared_mappings(root: Path, parts: tuple[str, ...], maps: str | None = None) -> list[tuple[int, int, str]]:
    """``(start, end, path)`` of this process's shared mappings of files below ``root`` whose path
    has one of ``parts`` as a directory (``"wal"``, ``"payload_storage"``), from ``/proc/self/maps``."""
    if maps is None:
        try:
            maps = Path("/proc/self/maps").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return []
    prefix = str(root.resolve()) + "/"
    found = []
    for line in maps.splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) < 6 or fields[1][3] != "s" or not fields[5].startswith(prefix):
            continue
        path = fields[5]
        if not any(f"/{part}/" in path[len(prefix) - 1 :] for part in parts):
            continue
        start, end = (int(x, 16) for x in fields[0].split("-"))
        found.append((start, end, path))
    return found


def release(root: Path, parts: tuple[str, ...]) -> int:
    """Unmap the pages of the shared mappings ``shared_mappings(root, parts)`` from this process (see
    the module); the bytes of address range released."""
    madvise = _madvise()
    if madvise is None:
        return 0
    released = 0
    for start, end, path in shared_mappings(root, parts):
        if madvise(start, end - start, MADV_DONTNEED) == 0:
            released += end - start
        else:
            log.debug("madvise of %s failed: errno %d", path, ctypes.get_errno())
    return released
