"""Type stub for the compiled directory listing (fastdcm/_listing.pyx)."""
from typing import Collection, List, Tuple

FILE: int
FOLDER: int
FILE_OF_INODE: int

def list_folder(top: str, inodes: Collection[int] = ()) -> Tuple[List[str], bytes]:
    """The files and folders in `top`, as paths, in the order of their names, and their
    kinds (bytes: FILE, FOLDER, or FILE_OF_INODE for a file whose inode is in `inodes`);
    OSError when `top` cannot be listed (or an entry cannot be looked at)."""
