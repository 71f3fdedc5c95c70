"""The threads that pixel work is spread over: frame decoding and large positioned reads.

Both release the GIL for nearly all their time (the codecs and ``preadv`` run in C), so a
few threads use the cores a process is allowed without the cost of processes. One pool per
process, made on first use, and made again in a forked child (a parent's pool has no
threads there).
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

MAX_THREADS = 4
_pool: Optional[ThreadPoolExecutor] = None
_pool_pid = 0


def count() -> int:
    """How many threads are worth using: the cores this process may run on, at most 4."""
    return min(MAX_THREADS, len(os.sched_getaffinity(0)))


def pool() -> ThreadPoolExecutor:
    global _pool, _pool_pid
    if _pool is None or _pool_pid != os.getpid():
        _pool, _pool_pid = ThreadPoolExecutor(MAX_THREADS, "fastdcm-pixels"), os.getpid()
    return _pool
