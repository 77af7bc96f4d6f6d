// Writes TensorFlow GraphDefs for tests, with its own protobuf wire encoder (independent of
// the importer's generated code): nodes with inputs and attrs, as TensorFlow serializes them.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace sluice::testing::tfpb {

// Protobuf wire format: varints, tags, length-delimited fields.
inline void varint(std::string& s, uint64_t v) {
  while (v >= 0x80) {
    s += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  s += static_cast<char>(v);
}
inline void tag(std::string& s, int field, int wire) { varint(s, static_cast<uint64_t>(field) << 3 | wire); }
inline void field_varint(std::string& s, int field, uint64_t v) {
  tag(s, field, 0);
  varint(s, v);
}
inline void field_bytes(std::string& s, int field, const std::string& b) {
  tag(s, field, 2);
  varint(s, b.size());
  s += b;
}

// TF DataType numbers.
enum { DT_FLOAT = 1, DT_DOUBLE = 2, DT_INT32 = 3, DT_UINT8 = 4, DT_STRING = 7, DT_INT64 = 9, DT_BOOL = 10, DT_HALF = 19 };

inline std::string shape(const std::vector<int64_t>& dims, bool unknown_rank = false) {
  std::string s;
  for (int64_t d : dims) {
    std::string dim;
    field_varint(dim, 1, static_cast<uint64_t>(d));
    field_bytes(s, 2, dim);
  }
  if (unknown_rank) field_varint(s, 3, 1);
  return s;
}

template <class T>
std::string tensor(int dtype, const std::vector<int64_t>& dims, const std::vector<T>& values) {
  std::string s;
  field_varint(s, 1, static_cast<uint64_t>(dtype));
  field_bytes(s, 2, shape(dims));
  std::string content;
  for (T v : values) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    content.append(b, sizeof(T));
  }
  field_bytes(s, 4, content);
  return s;
}

// AttrValue encodings.
namespace attr {
inline std::string i(int64_t v) { std::string s; field_varint(s, 3, static_cast<uint64_t>(v)); return s; }
inline std::string b(bool v) { std::string s; field_varint(s, 5, v ? 1 : 0); return s; }
inline std::string type(int t) { std::string s; field_varint(s, 6, static_cast<uint64_t>(t)); return s; }
inline std::string str(const std::string& v) { std::string s; field_bytes(s, 2, v); return s; }
inline std::string f(float v) {
  std::string s;
  tag(s, 4, 5);
  char b[4];
  std::memcpy(b, &v, 4);
  s.append(b, 4);
  return s;
}
inline std::string shape(const std::vector<int64_t>& dims, bool unknown_rank = false) {
  std::string s;
  field_bytes(s, 7, tfpb::shape(dims, unknown_rank));
  return s;
}
inline std::string ints(const std::vector<int64_t>& v) {
  std::string packed, list, s;
  for (int64_t x : v) varint(packed, static_cast<uint64_t>(x));
  field_bytes(list, 3, packed);
  field_bytes(s, 1, list);
  return s;
}
inline std::string tensor(const std::string& t) { std::string s; field_bytes(s, 8, t); return s; }
}  // namespace attr

class GraphBuilder {
 public:
  // Adds a node; attrs map attr name -> encoded AttrValue.
  GraphBuilder& node(const std::string& name, const std::string& op, const std::vector<std::string>& inputs = {},
                     const std::map<std::string, std::string>& attrs = {}) {
    std::string n;
    field_bytes(n, 1, name);
    field_bytes(n, 2, op);
    for (const auto& in : inputs) field_bytes(n, 3, in);
    for (const auto& [k, v] : attrs) {
      std::string entry;
      field_bytes(entry, 1, k);
      field_bytes(entry, 2, v);
      field_bytes(n, 5, entry);
    }
    field_bytes(graph_, 1, n);
    return *this;
  }
  GraphBuilder& placeholder(const std::string& name, int dtype, const std::vector<int64_t>& dims) {
    return node(name, "Placeholder", {}, {{"dtype", attr::type(dtype)}, {"shape", attr::shape(dims)}});
  }
  template <class T>
  GraphBuilder& constant(const std::string& name, int dtype, const std::vector<int64_t>& dims, const std::vector<T>& v) {
    return node(name, "Const", {}, {{"dtype", attr::type(dtype)}, {"value", attr::tensor(tensor(dtype, dims, v))}});
  }
  GraphBuilder& f32(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& v) {
    return constant(name, DT_FLOAT, dims, v);
  }
  GraphBuilder& i32(const std::string& name, const std::vector<int64_t>& dims, const std::vector<int32_t>& v) {
    return constant(name, DT_INT32, dims, v);
  }
  const std::string& bytes() const { return graph_; }

 private:
  std::string graph_;
};

}  // namespace sluice::testing::tfpb
