"""Type stubs for the compiled scanner (src/fastdcm/_scanner.pyx)."""
from typing import List, Optional, Tuple, Union

Buffer = Union[bytes, bytearray, memoryview]

FLAG_IMPLICIT: int
FLAG_UNDEFINED: int
FLAG_ITEMS: int
FLAG_CONTENT_IMPLICIT: int
DONE: int
STOPPED: int
NEED_MORE: int
MAX_DEPTH: int

Row = Tuple[int, Optional[str], int, int, int, int]  # tag, VR, length, offset, end, flags

class ElementTable:
    def __len__(self) -> int: ...
    def row(self, i: int) -> Row: ...
    def find(self, tag: int) -> int: ...
    def lookup(self, tag: int) -> Optional[Row]: ...
    def tags(self) -> List[int]: ...

def scan(source: Buffer, start: int, end: int, little: bool, implicit: bool, *,
         is_item: bool = ..., more: bool = ..., total: int = ..., stop_tag: int = ...,
         stop_group: int = ...) -> Tuple[ElementTable, int, int, bool]: ...
def scan_items(source: Buffer, start: int, end: int, little: bool,
               implicit: bool) -> List[Tuple[int, int, bool]]: ...
def scan_sequence(source: Buffer, start: int, end: int, little: bool,
                  implicit: bool) -> List[Tuple[ElementTable, bool]]: ...
