// NumPy .npy and .npz files, so weights move to and from NumPy (numpy.save / numpy.savez /
// numpy.savez_compressed / numpy.load). Own reader and writer over zlib; support matrix in
// docs/formats.md#numpy-npz.
//
//   io::write_npz("w.npz", {{"dense/kernel", k}, {"dense/bias", b}}, /*compress=*/true);
//   for (auto& [name, t] : io::read_npz("w.npz")) ...;   // np.load("w.npz")["dense/kernel"]
//
// .npy: versions 1.0, 2.0 and 3.0; dtypes '<f4' '<f8' '|i1' '<i2' '<i4' '<i8' '|u1' '<u2'
// '<u4' '<u8' '|b1' (every fixed-size dtype), and strings: NumPy bytes '|S<n>' read and
// written (trailing NULs are padding, as in NumPy) and unicode '<U<n>' read as UTF-8; C
// order; any shape up to rank 8, incl. () and empty. Fortran order, big-endian data, object
// arrays (pickle) and other dtypes are Unimplemented (naming what was found).
// .npz: zip archives with stored or deflated entries, ZIP64 extra fields and records.
// Corrupt input (bad headers, sizes beyond the file, CRC mismatch, bad header dict) is
// DataLoss naming the file and entry, never a crash; allocations are bounded by what the
// file can hold. Writers are atomic like checkpoints (io/checkpoint.h, AtomicFile).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "../runtime/tensor.h"

namespace sluice::io {

// Every array of the archive, in archive order, named as numpy.load names them (the entry
// name without its ".npy" suffix; names may contain '/'). NotFound when the file cannot be
// opened; DataLoss for a corrupt archive or array (including a checkpoint given here).
std::vector<std::pair<std::string, Tensor>> read_npz(const std::string& path);

// Writes `tensors` as "<name>.npy" entries (stored, or deflated when `compress`), as
// numpy.savez / numpy.savez_compressed do. Names must be non-empty and unique; any dtype
// (string tensors become '|S<n>' with n the longest element; an element ending in a NUL
// byte is refused, since NumPy would drop it). InvalidArgument before touching the file
// system for bad input; ResourceExhausted when padding strings to n bytes each would exceed
// max_allocation_bytes().
void write_npz(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
               bool compress = false);

// One .npy file (numpy.load / numpy.save).
Tensor read_npy(const std::string& path);
void write_npy(const std::string& path, const Tensor& tensor);

// The .npy encoding of `tensor` (header + data) exactly as numpy.save writes it, and its
// parse from memory (`what` names the source in errors). Building blocks of the above.
std::string encode_npy(const Tensor& tensor);
Tensor decode_npy(const std::string& bytes, const std::string& what);

namespace detail {
// write_npz with ZIP64 extra fields and end records on every entry even when nothing needs
// them, so tests can exercise the ZIP64 paths without writing 4 GiB.
void write_npz_zip64(const std::string& path,
                     const std::vector<std::pair<std::string, Tensor>>& tensors, bool compress);
}  // namespace detail

}  // namespace sluice::io
