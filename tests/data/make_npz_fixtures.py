#!/usr/bin/env python3
"""Writes the NumPy fixture files that tests/test_npz.cc and tests/test_dtypes_io.cc read
(run from anywhere: python3 tests/data/make_npz_fixtures.py; needs Debian's python3-numpy).
The tests hard-code the expected values below, so change both together. The files are
committed; CI never runs this script."""
import io
import os

import numpy as np

OUT = os.path.dirname(os.path.abspath(__file__))


def path(name):
    return os.path.join(OUT, name)


def arrays():
    """One array per supported dtype, plus a scalar, an empty array and a scoped name."""
    return {
        "f4": (np.arange(6, dtype=np.float32) * 0.5 - 1.0).reshape(2, 3),
        "f8": np.array([1.5, -2.25, 1e300], dtype=np.float64),
        "i4": np.array([[-1, 2], [2147483647, -2147483648]], dtype=np.int32),
        "i8": np.array([-(2 ** 40), 2 ** 62], dtype=np.int64),
        "u1": np.array([0, 1, 128, 255], dtype=np.uint8),
        "b1": np.array([[True, False], [False, True]]),
        "scalar": np.float64(3.25),
        "empty": np.zeros((0, 3), dtype=np.float32),
        "dense/kernel": np.array([[1, 2, 3]], dtype=np.float32).reshape(1, 3, 1),
    }


class NonSeekable(io.RawIOBase):
    """A write-only stream that cannot seek, so zipfile writes data descriptors
    (flag bit 3: CRC and sizes after the data, zeros in the local header)."""

    def __init__(self, f):
        self.f = f

    def writable(self):
        return True

    def write(self, b):
        return self.f.write(b)

    def seekable(self):
        return False

    def seek(self, *args):
        raise OSError("not seekable")

    def tell(self):
        raise OSError("not seekable")


def main():
    a = arrays()
    for key in ["f4", "f8", "i4", "i8", "u1", "b1", "scalar", "empty"]:
        np.save(path(f"np_{key}.npy"), a[key])
    # Other header versions of the same float32 array.
    for version in [(2, 0), (3, 0)]:
        with open(path(f"np_f4_v{version[0]}.npy"), "wb") as f:
            np.lib.format.write_array(f, a["f4"], version=version)
    # Layouts Sluice refuses with a clear error.
    np.save(path("np_fortran.npy"), np.asfortranarray(a["f4"]))
    np.save(path("np_big_endian.npy"), a["f4"].astype(">f4"))
    np.save(path("np_float16.npy"), np.array([1.0, 2.0], dtype=np.float16))
    np.savez(path("np_savez.npz"), **a)
    np.savez_compressed(path("np_savez_compressed.npz"), **a)
    with open(path("np_streamed.npz"), "wb") as f:
        np.savez_compressed(NonSeekable(f), f4=a["f4"], b1=a["b1"])


def extra_dtype_arrays():
    """The integer types and strings added later (int8, int16, uint16, uint32, uint64;
    NumPy bytes 'S' and str 'U')."""
    return {
        "i1": np.array([-128, -1, 0, 127], dtype=np.int8),
        "i2": np.array([[-32768, 1], [2, 32767]], dtype=np.int16),
        "u2": np.array([0, 1, 65535], dtype=np.uint16),
        "u4": np.array([0, 4294967295], dtype=np.uint32),
        "u8": np.array([0, 2 ** 64 - 1, 2 ** 63], dtype=np.uint64),
        # Fixed-width bytes (dtype S12): a leading NUL is data, trailing NULs are padding.
        "S": np.array([[b"cat", b""], [b"\x00\xffz", b"a longer one"]]),
        # Unicode (dtype <U5), read into UTF-8 strings.
        "U": np.array(["h\u00e9llo", "", "\u65e5\u672c", "\U0001F600x"]),
    }


def main_extra_dtypes():
    a = extra_dtype_arrays()
    for key, value in a.items():
        np.save(path(f"np_{key}.npy"), value)
    # Object arrays need pickle, which Sluice refuses with a clear error.
    np.save(path("np_O.npy"), np.array(["a", 1], dtype=object), allow_pickle=True)
    np.savez_compressed(path("np_extra_dtypes.npz"), **a)


if __name__ == "__main__":
    main()
    main_extra_dtypes()
