"""Handing memory a process freed back to the operating system."""

from __future__ import annotations

import contextlib
import ctypes


def release_freed_memory() -> None:
    """Return the C heap's free pages to the OS (glibc ``malloc_trim``): after a load that allocated
    and freed much more than it keeps (a model's float32 weights replaced by int8, a full read of the
    index's payloads), the resident memory is then what the process holds, not what loading needed.
    Without glibc nothing happens: the process reuses the memory instead."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
