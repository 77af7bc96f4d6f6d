// Internal to the ONNX importer (io/onnx/*.cc; not installed): the model reader, the node
// context op entries build with, the layout helpers and the op table.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../../graph/scope.h"
#include "../../ops/conv_ops.h"
#include "onnx_import.h"

namespace sluice::io::onnx_detail {

// ---- reading (onnx_reader.cc) ----

// Parses a ModelProto (DataLoss when the bytes are not one), naming `source`.
::onnx::ModelProto parse_model(const std::string& bytes, const std::string& source);
// The Sluice dtype of an ONNX TensorProto element type; Unimplemented for the types Sluice
// has no dtype for (int8, float16, string, ...), naming `what`.
DType dtype_from_onnx(int elem_type, const std::string& what);
// "FLOAT", "INT8", ... ("type 99" for unknown values).
std::string onnx_type_name(int elem_type);
// The tensor a TensorProto holds: dims checked (non-negative, no overflow, rank bound), data
// (raw_data or the typed field) checked against the element count before anything is
// allocated. DataLoss / Unimplemented naming `what`.
Tensor tensor_from_proto(const ::onnx::TensorProto& proto, const std::string& what);
// The static shape of a value_info's tensor type (-1 for symbolic or missing dims;
// Shape::unknown_rank() without a shape), and its dtype.
Shape shape_from_type(const ::onnx::TypeProto& type, const std::string& what);
DType dtype_from_type(const ::onnx::TypeProto& type, const std::string& what);

// The Sluice node name of an ONNX value name (see "Names" in onnx_import.h).
std::string escape_name(const std::string& onnx_name);

// Typed access to a node's attributes; InvalidArgument naming `where` when an attribute has
// the wrong type.
class Attrs {
 public:
  Attrs(const ::onnx::NodeProto& node, std::string where) : node_(node), where_(std::move(where)) {}
  const ::onnx::AttributeProto* find(const std::string& name) const;
  bool has(const std::string& name) const { return find(name) != nullptr; }
  int64_t get_int(const std::string& name, int64_t def) const;
  float get_float(const std::string& name, float def) const;
  std::string get_string(const std::string& name, const std::string& def) const;
  std::vector<int64_t> get_ints(const std::string& name, const std::vector<int64_t>& def = {}) const;
  std::vector<float> get_floats(const std::string& name, const std::vector<float>& def = {}) const;
  std::vector<std::string> get_strings(const std::string& name) const;
  Tensor get_tensor(const std::string& name) const;  // InvalidArgument when missing

 private:
  const ::onnx::AttributeProto& typed(const std::string& name, int type) const;
  const ::onnx::NodeProto& node_;
  std::string where_;
};

// ---- layout (onnx_layout.cc) ----

// Channels-last permutation of a rank-r ONNX value [N, C, D1..] -> [N, D1.., C], and back.
std::vector<int64_t> perm_to_cl(int rank);
std::vector<int64_t> perm_from_cl(int rank);
// Where ONNX axis `axis` (already non-negative) of a rank-r value sits in its channels-last
// form.
int64_t cl_axis(int64_t axis, int rank);
// Permutes a static shape: out[i] = in[perm[i]].
Shape permute_shape(const Shape& shape, const std::vector<int64_t>& perm);
// True when transposing `shape` by `perm` only moves dims of size 1 (known statically), so a
// reshape does the same and copies nothing.
bool transpose_is_reshape(const Shape& shape, const std::vector<int64_t>& perm);
// Transposes a tensor of any dtype (the importer folds weight layouts with it).
Tensor transpose_tensor(const Tensor& t, const std::vector<int64_t>& perm);

// ---- building (onnx_importer.cc) ----

// Shape arithmetic (Shape -> Gather -> Concat -> Reshape, as exporters emit for a dynamic
// batch) is tracked element by element: an integer vector or scalar whose elements are
// partly known at import time (nullopt where only the run time knows).
using Partial = std::vector<std::optional<int64_t>>;

// One ONNX value as the importer holds it: in ONNX order, channels-last, or both (one
// native, the other a view built on demand). Its value, when known at import time, is the
// Const node `onnx` points at.
struct Value {
  Output onnx;             // ONNX order
  Output cl;               // channels-last (rank >= 3)
  bool native_cl = false;  // computed channels-last; `onnx` is the view
  std::optional<Partial> partial;  // integer scalars / vectors only
};

class Importer;

// What an op entry sees of the node it builds: inputs in either layout, constant inputs,
// attributes, and where its outputs go. Helper nodes go under scope().
class NodeContext {
 public:
  NodeContext(Importer& importer, const ::onnx::NodeProto& node, int opset, const Scope& scope);

