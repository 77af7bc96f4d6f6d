// A small RAII layer over Debian's libhdf5 C API: just what Keras' .h5 files need (groups,
// string and string-array attributes, float datasets). Internal to io/keras (not installed
// as public API). Every failure is a typed sluice::Error naming the file and the object;
// HDF5's own error stack printing is switched off, and all HDF5 calls of this process go
// through one mutex (Debian's serial libhdf5 is not built thread-safe).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "../../runtime/tensor.h"

namespace sluice::io::h5 {

// The lock every HDF5 call is made under (take it before any object below is used).
std::recursive_mutex& hdf5_mutex();

using hid = int64_t;  // hid_t

// An owned HDF5 identifier (file, group, dataset, attribute, type or space), closed on
// destruction with the matching H5?close.
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid id) : id_(id) {}
  ~Handle();
  Handle(Handle&& o) noexcept : id_(o.id_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid id_ = -1;
};

// How a string attribute is written (Keras' own choices: see keras_export.cc).
enum class StrKind { vlen_ascii, vlen_utf8, fixed };

// An open file (read-only or created) and a path inside it for messages.
class File {
 public:
  // NotFound when the file does not exist, DataLoss when it is not HDF5.
  static File open(const std::string& path);
  // Creates (truncates) `path`.
  static File create(const std::string& path);
  const std::string& path() const { return path_; }
  hid id() const { return file_.get(); }
  void flush();
  void close();

 private:
  std::string path_;
  Handle file_;
};

// Helpers over a location (file or group id). `where` names the object for messages
// ("model_weights/dense"), `file` the file.
bool has_attr(hid loc, const std::string& name);
bool has_link(hid loc, const std::string& name);  // a direct child (no '/')
Handle open_group(const File& f, hid loc, const std::string& where, const std::string& name);
Handle create_group(const File& f, hid loc, const std::string& where, const std::string& name);

// A string attribute (scalar, fixed or variable length). Also accepts Keras' split form of
// large attributes ("<name>0", "<name>1", ... holding the parts of a string array).
// Bounded by max_bytes (DataLoss beyond). NotFound when absent.
std::string read_string_attr(const File& f, hid loc, const std::string& where, const std::string& name,
                             size_t max_bytes);
// A 1-D string-array attribute; an empty numeric array (what h5py writes for an empty list)
// is an empty list.
std::vector<std::string> read_string_array_attr(const File& f, hid loc, const std::string& where,
                                                const std::string& name, size_t max_bytes);
void write_string_attr(const File& f, hid loc, const std::string& where, const std::string& name,
                       const std::string& value, StrKind kind);
// A 1-D array of fixed-length, NUL-padded strings (numpy |S<n>); an empty list is written as
// an empty float64 array, as h5py writes numpy's empty default array.
void write_string_array_attr(const File& f, hid loc, const std::string& where, const std::string& name,
                             const std::vector<std::string>& values);

// A dataset's dims (DataLoss for a non-simple space or more than 8 dims).
std::vector<int64_t> dataset_dims(const File& f, hid loc, const std::string& where, const std::string& name);
// Reads a numeric dataset whose dims must equal `expected` (InvalidArgument naming both
// shapes otherwise) into a tensor of `dtype` (f32 or i64). Checks the stored size against
// the claimed one before allocating (DataLoss for a dataset whose claimed size its storage
// cannot hold, other than a plain fill value).
Tensor read_dataset(const File& f, hid loc, const std::string& where, const std::string& name,
                    const std::vector<int64_t>& expected, DType dtype);
// Writes `t` (f32, f64, i32 or i64) as a contiguous dataset `name` (intermediate groups
// created: "dense/kernel:0" makes group "dense").
void write_dataset(const File& f, hid loc, const std::string& where, const std::string& name, const Tensor& t);

}  // namespace sluice::io::h5
