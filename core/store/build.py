"""Build the indexes of a copied shard in a process of its own: ``python -m core.store.build SHARD``.

``EdgeStore.optimize`` of a serving process (``EdgeStore.build_aside``) runs this on a copy of its
shard: the engine's optimize holds the GIL for the whole build (21 min at 1M passages), so inside the
server it would stop every query for that long; in a child process the queries go on over the shard
as it was, and the built copy is swapped in afterwards.

The child runs at a lower CPU priority than the server (``NICENESS``) and ends with it (on Linux the
kernel kills it when the server dies; the next start removes the unfinished copy,
``core.store.edge.remove_aside_leftovers``). It loads the shard with the configuration stored in it, optimizes,
flushes and closes it, and prints one JSON line (``{"points": ..., "seconds": ..., "pid": ...}``).
Exit status 0 on success; otherwise 1 and the engine's message on stderr. It imports nothing of the
project but the engine, so it starts in a fraction of a second.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import sys
import time

NICENESS = 10  # the same step down as an admin job's thread (api.jobs.JOB_NICENESS)
PR_SET_PDEATHSIG = 1  # prctl option (linux/prctl.h)


def build(path: str) -> dict[str, float | int]:
    import qdrant_edge as qe

    started = time.perf_counter()
    shard = qe.EdgeShard.load(path, None)
    try:
        shard.optimize()
        shard.flush()
        info = shard.info()
    finally:
        shard.close()
    return {"points": info.points_count, "seconds": round(time.perf_counter() - started, 2), "pid": os.getpid()}


def end_with_parent() -> None:
    """Have the kernel kill this process when its parent dies (Linux; elsewhere nothing)."""
    parent = os.getppid()
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the request took hold
        os._exit(1)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m core.store.build SHARD_DIR", file=sys.stderr)
        return 2
    end_with_parent()
    with contextlib.suppress(OSError):  # not permitted here: build at the same priority
        os.nice(NICENESS)
    try:
        report = build(argv[0])
    except Exception as err:  # the engine raises bare Exceptions: one line for the parent's error
        print(f"{type(err).__name__}: {err}", file=sys.stderr)
        return 1
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
