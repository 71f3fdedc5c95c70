"""Who reads which files of a chunk sent to a bulk worker: the worker, or its parent.

A worker reads a chunk in pieces and claims each piece before reading it; once the parent
has handed every chunk out, it takes back what workers have not claimed: whole chunks
still queued, and the second half of what is left of the chunk a worker is reading. So no
process waits at the end of a run while another has more than a piece to read, however
fast each runs (on a shared machine one core may run a third slower than the other for
seconds at a time).

The claims live in memory shared by the fork, one slot per chunk that may be in flight
(its number, how far its worker has claimed, where it must stop), under one lock: a few
microseconds per piece of PIECE_FILES files, which take a millisecond or two to read.
"""
from __future__ import annotations

import mmap
from array import array
from typing import Any, Optional, Tuple

# Files a worker claims at a time: what the parent may have to wait for at the end.
PIECE_FILES = 32
NUMBER, CLAIMED, LIMIT = range(3)  # the fields of a slot
# Longer than the lock is ever held (microseconds), however loaded the machine.
LOCK_SECONDS = 1.0


class Claims:
    """Slots for `slots` chunks in flight at once, shared with processes forked later.

    A slot belongs to the chunk whose number it holds; a chunk whose slot holds a smaller
    number has not been started. Chunks in flight are fewer than the slots, so they never
    share one, and a slot holding a larger number means that chunk is long done.
    """

    def __init__(self, slots: int, lock: Any):
        self.fields = memoryview(mmap.mmap(-1, 8 * 3 * slots)).cast("q")
        self.fields[:] = array("q", [-1]) * (3 * slots)
        self.slots = slots
        self.lock = lock

    def next_piece(self, number: int, start: int, length: int) -> int:
        """For a worker reading chunk `number` (of `length` files) that has read the files
        before `start`: the end of the next piece it may read; `start` when there is none
        (the parent took the rest, or the whole chunk before the worker began)."""
        base = 3 * (number % self.slots)
        fields = self.fields
        with self.lock:
            if start == 0:
                if fields[base + NUMBER] >= number:
                    return 0
                fields[base + NUMBER] = number
                fields[base + LIMIT] = length
            end = max(start, min(start + PIECE_FILES, fields[base + LIMIT]))
            fields[base + CLAIMED] = end
        return end

    def take_back(self, number: int, length: int) -> Optional[Tuple[int, int]]:
        """For the parent: the files of chunk `number` it now reads itself, as (start,
        end): the whole chunk if its worker has not begun it, else the second half of what
        the worker has not claimed, if that is worth a piece; None otherwise."""
        base = 3 * (number % self.slots)
        fields = self.fields
        # A worker killed while it held the lock (the OOM killer, say) would hold it for
        # ever: then nothing is taken back, and the parent, waiting on the worker's pipe,
        # learns that it died.
        if not self.lock.acquire(timeout=LOCK_SECONDS):
            return None
        try:
            if fields[base + NUMBER] < number:
                fields[base + NUMBER] = number
                fields[base + LIMIT] = fields[base + CLAIMED] = 0
                return 0, length
            claimed, limit = fields[base + CLAIMED], fields[base + LIMIT]
            if limit - claimed < 2 * PIECE_FILES:
                return None
            middle = claimed + (limit - claimed) // 2
            fields[base + LIMIT] = middle
        finally:
            self.lock.release()
        return middle, limit
