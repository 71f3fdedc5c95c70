"""A map-style torch Dataset over DICOM files, frames, series or a bulk index (``torch``
extra; the only fastdcm module that imports torch).

    from fastdcm.torch import DicomDataset
    data = DicomDataset("index.parquet", unit="frame", metadata=["path", "PatientID"])
    loader = torch.utils.data.DataLoader(data, batch_size=32, num_workers=8)
    loader = data.loader(32, shuffle=True, num_workers=8)    # batches filled in place

Samples are float32 tensors in modality units (Hounsfield units for CT) by default, made
from numpy with ``torch.from_numpy``: each holds one fresh array, so no copy is made on the
way to torch. Rows of a bulk index with pixel locators are read with one positioned read
per frame (compressed frames then decoded as ``ds.frame(i)`` decodes them), without
parsing the file. The Dataset pickles as a list of plain sample
descriptions; files are opened by each worker process when it first needs them, and a
worker never uses a mapping its parent opened (see fastdcm._samples.OpenFiles), so it is
safe with any DataLoader ``num_workers`` and start method.
"""
from __future__ import annotations

import os
from typing import (Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence,
                    Tuple, Union)

import numpy as np
import torch
from torch.utils.data import (BatchSampler, DataLoader, Dataset, RandomSampler,
                              SequentialSampler)

from fastdcm import _samples, _torch_batches

__all__ = ["DicomDataset"]


