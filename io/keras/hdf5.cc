#include "hdf5.h"

#include <hdf5.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "../../runtime/error.h"

namespace sluice::io::h5 {

std::recursive_mutex& hdf5_mutex() {
  static std::recursive_mutex m;
  return m;
}

namespace {

// HDF5 prints its error stack to stderr by default; Sluice reports typed errors instead, so
// printing is switched off (the innermost message goes into our message, see detail()).
void silence() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

herr_t walk_cb(unsigned n, const H5E_error2_t* err, void* data) {
  auto* out = static_cast<std::string*>(data);
  if (err && err->desc && out->empty()) *out = err->desc;
  (void)n;
  return 0;
}

// HDF5's own description of the last failure (the innermost one), then the stack cleared.
std::string detail() {
  std::string d;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, walk_cb, &d);
  H5Eclear2(H5E_DEFAULT);
  return d.empty() ? std::string() : " (HDF5: " + d + ")";
}

std::string obj(const std::string& where, const std::string& name) {
  if (where.empty()) return name.empty() ? std::string("/") : name;
  return name.empty() ? where : where + "/" + name;
}

[[noreturn]] void fail_data(const File& f, const std::string& what) {
  throw DataLoss("Keras HDF5 file '" + f.path() + "': " + what + detail());
}

Handle lcpl_intermediate() {
  Handle p(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(p.get(), 1);
  return p;
}

}  // namespace

Handle::~Handle() {
  if (id_ < 0) return;
  switch (H5Iget_type(id_)) {
    case H5I_FILE: H5Fclose(id_); break;
    case H5I_GROUP: H5Gclose(id_); break;
    case H5I_DATASET: H5Dclose(id_); break;
    case H5I_ATTR: H5Aclose(id_); break;
    case H5I_DATATYPE: H5Tclose(id_); break;
    case H5I_DATASPACE: H5Sclose(id_); break;
    case H5I_GENPROP_LST: H5Pclose(id_); break;
    default: H5Oclose(id_); break;
  }
}

Handle& Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    Handle tmp(id_);
    id_ = o.id_;
    o.id_ = -1;
  }
  return *this;
}

File File::open(const std::string& path) {
  std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  silence();
  struct stat st {};
  SLUICE_REQUIRE(::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode), NotFound, "Keras HDF5 file '", path,
                 "' does not exist (or is not a regular file)");
  File f;
  f.path_ = path;
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw DataLoss("Keras HDF5 file '" + path + "' is not an HDF5 file (no HDF5 signature)");
  }
  f.file_ = Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!f.file_.valid()) fail_data(f, "cannot be opened");
  return f;
}

