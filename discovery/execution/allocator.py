"""Keep the memory a training frees in its process, instead of handing it back to the kernel.

glibc's malloc serves large blocks with `mmap` and trims its heap whenever the top is free, so a
training step that frees its activations and allocates the same ones for the next step faults
every page in again: 242,000 page faults and 0.5 s of system time in one training of the embedded
task, against 14,000 and none with the thresholds raised (`benchmarks/bench_evaluate.py`), and
more when two workers fault at once. Raising both thresholds keeps the freed blocks for the next
step. The peak is the same step's peak; the process just keeps it.
"""

import ctypes
import ctypes.util

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 32 * 2**20  # the largest glibc accepts on 64-bit systems
_TRIM_THRESHOLD = 2**30


def keep_freed_memory() -> bool:
    """Tune malloc for this process and the ones it forks; False where the C library is not glibc."""
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mapped = mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
    return bool(mapped) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))