class DicomDataset(Dataset):
    """DICOM images, frames or series as tensors.

    `source`: a folder (searched recursively), a list of paths, or a bulk index (a pyarrow
    Table, a Parquet file from ``fastdcm index``, a pandas DataFrame, or a list of mappings
    with the index's columns; rows with an ``error`` are left out).

    `unit`: ``"image"`` gives one sample per file, shaped like pydicom's ``pixel_array``
    (rows, columns) or (frames, rows, columns); ``"frame"`` one (rows, columns) sample per
    frame (files are counted at construction, from their headers or the index);
    ``"series"`` one (slices, rows, columns) volume per Series Instance UID, sorted and
    checked as ``fastdcm.volume.load_series`` does. For "image" from a folder, every file
    is a sample: filter it through an index to skip files that are not images.

    `dtype` (torch or numpy): values are rescaled (Modality LUT / Rescale Slope and
    Intercept) into it; None gives the stored values in their own type, not rescaled.

    `metadata`: names to return with each sample as ``(tensor, dict)``: attribute keywords
    (from the header, or the index's columns for index rows), ``"path"``, ``"frame"`` (-1
    for a whole image), and for series ``"affine"``, ``"spacing"``, ``"origin"``,
    ``"direction"`` and ``"gantry_tilt"``. Numeric multi-values come as float64 arrays, so
    that the default collate batches them; an absent attribute is None, which it does not.

    `transform` is applied to the tensor before it is returned (to the batch tensor when
    indexed by a list, as ``loader`` does).
    """

    def __init__(self, source: Union[str, "os.PathLike[str]", Iterable[Any], Any], *,
                 unit: str = "image", dtype: Any = torch.float32,
                 metadata: Sequence[str] = (),
                 transform: Optional[Callable[[torch.Tensor], Any]] = None):
        self.unit = unit
        self.metadata = tuple(metadata)
        self.transform = transform
        self._dtype = _numpy_dtype(dtype)
        self._samples = _samples.build(source, unit, self.metadata)
        self._files = _samples.OpenFiles()

    def __len__(self) -> int:
        return len(self._samples)

    def __getitem__(self, index: Union[int, Sequence[int]]
                    ) -> Union[Any, Tuple[Any, Dict[str, Any]]]:
        """Sample `index`; for a sequence of indexes, their batch: one tensor (batch,
        ...) that each sample is written into (a worker makes it in shared memory, so it
        reaches the main process without another copy), metadata as lists."""
        if not isinstance(index, (int, np.integer)):
            return self._batch([int(i) for i in index])
        array, meta = self._samples[index].load(self._dtype, self._files, self.metadata)
        return self._finish(torch.from_numpy(array), meta)

    def _batch(self, indexes: List[int], slots: Optional[_torch_batches.Slots] = None
               ) -> Any:
        if not indexes:
            raise IndexError("an empty batch")
        first, meta = self._samples[indexes[0]].load(self._dtype, self._files, self.metadata)
        metas = {name: [value] for name, value in meta.items()}
        memory = _torch_batches.memory((len(indexes),) + first.shape, first.dtype, slots)
        memory.row(0)[...] = first
        memory.done(0)
        for row, index in enumerate(indexes[1:], 1):
            _, meta = self._samples[index].load(self._dtype, self._files, self.metadata,
                                                memory.row(row), memory.streams)
            memory.done(row)
            for name, value in meta.items():
                metas[name].append(value)
        return memory.handed(self._finish(memory.tensor(), metas))

    def _finish(self, tensor: torch.Tensor, meta: Dict[str, Any]
                ) -> Union[Any, Tuple[Any, Dict[str, Any]]]:
        result: Any = tensor if self.transform is None else self.transform(tensor)
        return (result, meta) if self.metadata else result

    def loader(self, batch_size: int, *, shuffle: bool = False, drop_last: bool = False,
               **kwargs: Any) -> DataLoader:
        """A DataLoader handing out batches that the workers fill in place: the fast way
        to batches of same-shaped samples. Each sample is written straight into the
        shared memory the main process receives (the default collate copies each once
        more), and a worker reuses that memory for a later batch once the main process
        holds no tensor or view of it any more (see fastdcm._torch_batches): keep a batch,
        or a view of it, as long as you need it, but give other processes a copy.
        `kwargs` go to DataLoader (num_workers, pin_memory, persistent_workers...)."""
        order = RandomSampler(self) if shuffle else SequentialSampler(self)
        workers = kwargs.get("num_workers", 0)
        # A worker may be asked for a batch while its prefetched ones (prefetch_factor)
        # are on their way, the training step holds one and the one before is not yet
        # seen released: one slot more than that never leaves it waiting for one. Slots
        # are made when first used, so those a worker does not need cost nothing.
        per_worker = (kwargs.get("prefetch_factor") or 2) + 3
        slots = _torch_batches.Slots(workers, per_worker,
                                     placed=not kwargs.get("pin_memory", False))
        return _SlotLoader(_InPlace(self, slots),
                           batch_size=None,
                           sampler=BatchSampler(order, batch_size, drop_last), **kwargs)

    def close(self) -> None:
        """Release the files this process holds open (they reopen when needed)."""
        self._files.close()

    def __getstate__(self) -> Dict[str, Any]:
        state = dict(self.__dict__)
        state["_files"] = None  # open files stay with the process that opened them
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._files = _samples.OpenFiles()


class _InPlace(Dataset):
    """The Dataset a loader() hands to its DataLoader: batches by lists of indexes,
    written into the loader's reusable slots."""

    def __init__(self, data: DicomDataset, slots: _torch_batches.Slots):
        self.data, self.slots = data, slots

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, indexes: Sequence[int]) -> Any:
        return self.data._batch([int(i) for i in indexes], self.slots)


class _SlotLoader(DataLoader):
    """A DataLoader that hands out its workers' batches and, while it does, tells them
    which slots the main process has let go of."""

    def __iter__(self) -> Iterator[Any]:
        slots = self.dataset.slots
        slots.release()  # before the workers are asked for the first batches
        for item in super().__iter__():
            yield slots.received(item)


def _numpy_dtype(dtype: Any) -> Optional[np.dtype]:
    if dtype is None:
        return None
    if isinstance(dtype, torch.dtype):
        return torch.empty((), dtype=dtype).numpy().dtype
    return np.dtype(dtype)
