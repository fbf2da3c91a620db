"""The C heap: handing freed pages back to the system after start-up's big, short-lived
buffers (the weights as read, batches of word vectors, the geofence grid's working arrays).
glibc keeps freed memory for reuse, so without this they stay in the resident set."""

from __future__ import annotations

import ctypes
import ctypes.util


def trim_heap() -> bool:
    """malloc_trim(0): the free pages back to the system (a few ms). False where the C
    library has no malloc_trim (not glibc)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        return False
    return True
