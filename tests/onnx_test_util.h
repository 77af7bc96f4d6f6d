// Building small ONNX models in tests with the ONNX protobuf classes (libonnx-dev).
//
//   OnnxModel m(13);
//   m.input("x", onnx::TensorProto::FLOAT, {-1, 3, 8, 8});     // -1: a symbolic dim
//   m.init("w", Tensor::from_vector(w, {4, 3, 3, 3}));
//   m.node("Conv", {"x", "w"}, {"y"}).ints("pads", {1, 1, 1, 1});
//   m.output("y");
//   io::import_onnx_bytes(g, m.bytes());
#pragma once

#include <onnx/onnx_pb.h>

#include <sluice/sluice.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace sluice::testing {

inline int onnx_type_of(DType d) {
  switch (d) {
    case DType::f32: return ::onnx::TensorProto::FLOAT;
    case DType::f64: return ::onnx::TensorProto::DOUBLE;
    case DType::i32: return ::onnx::TensorProto::INT32;
    case DType::i64: return ::onnx::TensorProto::INT64;
    case DType::u8: return ::onnx::TensorProto::UINT8;
    case DType::boolean: return ::onnx::TensorProto::BOOL;
    default: return 0;
  }
}

// A TensorProto holding `t` as raw little-endian bytes.
inline ::onnx::TensorProto to_proto(const Tensor& t, const std::string& name = "") {
  ::onnx::TensorProto p;
  p.set_name(name);
  p.set_data_type(onnx_type_of(t.dtype()));
  for (int64_t d : t.shape()) p.add_dims(d);
  p.set_raw_data(std::string(static_cast<const char*>(t.raw_data()), t.num_bytes()));
  return p;
}

class OnnxNode {
 public:
  explicit OnnxNode(::onnx::NodeProto* n) : n_(n) {}
  OnnxNode& i(const std::string& name, int64_t v) {
    auto* a = add(name, ::onnx::AttributeProto::INT);
    a->set_i(v);
    return *this;
  }
  OnnxNode& f(const std::string& name, float v) {
    auto* a = add(name, ::onnx::AttributeProto::FLOAT);
    a->set_f(v);
    return *this;
  }
  OnnxNode& s(const std::string& name, const std::string& v) {
    auto* a = add(name, ::onnx::AttributeProto::STRING);
    a->set_s(v);
    return *this;
  }
  OnnxNode& ints(const std::string& name, const std::vector<int64_t>& v) {
    auto* a = add(name, ::onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
    return *this;
  }
  OnnxNode& tensor(const std::string& name, const Tensor& t) {
    auto* a = add(name, ::onnx::AttributeProto::TENSOR);
    *a->mutable_t() = to_proto(t);
    return *this;
  }
  ::onnx::NodeProto* proto() { return n_; }

 private:
  ::onnx::AttributeProto* add(const std::string& name, ::onnx::AttributeProto::AttributeType type) {
    auto* a = n_->add_attribute();
    a->set_name(name);
    a->set_type(type);
    return a;
  }
  ::onnx::NodeProto* n_;
};

class OnnxModel {
 public:
  explicit OnnxModel(int opset = 13) {
    m_.set_ir_version(7);
    m_.set_producer_name("sluice-test");
    auto* o = m_.add_opset_import();
    o->set_domain("");
    o->set_version(opset);
    m_.mutable_graph()->set_name("test");
  }
  ::onnx::ModelProto& proto() { return m_; }
  ::onnx::GraphProto* graph() { return m_.mutable_graph(); }

  void input(const std::string& name, int elem_type, const std::vector<int64_t>& dims) {
    value_info(graph()->add_input(), name, elem_type, dims);
  }
  void output(const std::string& name, int elem_type = ::onnx::TensorProto::FLOAT,
              const std::vector<int64_t>& dims = {}) {
    auto* v = graph()->add_output();
    v->set_name(name);
    v->mutable_type()->mutable_tensor_type()->set_elem_type(elem_type);
    for (int64_t d : dims) v->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(d);
  }
  void init(const std::string& name, const Tensor& t) { *graph()->add_initializer() = to_proto(t, name); }
  OnnxNode node(const std::string& op, const std::vector<std::string>& ins, const std::vector<std::string>& outs,
                const std::string& name = "", const std::string& domain = "") {
    auto* n = graph()->add_node();
    n->set_op_type(op);
    n->set_name(name.empty() ? op + "_" + std::to_string(graph()->node_size()) : name);
    if (!domain.empty()) n->set_domain(domain);
    for (const auto& i : ins) n->add_input(i);
    for (const auto& o : outs) n->add_output(o);
    return OnnxNode(n);
  }
  std::string bytes() const { return m_.SerializeAsString(); }
  void save(const std::string& path) const {
    std::ofstream f(path, std::ios::binary);
    f << bytes();
  }

 private:
  static void value_info(::onnx::ValueInfoProto* v, const std::string& name, int elem_type,
                         const std::vector<int64_t>& dims) {
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elem_type);
    auto* shape = tt->mutable_shape();
    for (int64_t d : dims) {
      auto* dim = shape->add_dim();
      if (d >= 0) dim->set_dim_value(d);
      else dim->set_dim_param("N");
    }
  }
  ::onnx::ModelProto m_;
};

// Uniform random values in [lo, hi) with a fixed seed.
template <class T>
Tensor random_tensor(const Shape& shape, uint32_t seed, double lo = -1.0, double hi = 1.0) {
  Tensor t(dtype_v<T>, shape);
  uint64_t s = seed * 2654435761u + 1;
  T* p = t.data<T>();
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    p[i] = static_cast<T>(lo + (hi - lo) * static_cast<double>(s >> 11) / 9007199254740992.0);
  }
  return t;
}

}  // namespace sluice::testing
