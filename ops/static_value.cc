#include "static_value.h"

#include "array_util.h"
#include "strided_spec.h"

namespace sluice::kernels {

namespace {

using Ints = std::vector<int64_t>;
using Elems = std::vector<StaticElem>;

StaticElem known(int64_t v) {
  StaticElem e;
  e.known = true;
  e.value = v;
  return e;
}

bool is_int(DType d) { return d == DType::i32 || d == DType::i64; }

// Graph walks are bounded: shape tensors are short chains, and a deep chain is not worth it.
constexpr int kMaxDepth = 8;

std::optional<Elems> eval(const Output& t, int depth);

// Only the length is known (from the static shape), or nothing.
std::optional<Elems> unknown_elems(const Output& t) {
  const int64_t len = static_length(t);
  if (len < 0) return std::nullopt;
  return Elems(static_cast<size_t>(len));
}

std::optional<Ints> all_values(const Output& t, int depth) {
  auto e = eval(t, depth);
  if (!e) return std::nullopt;
  Ints v;
  for (const StaticElem& x : *e) {
    if (!x.known) return std::nullopt;
    v.push_back(x.value);
  }
  return v;
}

std::optional<Elems> eval(const Output& t, int depth) {
  if (!t.valid() || !is_int(t.dtype())) return std::nullopt;
  const Shape& ts = t.shape();
  if (!ts.known_rank() || ts.rank() > 1) return std::nullopt;
  if (depth > kMaxDepth) return unknown_elems(t);
  const Node* n = t.node();
  const std::string& op = n->op_type();
  if (op == "Const") {
    Elems r;
    for (int64_t v : int_values(n->attr<Tensor>("value"), "constant")) r.push_back(known(v));
    return r;
  }
  if (op == "Identity" || op == "Cast") return eval(n->inputs[0], depth + 1);
  if (op == "Shape") {
    const Shape& s = n->inputs[0].shape();
    if (!s.known_rank()) return unknown_elems(t);
    Elems r(s.rank());
    for (int i = 0; i < s.rank(); ++i) {
      if (s.dim(i) >= 0) r[i] = known(s.dim(i));
      r[i].of = n->inputs[0];
      r[i].dim = i;
    }
    return r;
  }
  if ((op == "Pack" || op == "Concat") && n->attr_int("axis") == 0) {
    Elems r;
    for (const Output& in : n->inputs) {
      auto e = eval(in, depth + 1);
      if (!e) {
        // A scalar whose value is unknown is still one element of a Pack.
        const int64_t len = static_length(in);
        if (op == "Concat" && len < 0) return std::nullopt;
        r.resize(r.size() + static_cast<size_t>(op == "Pack" ? 1 : len));
        continue;
      }
      r.insert(r.end(), e->begin(), e->end());
    }
    return r;
  }
  if (op == "Gather" && n->attr_int("axis") == 0) {
    auto src = eval(n->inputs[0], depth + 1);
    auto idx = all_values(n->inputs[1], depth + 1);
    if (!src || !idx) return unknown_elems(t);
    Elems r;
    const int64_t len = static_cast<int64_t>(src->size());
    for (int64_t i : *idx) {
      if (i < 0 || i >= len) return unknown_elems(t);  // the kernel reports it
      r.push_back((*src)[i]);
    }
    return r;
  }
  if (op == "StridedSlice") {
    auto src = eval(n->inputs[0], depth + 1);
    auto b = all_values(n->inputs[1], depth + 1);
    auto e = all_values(n->inputs[2], depth + 1);
    auto s = all_values(n->inputs[3], depth + 1);
    if (!src || !b || !e || !s || n->inputs[0].shape().rank() != 1) return unknown_elems(t);
    StridedSliceMasks m{n->attr_int("begin_mask"), n->attr_int("end_mask"),
                        n->attr_int("ellipsis_mask"), n->attr_int("new_axis_mask"),
                        n->attr_int("shrink_axis_mask")};
    SliceSpec spec;
    try {
      spec = resolve_strided_slice({static_cast<int64_t>(src->size())}, &*b, &*e, &*s,
                                   static_cast<int64_t>(b->size()), m);
    } catch (const Error&) {
      return unknown_elems(t);  // the node's own shape function reports bad arguments
    }
    if (spec.final_shape.size() > 1) return unknown_elems(t);
    Elems r;
    for (int64_t o = 0; o < spec.size[0]; ++o)
      r.push_back((*src)[spec.begin[0] + o * spec.stride[0]]);
    return r;
  }
  return unknown_elems(t);
}

}  // namespace

std::vector<int64_t> int_values(const Tensor& t, const char* what) {
  SLUICE_REQUIRE(t.dtype() == DType::i32 || t.dtype() == DType::i64, InvalidArgument, what,
                 " must be int32 or int64, got ", dtype_name(t.dtype()));
  SLUICE_REQUIRE(t.rank() <= 1, InvalidArgument, what, " must be a scalar or a vector, got shape ",
                 t.shape().to_string());
  Ints v(static_cast<size_t>(t.num_elements()));
  for (int64_t i = 0; i < t.num_elements(); ++i) v[i] = index_at(t, i);
  return v;
}

int64_t static_length(const Output& t) {
  const Shape& s = t.shape();
  if (!s.known_rank() || s.rank() > 1) return -1;
  return s.rank() == 0 ? 1 : s.dim(0);
}

std::optional<std::vector<StaticElem>> static_int_vector(const Output& t) { return eval(t, 0); }

std::optional<std::vector<int64_t>> static_int_values(const Output& t) { return all_values(t, 0); }

void require_int_vector_input(const ShapeContext& ctx, int i, const char* what, int max_rank) {
  const DType d = ctx.input_dtype(i);
  SLUICE_REQUIRE(d == DType::i32 || d == DType::i64, InvalidArgument, what, " (input ", i,
                 ") must be int32 or int64, got ", dtype_name(d));
  const Shape& s = ctx.input_shape(i);
  SLUICE_REQUIRE(!s.known_rank() || s.rank() <= max_rank, InvalidArgument, what, " (input ", i,
                 ") must have rank <= ", max_rank, ", got shape ", s.to_string());
}

}  // namespace sluice::kernels