File File::create(const std::string& path) {
  std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  silence();
  File f;
  f.path_ = path;
  f.file_ = Handle(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  if (!f.file_.valid()) {
    const std::string d = detail();
    throw InvalidArgument("cannot create the Keras HDF5 file '" + path + "'" + d);
  }
  return f;
}

void File::flush() {
  std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  if (H5Fflush(file_.get(), H5F_SCOPE_GLOBAL) < 0) {
    const std::string d = detail();
    throw DataLoss("cannot write the Keras HDF5 file '" + path_ + "'" + d);
  }
}

void File::close() {
  std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  file_ = Handle();
}

bool has_attr(hid loc, const std::string& name) {
  std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  const htri_t r = H5Aexists(loc, name.c_str());
  if (r < 0) H5Eclear2(H5E_DEFAULT);
  return r > 0;
}

bool has_link(hid loc, const std::string& name) {
  std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") return false;
  const htri_t r = H5Lexists(loc, name.c_str(), H5P_DEFAULT);
  if (r < 0) H5Eclear2(H5E_DEFAULT);
  return r > 0;
}

// Opens `name` (a path of links, each checked to exist) as an object of the wanted kind.
static Handle open_object(const File& f, hid loc, const std::string& where, const std::string& name,
                          H5I_type_t want, const char* kind) {
  SLUICE_REQUIRE(!name.empty() && name.size() < 4096, DataLoss, "Keras HDF5 file '", f.path(), "': bad ", kind,
                 " name '", name.substr(0, 200), "' in '", where, "'");
  // Every link on the way must exist (H5Oopen on a missing path only fails, but a clear
  // NotFound names the missing piece).
  hid cur = loc;
  Handle step;
  size_t b = 0;
  while (true) {
    const size_t e = name.find('/', b);
    const std::string part = name.substr(b, e == std::string::npos ? std::string::npos : e - b);
    if (!part.empty()) {
      if (!has_link(cur, part))
        throw NotFound("Keras HDF5 file '" + f.path() + "': no " + kind + " '" + obj(where, name) + "'");
      // Only hard links: an external link would make libhdf5 open another file of the
      // reader's choosing, a soft link may dangle or loop.
      H5L_info_t info{};
      if (H5Lget_info(cur, part.c_str(), &info, H5P_DEFAULT) < 0 || info.type != H5L_TYPE_HARD)
        throw DataLoss("Keras HDF5 file '" + f.path() + "': '" + obj(where, name) +
                       "' is reached through a soft or external link (not followed)" + detail());
      Handle next(H5Oopen(cur, part.c_str(), H5P_DEFAULT));
      if (!next.valid()) fail_data(f, "cannot open '" + obj(where, name) + "'");
      if (e != std::string::npos && H5Iget_type(next.get()) != H5I_GROUP)
        throw DataLoss("Keras HDF5 file '" + f.path() + "': '" + obj(where, name.substr(0, e)) +
                       "' is not a group");
      step = std::move(next);
      cur = step.get();
    }
    if (e == std::string::npos) break;
    b = e + 1;
  }
  SLUICE_REQUIRE(step.valid(), DataLoss, "Keras HDF5 file '", f.path(), "': bad ", kind, " name '", name, "'");
  SLUICE_REQUIRE(H5Iget_type(step.get()) == want, DataLoss, "Keras HDF5 file '", f.path(), "': '", obj(where, name),
                 "' is not a ", kind);
  return step;
}

Handle open_group(const File& f, hid loc, const std::string& where, const std::string& name) {
  std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  return open_object(f, loc, where, name, H5I_GROUP, "group");
}

Handle create_group(const File& f, hid loc, const std::string& where, const std::string& name) {
  std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  Handle lcpl = lcpl_intermediate();
  Handle g(H5Gcreate2(loc, name.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!g.valid()) {
    const std::string d = detail();
    throw InvalidArgument("cannot create group '" + obj(where, name) + "' in '" + f.path() + "'" + d);
  }
  return g;
}

namespace {

// Reads every element of a string attribute (scalar or 1-D); `numeric_empty_ok` lets an
// empty numeric array through as no strings.
std::vector<std::string> read_strings(const File& f, hid loc, const std::string& where, const std::string& name,
                                      size_t max_bytes, bool numeric_empty_ok) {
  const std::string what = "attribute '" + name + "' of '" + obj(where, "") + "'";
  if (!has_attr(loc, name)) throw NotFound("Keras HDF5 file '" + f.path() + "': no " + what);
  Handle attr(H5Aopen(loc, name.c_str(), H5P_DEFAULT));
  if (!attr.valid()) fail_data(f, "cannot open the " + what);
  Handle type(H5Aget_type(attr.get()));
  Handle space(H5Aget_space(attr.get()));
  if (!type.valid() || !space.valid()) fail_data(f, "cannot read the type of the " + what);
  const H5S_class_t sc = H5Sget_simple_extent_type(space.get());
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (sc == H5S_NULL) return {};
  if (sc != H5S_SCALAR && !(sc == H5S_SIMPLE && rank == 1)) fail_data(f, "the " + what + " is not a scalar or a list");
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (n < 0) fail_data(f, "the " + what + " has a bad size");
  const H5T_class_t tc = H5Tget_class(type.get());
  if (tc != H5T_STRING) {
    if (numeric_empty_ok && n == 0) return {};
    throw DataLoss("Keras HDF5 file '" + f.path() + "': the " + what + " is not a string");
  }
  if (static_cast<uint64_t>(n) > max_bytes) fail_data(f, "the " + what + " is too large");
  const auto count = static_cast<size_t>(n);
  std::vector<std::string> out;
  out.reserve(count);
  const H5T_cset_t cset = H5Tget_cset(type.get());
  if (H5Tis_variable_str(type.get()) > 0) {
    Handle mem(H5Tcopy(H5T_C_S1));
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), cset);
    std::vector<char*> ptrs(std::max<size_t>(count, 1), nullptr);
    if (H5Aread(attr.get(), mem.get(), ptrs.data()) < 0) fail_data(f, "cannot read the " + what);
    size_t total = 0;
    bool too_big = false;
    for (size_t i = 0; i < count; ++i) {
      const size_t len = ptrs[i] ? std::strlen(ptrs[i]) : 0;
      total += len;
      if (total > max_bytes) {
        too_big = true;
        break;
      }
      out.emplace_back(ptrs[i] ? ptrs[i] : "", len);
    }
    H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, ptrs.data());
    if (too_big)
      throw DataLoss("Keras HDF5 file '" + f.path() + "': the " + what + " is larger than " +
                     std::to_string(max_bytes) + " bytes");
    return out;
  }
  const size_t size = H5Tget_size(type.get());
  if (size == 0 || size > max_bytes || count > max_bytes / size)
    throw DataLoss("Keras HDF5 file '" + f.path() + "': the " + what + " is larger than " +
                   std::to_string(max_bytes) + " bytes");
  Handle mem(H5Tcopy(H5T_C_S1));
  H5Tset_size(mem.get(), size);
  H5Tset_strpad(mem.get(), H5T_STR_NULLPAD);
  H5Tset_cset(mem.get(), cset);
  std::vector<char> buf(std::max<size_t>(size * count, 1), '\0');
  if (H5Aread(attr.get(), mem.get(), buf.data()) < 0) fail_data(f, "cannot read the " + what);
  for (size_t i = 0; i < count; ++i) {
    const char* p = buf.data() + i * size;
    out.emplace_back(p, strnlen(p, size));
  }
  return out;
}

}  // namespace

