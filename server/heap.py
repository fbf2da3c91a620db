"""The C heap: handing freed pages back to the system once start-up's big, short-lived
buffers are freed (the weights as read, the geofence grid's working arrays), before the
triage warm-up makes its words. glibc keeps freed memory for reuse, and the words would
otherwise sit on top of it: the memory bench's peak was 200-205 MB without, 185-193 with.
(Trimming again after the warm-up lowers the resident set further but not the peak; it is
not done, as what it hands back is soon asked for again under load.)"""

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
