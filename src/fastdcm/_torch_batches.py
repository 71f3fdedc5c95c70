"""Where a DataLoader worker writes a batch, so that reaching the main process costs little.

A batch crosses processes as shared memory (a file descriptor the main process maps).
Fresh shared memory is expensive here: tmpfs has no huge pages, and each 4 KB page costs
about a microsecond to fault in, so filling a fresh 32 MB batch of CT slices through a
mapping (8,192 faults) took longer than reading and converting the 32 slices. Hence:

* ``Slots``: batch memory a worker reuses, mapped (and faulted in) once. A slot is written
  again only after the main process has let go of it: the main process watches each batch
  storage it received through a weak reference, which expires only when no tensor or view
  of it is left there, and then marks the slot free in a small shared table. A token per
  hand-out makes a late or stray release (from an earlier iterator, a restarted worker)
  free nothing. Used by ``DicomDataset.loader``.
* ``Written``: fresh shared memory written with pwrite, for when no slot is free (or no
  slots were set up): the kernel allocates each page as it copies into it and the worker
  never maps it, 2x cheaper than faulting a fresh mapping in.
* ``InPlace``: an ordinary tensor filled in place, outside workers (made by numpy, whose
  large arrays get huge pages: far fewer faults) or where memfd or file-descriptor sharing
  is missing (torch's own shared memory).

A batch in a slot crosses as ``Placed``, where it is rather than a tensor: the main process
maps each slot once, through the worker's memfd in /proc, and gives the user a tensor of
its own over that mapping. Sent as a tensor, every batch cost a descriptor passed by
torch's resource sharer (a connection to the worker, an HMAC handshake, a thread woken in
the worker, a fresh mapping): 0.1 s of the 0.53 s two workers took for 5,000 CT slices.
"""
from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
from torch.multiprocessing.reductions import StorageWeakRef
from torch.utils.data import get_worker_info
from torch.utils.data._utils.pin_memory import pin_memory

from fastdcm.pixels import preads

Shape = Tuple[int, ...]


def _torch_dtype(dtype: np.dtype) -> torch.dtype:
    return torch.from_numpy(np.empty(0, dtype)).dtype


def _shaped(storage: torch.UntypedStorage, shape: Shape, dtype: np.dtype) -> torch.Tensor:
    return torch.empty(0, dtype=_torch_dtype(dtype)).set_(storage, 0, shape)


def _shares_by_fd() -> bool:
    return (hasattr(os, "memfd_create")
            and torch.multiprocessing.get_sharing_strategy() == "file_descriptor")


def _memfd(size: int) -> int:
    fd = os.memfd_create("fastdcm-batch", os.MFD_CLOEXEC)
    os.ftruncate(fd, size)
    return fd


class InPlace:
    """A tensor whose rows samples are loaded straight into."""

    # Whether rows are best written around the caches (see rescale_into's `stream`): not
    # fresh memory, which the kernel has just zeroed through them.
    streams = False

    def __init__(self, tensor: torch.Tensor):
        self._tensor = tensor
        self._array = tensor.numpy()

    def row(self, index: int) -> np.ndarray:
        return self._array[index]

    def done(self, index: int) -> None:
        pass

    def tensor(self) -> torch.Tensor:
        return self._tensor

    def handed(self, result: Any) -> Any:
        return result


class Written(InPlace):
    """Fresh shared memory filled by pwrite from a reused, page-aligned buffer."""

    def __init__(self, shape: Shape, dtype: np.dtype):
        self.shape, self.dtype = shape, dtype
        self.row_bytes = int(np.prod(shape[1:])) * dtype.itemsize
        self.fd = _memfd(self.row_bytes * shape[0])
        # A reused, page-aligned buffer: its pages are faulted in once, and a read of a
        # sample into it takes the kernel's fast copy path.
        self._scratch = preads.scratch_array(shape[1:], dtype, "sample")

    def row(self, index: int) -> np.ndarray:
        return self._scratch

    def done(self, index: int) -> None:
        data = memoryview(self._scratch.reshape(-1)).cast("B")
        written = 0
        while written < len(data):  # tmpfs writes all at once; a short write carries on
            written += os.pwrite(self.fd, data[written:],
                                 index * self.row_bytes + written)

    def tensor(self) -> torch.Tensor:
        try:
            storage = torch.UntypedStorage._new_shared_fd_cpu(
                self.fd, self.row_bytes * self.shape[0])
        finally:
            os.close(self.fd)  # the storage holds its own duplicate
        return _shaped(storage, self.shape, self.dtype)


class Handed:
    """A batch from a slot on its way to the main process: what the user gets, and the
    slot's tensor, whose storage the main process watches to know when to free it."""

    def __init__(self, result: Any, tensor: torch.Tensor, place: Tuple[int, int],
                 token: int):
        self.result, self.tensor, self.place, self.token = result, tensor, place, token

    def pin_memory(self) -> "Handed":
        """For DataLoader(pin_memory=True): the result is pinned (copied), the slot's
        tensor comes along only to be watched."""
        return Handed(pin_memory(self.result), self.tensor, self.place, self.token)


# Where a slot's memory is: (worker pid, its memfd there, bytes, generation of the slot).
Memory = Tuple[int, int, int, int]


class Placed:
    """A batch in a slot on its way to the main process: where it is (the slot's memory,
    shape, type) and its metadata, not the tensor itself (see the module's notes)."""

    def __init__(self, memory: Memory, shape: Shape, dtype: str, metadata: Optional[tuple],
                 place: Tuple[int, int], token: int):
        self.memory, self.shape, self.dtype = memory, shape, dtype
        self.metadata = metadata  # (the batch's metadata,), or None for the tensor alone
        self.place, self.token = place, token