std::string read_string_attr(const File& f, hid loc, const std::string& where, const std::string& name,
                             size_t max_bytes) {
  std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  std::vector<std::string> v = read_strings(f, loc, where, name, max_bytes, false);
  SLUICE_REQUIRE(v.size() == 1, DataLoss, "Keras HDF5 file '", f.path(), "': attribute '", name, "' of '",
                 obj(where, ""), "' holds ", v.size(), " strings, expected one");
  return std::move(v[0]);
}

std::vector<std::string> read_string_array_attr(const File& f, hid loc, const std::string& where,
                                                const std::string& name, size_t max_bytes) {
  std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  if (has_attr(loc, name)) return read_strings(f, loc, where, name, max_bytes, true);
  // Keras splits attributes over HDF5's 64 KiB header limit into name0, name1, ...
  if (!has_attr(loc, name + "0")) return read_strings(f, loc, where, name, max_bytes, true);  // NotFound
  std::vector<std::string> all;
  size_t total = 0;
  for (int i = 0; has_attr(loc, name + std::to_string(i)); ++i) {
    for (std::string& s : read_strings(f, loc, where, name + std::to_string(i), max_bytes, true)) {
      total += s.size() + 1;
      SLUICE_REQUIRE(total <= max_bytes, DataLoss, "Keras HDF5 file '", f.path(), "': attribute '", name, "' of '",
                     obj(where, ""), "' is larger than ", max_bytes, " bytes");
      all.push_back(std::move(s));
    }
  }
  return all;
}