  const ::onnx::NodeProto& node() const { return node_; }
  int opset() const { return opset_; }
  const Scope& scope() const { return scope_; }
  const Attrs& attrs() const { return attrs_; }
  // "ONNX node 'Conv_0' (Conv-11)": the prefix of this node's messages.
  const std::string& where() const { return where_; }

  int num_inputs() const { return node_.input_size(); }
  bool has_input(int i) const;  // present and not the empty name of an omitted input
  // How many ONNX nodes read input i's value (graph outputs count once more).
  int consumers(int i) const;
  // The same for the ONNX value computed channels-last as `cl` (0 when none is).
  int consumers_of_cl(const Output& cl) const;
  // The input in ONNX order (InvalidArgument naming the node when it is missing).
  Output input(int i);
  // The input channels-last (rank >= 3; other ranks as input()).
  Output input_cl(int i);
  // True when the input is computed channels-last (reading it in ONNX order costs a
  // transpose).
  bool is_cl(int i);
  // The input's static shape in ONNX order, rank and dtype.
  Shape shape(int i);
  int rank(int i);
  DType dtype(int i);
  // The input's value when known at import time (initializers, Constant, folded
  // subgraphs), else nullptr.
  const Tensor* constant(int i);
  // A constant integer input as a list (shape-like arguments); Unimplemented naming `what`
  // (and the Sluice op that will take it at run time) when it is only known at run time.
  std::vector<int64_t> constant_ints(int i, const std::string& what, const std::string& waits_on = "");

  // The input's elements as far as they are known at import time (integer scalars and
  // vectors of up to 64 elements: constants, shapes with static dims, arithmetic on them).
  std::optional<Partial> partial(int i);

  int num_outputs() const { return node_.output_size(); }
  bool wants_output(int i) const;  // present and named
  void set_output(int i, const Output& onnx_order);
  void set_output_cl(int i, const Output& channels_last);
  // Records what is known of output i (already set): all of it makes the output a
  // constant of its dtype, rank 0 when `scalar`.
  void set_partial(int i, const Partial& p, bool scalar);

  // `x` with every node it depends on evaluated now when they are all constants (weight
  // layouts, shape arithmetic), else `x` itself.
  Output fold(const Output& x);
  // A Const of `value` under scope().
  Output constant_output(const Tensor& value);

  [[noreturn]] void unimplemented(const std::string& what) const;
  [[noreturn]] void invalid(const std::string& what) const;
  // Non-negative axis of a rank-r value (InvalidArgument when out of range).
  int64_t axis(int64_t axis, int rank, const char* what = "axis") const;

 private:
  Importer& importer_;
  const ::onnx::NodeProto& node_;
  int opset_;
  Scope scope_;
  std::string where_;
  Attrs attrs_;
};

// Builds the Relu / Clip node being imported as its Conv input's FusedConv2D with `act`
// when that input feeds nothing else (onnx_ops_activation.cc); false when it cannot.
bool fused_into_conv(NodeContext& ctx, const FusedActivation& act);

// The channel Concat being imported, of channels-last values `xs`, as one FusedConcatConv2D
// (ops/concat_conv_ops.h) when every value is a FusedConv2D of one input with constant
// weights, stride 1, one activation, that nothing else reads (SqueezeNet's fire modules)
// (onnx_ops_nn.cc); an invalid Output when the pattern does not match.
Output fused_concat_conv(NodeContext& ctx, const std::vector<Output>& xs);

// ---- the op table (onnx_importer.cc) ----

using BuildFn = void (*)(NodeContext& ctx);
// What the entry cannot map yet for this node (checked for every node before anything is
// built), or "" when it can.
using CheckFn = std::string (*)(const Attrs& attrs, int opset);

struct OpEntry {
  const char* op_type;
  BuildFn build;
  CheckFn check;  // may be null
  const char* notes;
};
const std::vector<OpEntry>& op_table();
const OpEntry* find_op(const std::string& op_type);

// The entries of each op family (onnx_ops_<family>.cc), each op's row next to its function;
// op_table() is their union, sorted by op type.
std::vector<OpEntry> math_op_entries();
std::vector<OpEntry> nn_op_entries();
std::vector<OpEntry> array_op_entries();
std::vector<OpEntry> reduce_op_entries();
std::vector<OpEntry> rnn_op_entries();
std::vector<OpEntry> activation_op_entries();
std::vector<OpEntry> index_op_entries();

}  // namespace sluice::io::onnx_detail