class Slot(InPlace):
    streams = True  # reused batch memory, read by another process later

    def __init__(self, tensor: torch.Tensor, place: Tuple[int, int], token: int,
                 memory: Optional[Memory]):
        super().__init__(tensor)
        self.place, self.token, self.memory = place, token, memory

    def handed(self, result: Any) -> Any:
        """A Placed batch when `result` is this slot's tensor (with metadata or not) and
        the main process can map it; anything else (a transform's output) as it is."""
        tensor = self._tensor
        if self.memory is not None:
            if result is tensor:
                return self._placed(None)
            if type(result) is tuple and len(result) == 2 and result[0] is tensor:
                return self._placed((result[1],))
        return Handed(result, tensor, self.place, self.token)

    def _placed(self, metadata: Optional[tuple]) -> Placed:
        assert self.memory is not None
        return Placed(self.memory, tuple(self._tensor.shape), self._array.dtype.str,
                      metadata, self.place, self.token)


class Slots:
    """Reusable batch memory: `per_worker` slots for each of `workers` worker processes,
    and the shared table (0: free, else the token of the hand-out) both sides go by."""

    def __init__(self, workers: int, per_worker: int, placed: bool = True):
        self.states = torch.zeros((max(1, workers), per_worker),
                                  dtype=torch.int64).share_memory_()
        # Batches cross as Placed where the main process can open a worker's memfd (not
        # with pin_memory: the pinning thread is handed the batch before this process is).
        self.placed = placed and os.path.isdir(f"/proc/{os.getpid()}/fd")
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        # worker side, by slot: its storage, memfd and generation
        self._storages: Dict[int, Tuple[torch.UntypedStorage, int, int]] = {}
        self._pending: List[Tuple[StorageWeakRef, Tuple[int, int], int]] = []  # main side
        self._mapped: Dict[Tuple[int, int], Tuple[Memory, torch.UntypedStorage]] = {}
        self._count = 0

    def __getstate__(self) -> Dict[str, Any]:
        return {"states": self.states, "placed": self.placed}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.states, self.placed = state["states"], state["placed"]
        self._reset()

    # -- worker side -------------------------------------------------------------------

    def take(self, shape: Shape, dtype: np.dtype) -> Optional[Slot]:
        """A free slot of this worker holding `shape` (reallocated if too small), marked
        handed out; None when every slot is still held by the main process."""
        if self._pid != os.getpid():  # forked: the parent's slots are not this worker's
            self._reset()
        info = get_worker_info()
        states = self.states.numpy()
        if info is None or info.id >= len(states):
            return None
        row = states[info.id]
        free = np.flatnonzero(row == 0)
        if not len(free):
            return None
        slot = int(free[0])
        size = int(np.prod(shape)) * dtype.itemsize
        found = self._storages.get(slot)
        if found is None or found[0].nbytes() < size:
            if found is not None:
                os.close(found[1])
            fd = _memfd(size)  # kept open: the main process opens it through /proc
            found = self._storages[slot] = (
                torch.UntypedStorage._new_shared_fd_cpu(fd, size), fd, self._count)
        storage, fd, generation = found
        self._count += 1
        token = (os.getpid() << 24) | (self._count & 0xFFFFFF)
        row[slot] = token
        memory = (os.getpid(), fd, storage.nbytes(), generation) if self.placed else None
        return Slot(_shaped(storage, shape, dtype), (info.id, slot), token, memory)

    # -- main side ---------------------------------------------------------------------

    def received(self, item: Any) -> Any:
        """What the user gets from a batch a worker sent (after `release`)."""
        self.release()
        if isinstance(item, Placed):
            # A tensor with a storage of its own over the slot's mapping, so that the
            # weak reference expires when the user lets go of it (and its views).
            watched = torch.from_numpy(_shaped(self._slot_storage(item), item.shape,
                                               np.dtype(item.dtype)).numpy())
            result = watched if item.metadata is None else (watched, item.metadata[0])
        elif isinstance(item, Handed):
            watched, result = item.tensor, item.result
        else:
            return item
        self._pending.append((StorageWeakRef(watched.untyped_storage()), item.place,
                              item.token))
        return result

    def _slot_storage(self, item: Placed) -> torch.UntypedStorage:
        """The slot's memory mapped in this process: once per slot and generation (a
        new one replaces the old, so that memory of gone workers is let go)."""
        known = self._mapped.get(item.place)
        if known is not None and known[0] == item.memory:
            return known[1]
        pid, fd, size, _ = item.memory
        ours = os.open(f"/proc/{pid}/fd/{fd}", os.O_RDWR)
        try:
            storage = torch.UntypedStorage._new_shared_fd_cpu(ours, size)
        finally:
            os.close(ours)  # the storage holds its own duplicate
        self._mapped[item.place] = (item.memory, storage)
        return storage

    def release(self) -> None:
        """Mark free the slots whose batches the main process no longer holds."""
        states = self.states.numpy()
        kept = []
        for ref, (worker, slot), token in self._pending:
            if not ref.expired():
                kept.append((ref, (worker, slot), token))
            elif states[worker, slot] == token:
                states[worker, slot] = 0
        self._pending = kept


def memory(shape: Shape, dtype: np.dtype, slots: Optional[Slots]) -> InPlace:
    """Where a batch of `shape` is best written in this process (see the module's notes)."""
    if get_worker_info() is None:
        return InPlace(torch.from_numpy(np.empty(shape, dtype)))
    if _shares_by_fd():
        found = slots.take(shape, dtype) if slots is not None else None
        return found if found is not None else Written(shape, dtype)
    storage = torch.UntypedStorage._new_shared(int(np.prod(shape)) * dtype.itemsize)
    return InPlace(_shaped(storage, shape, dtype))