void write_string_attr(const File& f, hid loc, const std::string& where, const std::string& name,
                       const std::string& value, StrKind kind) {
  std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  Handle type(H5Tcopy(H5T_C_S1));
  Handle space(H5Screate(H5S_SCALAR));
  herr_t ok = 0;
  Handle attr;
  if (kind == StrKind::fixed) {
    H5Tset_size(type.get(), std::max<size_t>(value.size(), 1));
    H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
    attr = Handle(H5Acreate2(loc, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT));
    std::string buf = value.empty() ? std::string(1, '\0') : value;
    ok = attr.valid() ? H5Awrite(attr.get(), type.get(), buf.data()) : -1;
  } else {
    H5Tset_size(type.get(), H5T_VARIABLE);
    H5Tset_cset(type.get(), kind == StrKind::vlen_utf8 ? H5T_CSET_UTF8 : H5T_CSET_ASCII);
    attr = Handle(H5Acreate2(loc, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT));
    const char* p = value.c_str();
    ok = attr.valid() ? H5Awrite(attr.get(), type.get(), &p) : -1;
  }
  if (ok < 0) {
    const std::string d = detail();
    throw InvalidArgument("cannot write attribute '" + name + "' of '" + obj(where, "") + "' in '" + f.path() +
                          "'" + d);
  }
}

void write_string_array_attr(const File& f, hid loc, const std::string& where, const std::string& name,
                             const std::vector<std::string>& values) {
  std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  auto fail = [&] {
    const std::string d = detail();
    throw InvalidArgument("cannot write attribute '" + name + "' of '" + obj(where, "") + "' in '" + f.path() +
                          "'" + d);
  };
  if (values.empty()) {
    const hsize_t zero = 0;
    Handle space(H5Screate_simple(1, &zero, nullptr));
    Handle attr(H5Acreate2(loc, name.c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT));
    const double dummy = 0;
    if (!attr.valid() || H5Awrite(attr.get(), H5T_NATIVE_DOUBLE, &dummy) < 0) fail();
    return;
  }
  size_t size = 1;
  for (const std::string& s : values) size = std::max(size, s.size());
  // HDF5 keeps attributes in the object header (64 KiB): larger lists are split into
  // name0, name1, ... as Keras' save_attributes_to_hdf5_group does.
  const size_t kLimit = 64512;
  const size_t per_chunk = std::max<size_t>(1, kLimit / size);
  const bool split = values.size() > per_chunk;
  for (size_t b = 0, chunk = 0; b < values.size(); b += per_chunk, ++chunk) {
    const size_t e = std::min(values.size(), b + per_chunk);
    const hsize_t n = e - b;
    Handle type(H5Tcopy(H5T_C_S1));
    H5Tset_size(type.get(), size);
    H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
    Handle space(H5Screate_simple(1, &n, nullptr));
    const std::string aname = split ? name + std::to_string(chunk) : name;
    Handle attr(H5Acreate2(loc, aname.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT));
    std::vector<char> buf(size * n, '\0');
    for (size_t i = b; i < e; ++i) std::memcpy(buf.data() + (i - b) * size, values[i].data(), values[i].size());
    if (!attr.valid() || H5Awrite(attr.get(), type.get(), buf.data()) < 0) fail();
  }
}

static std::vector<int64_t> dims_of(const File& f, hid ds, const std::string& what) {
  Handle space(H5Dget_space(ds));
  if (!space.valid()) fail_data(f, "cannot read the shape of " + what);
  const H5S_class_t sc = H5Sget_simple_extent_type(space.get());
  if (sc == H5S_SCALAR) return {};
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (sc != H5S_SIMPLE || rank < 0 || rank > 8) fail_data(f, what + " has an unsupported shape (rank > 8 or null)");
  hsize_t d[8] = {};
  H5Sget_simple_extent_dims(space.get(), d, nullptr);
  std::vector<int64_t> out;
  for (int i = 0; i < rank; ++i) {
    if (d[i] > (hsize_t{1} << 40)) fail_data(f, what + " claims an impossible dimension");
    out.push_back(static_cast<int64_t>(d[i]));
  }
  return out;
}

static std::string dims_str(const std::vector<int64_t>& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? "," : "") + std::to_string(d[i]);
  return s + "]";
}

