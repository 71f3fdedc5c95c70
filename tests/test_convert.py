"""The one-pass rescale kernel (fastdcm._convert) against numpy's arithmetic, written
through the caches and streamed around them (block by block, from any 4- or 8-byte
aligned start: the head, whole blocks and a short tail are separate paths)."""
import numpy as np
import pytest

from fastdcm import _convert

STORED = (np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32)
# Lengths around the kernel's streaming block (8 KB: 2,048 float32 or 1,024 float64).
LENGTHS = (0, 1, 3, 1023, 1024, 1025, 2047, 2048, 2049, 5003)


def expected(stored: np.ndarray, out_type: type, slope: float, intercept: float
             ) -> np.ndarray:
    return stored.astype(out_type) * out_type(slope) + out_type(intercept)


@pytest.mark.parametrize("stored_type", STORED)
@pytest.mark.parametrize("out_type", (np.float32, np.float64))
@pytest.mark.parametrize("stream", (False, True))
def test_rescale_equals_numpy(stored_type, out_type, stream):
    info = np.iinfo(stored_type)
    rng = np.random.default_rng(7)
    for n in LENGTHS:
        stored = rng.integers(info.min, info.max, n, dtype=stored_type, endpoint=True)
        for skip in range(4):  # outputs starting off any 16-byte boundary
            out = np.full(n + 4, np.nan, out_type)
            target = out[skip:skip + n]
            assert _convert.rescale(target, stored, 0.5, -1024.0, 0, stream)
            np.testing.assert_array_equal(target, expected(stored, out_type, 0.5, -1024))
            assert np.isnan(out[:skip]).all() and np.isnan(out[skip + n:]).all()


@pytest.mark.parametrize("stream", (False, True))
def test_rescale_corrects_bits_above_bits_stored(stream):
    raw = np.arange(-3000, 3000, 7, dtype=np.int16)
    out = np.empty(raw.size, np.float32)
    assert _convert.rescale(out, raw, 1.0, -1024.0, 12, stream)
    corrected = ((raw.astype(np.int32) & 0xFFF) ^ 0x800) - 0x800  # sign-extended from bit 11
    np.testing.assert_array_equal(out, corrected.astype(np.float32) - np.float32(1024))
    unsigned = raw.view(np.uint16)
    assert _convert.rescale(out, unsigned, 1.0, 0.0, 12, stream)
    np.testing.assert_array_equal(out, (unsigned & 0xFFF).astype(np.float32))
