"""The lazy facade over the scanner's tables: Dataset, Element and Sequence.

A Dataset is one level of the data set (the top level or one sequence item): an element
table from the scanner plus the source bytes. Elements are made when asked for, values are
converted when asked for, and a sequence is scanned the first time its value is asked for.
Nothing here walks bytes: that is the scanner's job.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional, Tuple, Union

from fastdcm import _scanner, dictionary, vr_rules
from fastdcm._facade import DatasetCore
from fastdcm.charset import python_encodings
from fastdcm.errors import InvalidDicomError
from fastdcm.values import convert_value, value_multiplicity

if TYPE_CHECKING:
    import numpy

Key = Union[int, Tuple[int, int], str]

SPECIFIC_CHARACTER_SET = 0x00080005
UNDEFINED_LENGTH = 0xFFFFFFFF
_NOT_CONVERTED = object()
_DEFAULT_ENCODINGS = python_encodings(None)
# Explicit VRs whose value converts without looking at anything else in the data set.
_DIRECT_VRS = frozenset(
    "AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SS ST SV TM UC UI UL UR "
    "US UT UV".split())


def tag_of(key: Key) -> int:
    """A tag from an int, a (group, element) pair or a keyword; KeyError when unknown."""
    if isinstance(key, int):
        if 0 <= key <= 0xFFFFFFFF:
            return key
        raise KeyError(key)
    if isinstance(key, str):
        tag = dictionary.tag_for_keyword(key)
        if tag is None:
            raise KeyError(key)
        return tag
    if (isinstance(key, tuple) and len(key) == 2 and isinstance(key[0], int)
            and isinstance(key[1], int) and 0 <= key[0] <= 0xFFFF and 0 <= key[1] <= 0xFFFF):
        return (key[0] << 16) | key[1]
    raise KeyError(key)


def _located(exc: InvalidDicomError, offset: int, tag: int) -> InvalidDicomError:
    """A value that does not convert is reported at its element: values.py knows no offsets."""
    if exc.offset is not None:
        return exc
    return InvalidDicomError(exc.args[0], offset, tag)


class Element:
    """One data element: its header fields, a zero-copy view of its value, the value on demand."""

    __slots__ = ("_ds", "tag", "_written_vr", "length", "offset", "_end", "_flags", "_vr")

    def __init__(self, ds: "Dataset", row: tuple):
        self._ds = ds
        self.tag, self._written_vr, self.length, self.offset, self._end, self._flags = row
        self._vr: Optional[str] = None

    @property
    def vr(self) -> str:
        vr = self._vr
        if vr is None:
            vr = self._written_vr
            if vr is None or vr == "UN" or vr in vr_rules.AMBIGUOUS:
                vr = vr_rules.element_vr(self._ds, self.tag, self._written_vr, self.length,
                                         bool(self._flags & _scanner.FLAG_ITEMS))
                if vr in vr_rules.AMBIGUOUS:
                    vr = vr_rules.resolve_ambiguous(self._ds, self.tag, vr,
                                                    self.is_undefined_length)
            self._vr = vr
        return vr

    @property
    def is_undefined_length(self) -> bool:
        return self.length == UNDEFINED_LENGTH

    @property
    def raw(self) -> memoryview:
        """The value bytes as a read-only view of the source: no copy is made."""
        return self._ds._source_view(self._end)[self.offset:self._end]

    @property
    def value(self) -> Any:
        converted = self._ds._values
        value = converted.get(self.offset, _NOT_CONVERTED)
        if value is _NOT_CONVERTED:
            vr = self.vr
            if vr == "SQ":
                value = self._ds._sequence(self)
            else:
                try:
                    value = convert_value(vr, self.raw, self._ds.is_little_endian,
                                          self._ds.encodings)
                except InvalidDicomError as exc:
                    raise _located(exc, self.offset, self.tag) from None
            converted[self.offset] = value
        return value

    @property
    def keyword(self) -> str:
        return dictionary.keyword_for_tag(self.tag)

    @property
    def private_creator(self) -> Optional[str]:
        """For a private element, the creator that reserved its block (its keyword is "")."""
        return self._ds.private_creator(self.tag) if vr_rules.is_private(self.tag) else None

    @property
    def name(self) -> str:
        entry = dictionary.dictionary_entry(self.tag)
        if entry is not None:
            return entry.name
        if vr_rules.is_private(self.tag):
            creator = self.private_creator
            if creator:
                return dictionary.private_name(creator, self.tag) or "Private tag data"
            return "Private Creator" if 0x10 <= self.tag & 0xFFFF <= 0xFF else "Private tag data"
        return ""

    @property
    def VM(self) -> int:
        if self.vr == "SQ":
            return 1
        return value_multiplicity(self.value)

    @property
    def content_is_implicit(self) -> bool:
        """Sequence items are implicit VR when the data set is, or for UN (PS3.5 6.2.2)."""
        return (self._ds.is_implicit_vr or bool(self._flags & (_scanner.FLAG_IMPLICIT |
                _scanner.FLAG_CONTENT_IMPLICIT)) or self._written_vr == "UN")

    def __repr__(self) -> str:
        return f"Element(({self.tag >> 16:04X},{self.tag & 0xFFFF:04X}) {self.vr} {self.keyword})"


class Sequence(list):
    """The items of an SQ element, each a Dataset."""


class Dataset(DatasetCore):
    """One level of a DICOM data set, read lazily from the scanner's element table.

    Its state lives in the C base class, which also answers ``ds.Keyword`` for the common
    cases; the rest of the behaviour is here.
    """

    __slots__ = ()
    sequence_type = Sequence

    # -- access -------------------------------------------------------------------------
    def _source_view(self, end: Optional[int] = None) -> memoryview:
        """The source's bytes: at least those before `end`, else all the elements'."""
        return self._source.view_to(end)

    def _element_at(self, index: int) -> Element:
        return Element(self, self._table.row(index))

    def __getitem__(self, key: Key) -> Element:
        index = self._table.find(tag_of(key))
        if index < 0:
            raise KeyError(key)
        return self._element_at(index)

    def get(self, key: Key, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def get_value(self, key: Key, default: Any = None) -> Any:
        """The value of an element of this level, or ``default`` when absent."""
        try:
            row = self._table.lookup(tag_of(key))
        except KeyError:
            return default
        return default if row is None else self._row_value(row)

    def inherited_value(self, key: Key) -> Any:
        """The value from this data set or the nearest parent that has it."""
        ds: Optional[Dataset] = self
        while ds is not None:
            value = ds.get_value(key)
            if value is not None:
                return value
            ds = ds._parent
        return None

    def __contains__(self, key: object) -> bool:
        try:
            return self._table.find(tag_of(key)) >= 0  # type: ignore[arg-type]
        except KeyError:
            return False

    def __len__(self) -> int:
        return len(self._table)

    def __iter__(self) -> Iterator[Element]:
        for index in range(len(self._table)):
            yield self._element_at(index)

    def keys(self) -> List[int]:
        return self._table.tags()

    def _keyword_value(self, name: str, tag: int) -> Any:
        """``ds.Keyword`` for what the C lookup leaves to Python (called by DatasetCore)."""
        row = self._table.lookup(tag)
        if row is None:
            raise AttributeError(f"Dataset has no element {name!r}")
        return self._row_value(row)

    def _row_value(self, row: tuple) -> Any:
        vr = row[1]
        if vr not in _DIRECT_VRS:
            return Element(self, row).value
        # The common case, kept free of Element objects: an explicit VR that needs no
        # resolution, converted straight from the source.
        offset = row[3]
        value = self._values.get(offset, _NOT_CONVERTED)
        if value is _NOT_CONVERTED:
            try:
                value = convert_value(vr, self._source_view(row[4])[offset:row[4]],
                                      self.is_little_endian, self._encodings or self.encodings)
            except InvalidDicomError as exc:
                raise _located(exc, offset, row[0]) from None
            self._values[offset] = value
        return value

    def __repr__(self) -> str:
        return f"<fastdcm.Dataset with {len(self)} elements>"

    # -- context ------------------------------------------------------------------------
    @property
    def encodings(self) -> List[str]:
        """Python codecs for text, from this level's Specific Character Set or the parent's."""
        encodings = self._encodings
        if encodings is None:
            index = self._table.find(SPECIFIC_CHARACTER_SET)
            if index >= 0:
                # Read as CS whatever VR the file claims, so that python_encodings always
                # gets text: its own value needs no charset, and a wrong VR (US, OB, SQ...)
                # must not turn into a number or an error here.
                charset = self._element_at(index)
                encodings = python_encodings(convert_value(
                    "CS", charset.raw, self.is_little_endian, _DEFAULT_ENCODINGS))
            elif self._parent is not None:
                encodings = self._parent.encodings
            else:
                encodings = python_encodings(None)
            self._encodings = encodings
        return encodings

    def private_creator(self, tag: int) -> Optional[str]:
        """The creator string reserving this private element's block, if present."""
        block = (tag & 0xFFFF) >> 8
        if block < 0x10:
            return None
        value = self.get_value((tag & 0xFFFF0000) | block)
        if isinstance(value, list):
            value = value[0] if value else None
        return value.strip() if isinstance(value, str) else None

    @property
    def file_meta(self) -> "Dataset":
        if self._meta is None:
            self._meta = Dataset(self._source, _scanner.ElementTable(), True, False)
        return self._meta

    @property
    def transfer_syntax_uid(self) -> str:
        return self._transfer_syntax

    # -- sequences ----------------------------------------------------------------------
    def _sequence(self, element: Element) -> Sequence:
        self._source_view()  # raises when closed
        return self.sequence_at(element.offset, element._end, element.tag,
                                element.content_is_implicit)

    # -- lifetime -----------------------------------------------------------------------
    def close(self) -> None:
        """Release the file; views and arrays already handed out stay valid."""
        self._source.close()
        if self._meta is not None:
            self._meta._source.close()  # a deflated data set has a source of its own

    def __enter__(self) -> "Dataset":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- DICOM JSON ---------------------------------------------------------------------
    def to_json_dict(self, bulk_data_threshold: int = 1024,
                     bulk_data_uri: Optional[Callable[[Element], Optional[str]]] = None
                     ) -> Dict[str, Any]:
        """This data set in the DICOM JSON Model (PS3.18 Annex F): see fastdcm.json_model."""
        from fastdcm.json_model import to_json_dict  # loaded only by those who ask for JSON

        return to_json_dict(self, bulk_data_threshold=bulk_data_threshold,
                            bulk_data_uri=bulk_data_uri)

    # -- pixel data (fastdcm.pixels, loaded with numpy on first use) ----------------------
    @property
    def pixel_array(self) -> "numpy.ndarray":
        """Every frame, shaped and typed as pydicom's ``pixel_array``; native little-endian
        data is a read-only view of the file (``.copy()`` it to write)."""
        from fastdcm.pixels import api

        return api.pixel_array(self)

    def frame(self, index: int) -> "numpy.ndarray":
        """Frame `index` alone (rows, columns[, samples]): a read-only view of the file for
        native little-endian data, else decoded without reading the other frames."""
        from fastdcm.pixels import api

        return api.frame(self, index)

    @property
    def num_frames(self) -> int:
        """How many frames ``frame`` accepts (Number of Frames, 1 when absent)."""
        from fastdcm.pixels import api

        return api.num_frames(self)

    def copy_pixels(self, out: Optional["numpy.ndarray"] = None) -> "numpy.ndarray":
        """``pixel_array`` as a private writable array, or written into `out`: for native
        data in a file, read from the file straight into the array (on several threads
        when large), about twice as fast as ``numpy.array(ds.pixel_array)``."""
        from fastdcm.pixels import api

        return api.copy_pixels(self, out)

    def rescaled_array(self, frame: Optional[int] = None, dtype: Any = "float32",
                       out: Optional["numpy.ndarray"] = None) -> "numpy.ndarray":
        """Frame `frame` (every frame when None) in modality units (Hounsfield units for
        CT), in `dtype`: equal to ``apply_modality_lut(ds.pixel_array, ds).astype(dtype)``
        but computed in `dtype` (``arr.astype(dtype) * slope + intercept``) in one pass
        over the stored bytes, into a new writable array or `out` (the fast way to model
        input: about 3x less work than pixel_array followed by numpy)."""
        from fastdcm.pixels import api

        return api.rescaled_array(self, frame, dtype, out)

    def encoded_frame(self, index: int) -> memoryview:
        """The stored bytes of frame `index`, for callers with their own decoder."""
        from fastdcm.pixels import api

        return api.encoded_frame(self, index)