std::vector<int64_t> dataset_dims(const File& f, hid loc, const std::string& where, const std::string& name) {
  std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  Handle ds = open_object(f, loc, where, name, H5I_DATASET, "dataset");
  return dims_of(f, ds.get(), "dataset '" + obj(where, name) + "'");
}

Tensor read_dataset(const File& f, hid loc, const std::string& where, const std::string& name,
                    const std::vector<int64_t>& expected, DType dtype) {
  std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  const std::string what = "dataset '" + obj(where, name) + "'";
  Handle ds = open_object(f, loc, where, name, H5I_DATASET, "dataset");
  const std::vector<int64_t> dims = dims_of(f, ds.get(), what);
  if (dims != expected)
    throw InvalidArgument("Keras HDF5 file '" + f.path() + "': " + what + " has shape " + dims_str(dims) +
                          " but the model config needs " + dims_str(expected));
  Handle type(H5Dget_type(ds.get()));
  const H5T_class_t tc = H5Tget_class(type.get());
  if (tc != H5T_FLOAT && tc != H5T_INTEGER)
    throw DataLoss("Keras HDF5 file '" + f.path() + "': " + what + " is not numeric");
  int64_t n = 1;
  for (int64_t d : dims)
    if (__builtin_mul_overflow(n, d, &n) || n > (int64_t{1} << 40)) fail_data(f, what + " is impossibly large");
  const size_t elem = H5Tget_size(type.get());
  const uint64_t claimed = static_cast<uint64_t>(n) * std::max<size_t>(elem, 1);
  const uint64_t stored = H5Dget_storage_size(ds.get());
  // Compressed data may be much smaller than the claim, but not without bound; unwritten
  // data (a fill value) only for small datasets.
  if (claimed > (uint64_t{1} << 20) && claimed / 1024 > stored)
    throw DataLoss("Keras HDF5 file '" + f.path() + "': " + what + " claims " + std::to_string(claimed) +
                   " bytes but stores " + std::to_string(stored));
  Tensor t(dtype, Shape(dims));
  if (n == 0) return t;
  const hid_t mem = dtype == DType::i64 ? H5T_NATIVE_INT64 : H5T_NATIVE_FLOAT;
  SLUICE_REQUIRE(dtype == DType::f32 || dtype == DType::i64, Internal, "read_dataset: f32 or i64 only");
  if (H5Dread(ds.get(), mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.raw_data()) < 0) fail_data(f, "cannot read " + what);
  return t;
}

void write_dataset(const File& f, hid loc, const std::string& where, const std::string& name, const Tensor& t) {
  std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  hid_t file_type = -1, mem_type = -1;
  switch (t.dtype()) {
    case DType::f32: file_type = H5T_IEEE_F32LE; mem_type = H5T_NATIVE_FLOAT; break;
    case DType::f64: file_type = H5T_IEEE_F64LE; mem_type = H5T_NATIVE_DOUBLE; break;
    case DType::i32: file_type = H5T_STD_I32LE; mem_type = H5T_NATIVE_INT32; break;
    case DType::i64: file_type = H5T_STD_I64LE; mem_type = H5T_NATIVE_INT64; break;
    default:
      throw Unimplemented("Keras HDF5 writer: weight '" + obj(where, name) + "' has dtype " +
                          dtype_name(t.dtype()) + " (f32, f64, i32 or i64 only)");
  }
  std::vector<hsize_t> d;
  for (int i = 0; i < t.rank(); ++i) d.push_back(static_cast<hsize_t>(t.dim(i)));
  Handle space(t.rank() == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(t.rank(), d.data(), nullptr));
  Handle lcpl = lcpl_intermediate();
  Handle ds(H5Dcreate2(loc, name.c_str(), file_type, space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!ds.valid() || (t.num_elements() > 0 && H5Dwrite(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                                       t.raw_data()) < 0)) {
    const std::string dd = detail();
    throw InvalidArgument("cannot write dataset '" + obj(where, name) + "' in '" + f.path() + "'" + dd);
  }
}

}  // namespace sluice::io::h5
