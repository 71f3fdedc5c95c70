# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""One directory listed in C, for the bulk indexer: its workers wait for the listing.

os.scandir makes a DirEntry, a name and a path string per entry, and the sort is then
Python's: 20,000 files took 13 ms. Here readdir runs without the GIL into one block of
names, which are sorted as bytes, and only then do the paths become strings (4.8 ms, of
which the kernel's readdir takes 3). Byte order is string order for ASCII names; a folder
with other names (perhaps not even UTF-8) is put in its strings' order afterwards.

Entries are taken as ``os.scandir`` sees them, so that the indexer finds the same files:
names starting with "." are skipped, a symbolic link is never a folder (it could loop)
and is a file when it leads to one, and an entry that vanishes while it is looked at, or
a link that leads nowhere, is skipped. An entry that is there but cannot be looked at (a
link that loops back on itself, one into a folder we may not enter) is taken as a file,
so that its row holds the error: DirEntry.is_file() raises, and os.walk would drop the
whole folder for it.
"""
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.unicode cimport PyUnicode_1BYTE_DATA, PyUnicode_New
from libc.errno cimport ENOENT, ENOTDIR, errno
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc, qsort, realloc
from libc.string cimport memcpy, memset, strcmp, strlen
from posix.fcntl cimport AT_SYMLINK_NOFOLLOW
from posix.stat cimport S_ISDIR, S_ISLNK, S_ISREG, fstatat, struct_stat
from posix.types cimport ino_t

import os


cdef extern from "<dirent.h>" nogil:
    ctypedef struct DIR:
        pass
    struct dirent:
        ino_t d_ino
        unsigned char d_type
        char d_name[256]
    DIR* opendir(const char* name)
    dirent* readdir(DIR* folder)
    int closedir(DIR* folder)
    int dirfd(DIR* folder)
    enum:
        DT_UNKNOWN
        DT_DIR
        DT_REG
        DT_LNK

cdef extern from "Python.h":
    object PyUnicode_DecodeFSDefaultAndSize(const char* s, Py_ssize_t size)

cdef enum Kind:
    KIND_FILE
    KIND_FOLDER
    KIND_FILE_OF_INODE  # a file whose inode is one of those asked about
    KIND_NONE  # neither: a device, a socket, a link to a folder, a vanished entry

# What list_folder says of each path.
FILE = KIND_FILE
FOLDER = KIND_FOLDER
FILE_OF_INODE = KIND_FILE_OF_INODE


ctypedef struct Entry:
    uint64_t key        # 8 bytes of the name past those all names share, big endian
    const char* name    # NUL-terminated, in the block of names
    size_t offset       # of the name in the block, while the block may still move
    uint32_t length     # (small fields: the sort moves entries around)
    uint8_t kind
    uint8_t is_ascii


ctypedef struct Listing:
    Entry* entries
    Py_ssize_t count
    Py_ssize_t room
    char* names
    size_t used
    size_t size
    size_t longest     # name, in bytes
    bint all_ascii
    int error          # errno of the first failure, 0 for none


cdef int by_name(const void* a, const void* b) noexcept nogil:
    return strcmp((<const Entry*>a).name, (<const Entry*>b).name)


cdef uint8_t kind_of(int folder, const char* name, unsigned char d_type) noexcept nogil:
    """What ``DirEntry.is_dir(follow_symlinks=False)`` then ``is_file()`` make of a name,
    with a stat only where d_type does not tell (a link, or a file system without d_type);
    a file where they would raise."""
    cdef struct_stat st
    if d_type == DT_UNKNOWN:
        if fstatat(folder, name, &st, AT_SYMLINK_NOFOLLOW) != 0:
            return KIND_NONE if errno == ENOENT else KIND_FILE
        if S_ISDIR(st.st_mode):
            return KIND_FOLDER
        if not S_ISLNK(st.st_mode):
            return KIND_FILE if S_ISREG(st.st_mode) else KIND_NONE
    elif d_type == DT_DIR:
        return KIND_FOLDER
    elif d_type != DT_LNK:
        return KIND_FILE if d_type == DT_REG else KIND_NONE
    if fstatat(folder, name, &st, 0) != 0:  # a link: where it leads
        return KIND_NONE if errno == ENOENT or errno == ENOTDIR else KIND_FILE
    return KIND_FILE if S_ISREG(st.st_mode) else KIND_NONE


cdef bint add(Listing* out, const char* name, uint8_t kind) noexcept nogil:
    """Append `name` to the listing; False when memory runs out."""
    cdef size_t length = strlen(name), size
    cdef Py_ssize_t room, i
    cdef Entry* entry
    cdef void* grown
    cdef bint is_ascii = True
    if out.count == out.room:
        room = out.room * 2 + 256
        grown = realloc(out.entries, room * sizeof(Entry))
        if grown == NULL:
            return False
        out.entries = <Entry*>grown
        out.room = room
    if out.used + length + 1 > out.size:
        size = (out.used + length + 1) * 2 + 4096
        grown = realloc(out.names, size)
        if grown == NULL:
            return False
        out.names = <char*>grown
        out.size = size
    memcpy(out.names + out.used, name, length + 1)
    for i in range(<Py_ssize_t>length):
        if <uint8_t>name[i] >= 0x80:
            is_ascii = False
            break
    entry = &out.entries[out.count]
    entry.offset = out.used
    entry.length = length
    entry.kind = kind
    entry.is_ascii = is_ascii
    out.all_ascii = out.all_ascii and is_ascii
    out.used += length + 1
    out.count += 1
    if length > out.longest:
        out.longest = length
    return True


cdef void read_folder(DIR* folder, const uint64_t* inodes, Py_ssize_t inode_count,
                      Listing* out) noexcept nogil:
    """Every entry of `folder` that is a file or a folder into `out`, sorted by name."""
    cdef int fd = dirfd(folder)
    cdef dirent* item
    cdef uint8_t kind
    cdef Py_ssize_t i
    while True:
        errno = 0
        item = readdir(folder)
        if item == NULL:
            if errno != 0:
                out.error = errno
            break
        if item.d_name[0] == b'.':
            continue
        kind = kind_of(fd, item.d_name, item.d_type)
        if kind == KIND_NONE:
            continue
        if kind == KIND_FILE:
            for i in range(inode_count):  # one or two: the index being written
                if inodes[i] == item.d_ino:
                    kind = KIND_FILE_OF_INODE
                    break
        if not add(out, item.d_name, kind):
            out.error = -1
            break
    if not out.error and not sort_by_name(out):
        out.error = -1


cdef bint sort_by_name(Listing* out) noexcept nogil:
    """Sort the entries as their names' bytes; False when memory runs out.

    Names of one folder tend to share a long start ("IM-0001-", "1.2.840.") and a
    comparison function costs more than the comparing: a radix sort of the 8 bytes that
    follow what all names share orders them in a few passes, and only names that share
    those too are compared.
    """
    cdef Entry* entries = out.entries
    cdef Py_ssize_t count = out.count, shared = 0, i, start, digit
    cdef Py_ssize_t tally[8][256]
    cdef Py_ssize_t total, seen
    cdef const char* first
    cdef const char* name
    cdef uint64_t key
    cdef Entry* spare
    cdef Entry* swap
    if count < 2:
        if count:
            entries[0].name = out.names + entries[0].offset
        return True
    for i in range(count):
        entries[i].name = out.names + entries[i].offset
    first = entries[0].name
    shared = entries[0].length
    for i in range(1, count):
        name = entries[i].name
        start = 0
        while start < shared and name[start] == first[start]:
            start += 1
        shared = start
    memset(tally, 0, sizeof(tally))
    for i in range(count):
        name = entries[i].name + shared
        key = 0
        for digit in range(8):
            key = (key << 8) | (<uint8_t>name[digit] if shared + digit < entries[i].length
                                else 0)
        entries[i].key = key
        for digit in range(8):
            tally[digit][(key >> (8 * digit)) & 0xFF] += 1
    spare = <Entry*>malloc(count * sizeof(Entry))
    if spare == NULL:
        return False
    for digit in range(8):  # least significant byte first, each pass stable
        if tally[digit][(entries[0].key >> (8 * digit)) & 0xFF] == count:
            continue  # a byte all keys share
        total = 0
        for i in range(256):
            seen = tally[digit][i]
            tally[digit][i] = total
            total += seen
        for i in range(count):
            spare[tally[digit][(entries[i].key >> (8 * digit)) & 0xFF]] = entries[i]
            tally[digit][(entries[i].key >> (8 * digit)) & 0xFF] += 1
        swap = entries
        entries = spare
        spare = swap
    if entries != out.entries:
        memcpy(out.entries, entries, count * sizeof(Entry))
        spare = entries
    free(spare)
    start = 0
    for i in range(1, count + 1):  # names that share their keys too
        if i == count or out.entries[i].key != out.entries[start].key:
            if i - start > 1:
                qsort(out.entries + start, i - start, sizeof(Entry), by_name)
            start = i
    return True


cdef tuple paths_of(bytes prefix, Listing* out):
    """The sorted names as paths under `prefix` (ASCII ones copied straight into strings,
    the others decoded as os.fsdecode would: undecodable bytes become surrogates), and
    their kinds."""
    cdef Py_ssize_t start = len(prefix), i
    cdef const char* head = prefix
    cdef bint ascii_prefix = max(prefix, default=0) < 0x80
    cdef list paths = [None] * out.count
    cdef bytes kinds = PyBytes_FromStringAndSize(NULL, out.count)
    cdef char* kind = PyBytes_AS_STRING(kinds)
    cdef Entry* entry
    cdef char* joined = NULL
    cdef object path
    try:
        for i in range(out.count):
            entry = &out.entries[i]
            kind[i] = entry.kind
            if ascii_prefix and entry.is_ascii:
                path = PyUnicode_New(start + entry.length, 127)
                memcpy(PyUnicode_1BYTE_DATA(path), head, start)
                memcpy(PyUnicode_1BYTE_DATA(path) + start, entry.name, entry.length)
            else:
                if joined == NULL:
                    joined = <char*>malloc(start + out.longest)
                    if joined == NULL:
                        raise MemoryError()
                    memcpy(joined, head, start)
                memcpy(joined + start, entry.name, entry.length)
                path = PyUnicode_DecodeFSDefaultAndSize(joined, start + entry.length)
            paths[i] = path
    finally:
        free(joined)
    return paths, kinds


def list_folder(str top, inodes=()):
    """The files and folders in `top`, as paths, in the order of their names, and their
    kinds (bytes: FILE, FOLDER, or FILE_OF_INODE for a file whose inode is in `inodes`).

    OSError when `top` cannot be listed.
    """
    cdef bytes encoded = os.fsencode(top)
    cdef bytes prefix = encoded if encoded.endswith(b"/") or not encoded else encoded + b"/"
    cdef const char* name = encoded
    cdef Py_ssize_t count = len(inodes), i
    cdef uint64_t* wanted = NULL
    cdef DIR* folder
    cdef Listing out
    if b"\0" in encoded:
        raise ValueError("embedded null byte")
    out.entries = NULL
    out.names = NULL
    out.count = out.room = 0
    out.used = out.size = out.longest = 0
    out.all_ascii = True
    out.error = 0
    try:
        if count:
            wanted = <uint64_t*>malloc(count * sizeof(uint64_t))
            if wanted == NULL:
                raise MemoryError()
            for i, inode in enumerate(inodes):
                wanted[i] = inode
        with nogil:
            folder = opendir(name)
            if folder == NULL:
                out.error = errno
            else:
                read_folder(folder, wanted, count, &out)
                closedir(folder)
        if out.error == -1:
            raise MemoryError()
        if out.error:
            raise OSError(out.error, os.strerror(out.error), top)
        paths, kinds = paths_of(prefix, &out)
    finally:
        free(wanted)
        free(out.entries)
        free(out.names)
    if not out.all_ascii:
        order = sorted(range(len(paths)), key=paths.__getitem__)
        paths = [paths[i] for i in order]
        kinds = bytes([kinds[i] for i in order])
    return paths, kinds
