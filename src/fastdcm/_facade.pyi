"""Type stubs for the compiled half of Dataset (src/fastdcm/_facade.pyx)."""
from typing import Any, Optional

from fastdcm._scanner import ElementTable

class DatasetCore:
    is_little_endian: bool
    is_implicit_vr: bool
    def __init__(self, source: Any, table: ElementTable, little_endian: bool,
                 implicit_vr: bool, parent: Optional["DatasetCore"] = ..., meta: Any = ...,
                 transfer_syntax: str = ...) -> None: ...
    def sequence_at(self, offset: int, end: int, tag: int, implicit: bool) -> Any: ...
