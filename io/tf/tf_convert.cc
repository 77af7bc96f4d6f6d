// The TF op table's common ground: ConvertContext (inputs, attrs, constants, scopes), the
// table assembled from its families, and the Markdown generated from it.
#include <algorithm>
#include <map>
#include <sstream>

#include "../../ops/array_ops.h"
#include "detail/tf_convert.h"

namespace sluice::io::tf {

using AV = tfproto::AttrValue;

Output ConvertContext::input(int i) const {
  SLUICE_REQUIRE(i >= 0 && i < num_inputs(), InvalidArgument, describe(), ": expects input ", i, " but has ",
                 num_inputs(), " inputs");
  SLUICE_REQUIRE(inputs_[i].valid(), Unimplemented, describe(), ": input ", i, " ('", def_.input(i),
                 "') is an output Sluice does not produce");
  return inputs_[i];
}

void ConvertContext::require_inputs(int n, bool at_least) const {
  SLUICE_REQUIRE(at_least ? num_inputs() >= n : num_inputs() == n, InvalidArgument, describe(), ": expects ",
                 at_least ? "at least " : "", n, " inputs, has ", num_inputs());
}

std::optional<Tensor> constant_value(const Output& x) {
  Node* n = x.node();
  for (int hops = 0; n && hops < 64; ++hops) {
    if (n->op_type() == "Const") return n->attr<Tensor>("value");
    if (n->op_type() != "Identity" || !n->control_inputs.empty()) break;
    n = n->inputs[0].node();
  }
  return std::nullopt;
}

std::optional<Tensor> ConvertContext::constant_input(int i) const { return constant_value(input(i)); }

Tensor ConvertContext::require_constant(int i, const std::string& what) const {
  std::optional<Tensor> t = constant_input(i);
  if (!t) unsupported(what + " must be a constant (here it is computed at run time by '" + input(i).name() + "')");
  return *t;
}

std::vector<int64_t> ConvertContext::constant_ints(int i, const std::string& what) const {
  const Tensor t = require_constant(i, what);
  std::vector<int64_t> v;
  if (t.dtype() == DType::i32) {
    for (int32_t x : t.to_vector<int32_t>()) v.push_back(x);
  } else if (t.dtype() == DType::i64) {
    v = t.to_vector<int64_t>();
  } else {
    invalid(what + " must be int32 or int64, is " + dtype_name(t.dtype()));
  }
  return v;
}

int64_t ConvertContext::constant_int(int i, const std::string& what) const {
  const std::vector<int64_t> v = constant_ints(i, what);
  if (v.size() != 1) invalid(what + " must hold one value, holds " + std::to_string(v.size()));
  return v[0];
}

const AV* ConvertContext::find_attr(const std::string& name) const {
  auto it = def_.attr().find(name);
  return it == def_.attr().end() ? nullptr : &it->second;
}

bool ConvertContext::has_attr(const std::string& name) const { return find_attr(name) != nullptr; }

namespace {

const char* value_case_name(AV::ValueCase c) {
  switch (c) {
    case AV::kS: return "string";
    case AV::kI: return "int";
    case AV::kF: return "float";
    case AV::kB: return "bool";
    case AV::kType: return "type";
    case AV::kShape: return "shape";
    case AV::kTensor: return "tensor";
    case AV::kList: return "list";
    case AV::kFunc: return "func";
    case AV::kPlaceholder: return "placeholder";
    case AV::VALUE_NOT_SET: return "nothing";
  }
  return "?";
}

}  // namespace

const AV& ConvertContext::get_attr(const std::string& name, AV::ValueCase want, const char* kind) const {
  const AV* a = find_attr(name);
  SLUICE_REQUIRE(a, InvalidArgument, describe(), ": missing attr '", name, "'");
  SLUICE_REQUIRE(a->value_case() == want, InvalidArgument, describe(), ": attr '", name, "' holds a ",
                 value_case_name(a->value_case()), ", expected a ", kind);
  return *a;
}

int64_t ConvertContext::attr_int(const std::string& name, std::optional<int64_t> def) const {
  if (def && !has_attr(name)) return *def;
  return get_attr(name, AV::kI, "int").i();
}
float ConvertContext::attr_float(const std::string& name, std::optional<float> def) const {
  if (def && !has_attr(name)) return *def;
  return get_attr(name, AV::kF, "float").f();
}
bool ConvertContext::attr_bool(const std::string& name, std::optional<bool> def) const {
  if (def && !has_attr(name)) return *def;
  return get_attr(name, AV::kB, "bool").b();
}
std::string ConvertContext::attr_string(const std::string& name, std::optional<std::string> def) const {
  if (def && !has_attr(name)) return *def;
  return get_attr(name, AV::kS, "string").s();
}
int ConvertContext::attr_tf_dtype(const std::string& name) const { return get_attr(name, AV::kType, "type").type(); }
DType ConvertContext::attr_dtype(const std::string& name) const {
  return dtype_from_tf(attr_tf_dtype(name), describe() + ": attr '" + name + "'");
}
Shape ConvertContext::attr_shape(const std::string& name, std::optional<Shape> def) const {
  if (def && !has_attr(name)) return *def;
  return shape_from_tf(get_attr(name, AV::kShape, "shape").shape(), describe() + ": attr '" + name + "'");
}
std::vector<int64_t> ConvertContext::attr_ints(const std::string& name,
                                               std::optional<std::vector<int64_t>> def) const {
  if (def && !has_attr(name)) return *def;
  const AV& a = get_attr(name, AV::kList, "list of ints");
  SLUICE_REQUIRE(a.list().s_size() + a.list().f_size() + a.list().b_size() + a.list().type_size() +
                         a.list().shape_size() + a.list().tensor_size() == 0,
                 InvalidArgument, describe(), ": attr '", name, "' must be a list of ints");
  return std::vector<int64_t>(a.list().i().begin(), a.list().i().end());
}
Tensor ConvertContext::attr_tensor(const std::string& name) const {
  return tensor_from_tf(get_attr(name, AV::kTensor, "tensor").tensor(), describe() + ": attr '" + name + "'");
}

Scope ConvertContext::scope() const {
  return Scope(graph_).with_control_dependencies(control_inputs_).named(full_name_);
}
Scope ConvertContext::aux(const std::string& what) const {
  return Scope(graph_).with_control_dependencies(control_inputs_).named(full_name_ + "/_tf/" + what);
}

void ConvertContext::unsupported(const std::string& message) const { throw Unimplemented(describe() + ": " + message); }
void ConvertContext::invalid(const std::string& message) const { throw InvalidArgument(describe() + ": " + message); }

bool is_nchw(const ConvertContext& ctx, const char* def) {
  const std::string f = ctx.attr_string("data_format", std::string(def));
  if (f == "NHWC") return false;
  if (f == "NCHW") return true;
  ctx.unsupported("data_format '" + f + "' is not supported (NHWC, NCHW)");
}

Output to_nhwc(const ConvertContext& ctx, const Output& x) {
  return ops::transpose(ctx.aux("to_nhwc"), x, {0, 2, 3, 1});
}
Output to_nchw(const ConvertContext& ctx, const Output& x, bool named) {
  return ops::transpose(named ? ctx.scope() : ctx.aux("to_nchw"), x, {0, 3, 1, 2});
}

// ---- the table ----

namespace {

Converted handled_by_importer(ConvertContext& ctx) {
  throw Internal(ctx.describe() + ": control-flow ops are handled by the importer");
}

std::vector<OpEntry> build_table() {
  std::vector<OpEntry> t;
  add_state_ops(t);
  add_math_ops(t);
  add_array_ops(t);
  add_nn_ops(t);
  t.push_back({"Switch", handled_by_importer, "(folded) / Select",
               "`tf.cond`: a constant predicate (a Const, possibly behind Identity) keeps only the taken "
               "branch; any other bool scalar predicate (e.g. a fed or defaulted PlaceholderWithDefault such as "
               "`keras_learning_phase`) runs both branches and each Merge becomes a Select on it. Branches that "
               "write variables under a run-time predicate are Unimplemented."});
  t.push_back({"Merge", handled_by_importer, "(folded) / Select",
               "the live input of a folded cond, or Select(pred, true branch, false branch); output 1 "
               "(value_index) as int32"});
  std::sort(t.begin(), t.end(), [](const OpEntry& a, const OpEntry& b) { return std::string(a.tf_op) < b.tf_op; });
  for (size_t i = 1; i < t.size(); ++i)
    if (std::string(t[i].tf_op) == t[i - 1].tf_op) throw Internal(std::string("TF op table: duplicate ") + t[i].tf_op);
  return t;
}

}  // namespace

const std::vector<OpEntry>& op_table() {
  static const std::vector<OpEntry> table = build_table();
  return table;
}

const OpEntry* find_op(const std::string& tf_op) {
  const auto& t = op_table();
  auto it = std::lower_bound(t.begin(), t.end(), tf_op,
                             [](const OpEntry& e, const std::string& k) { return e.tf_op < k; });
  return it != t.end() && it->tf_op == tf_op ? &*it : nullptr;
}

std::string tf_ops_markdown() {
  std::ostringstream os;
  os << "# TensorFlow ops Sluice imports\n\n"
     << "Generated from the op table in `io/tf/` (`tf_ops_markdown()`); the test `TfOpTable.DocsMatchTable`\n"
     << "fails when this file and the table disagree (`SLUICE_UPDATE_DOCS=1 build/tests/test_tf_ops` rewrites it).\n\n"
     << "Every TF op type not listed here makes `import_tf_graph_def` / `import_tf_meta_graph` /\n"
     << "`load_model` fail with one `Unimplemented` error that names every such op type and the first\n"
     << "node of each, before anything is built - but only for the part of the graph the requested\n"
     << "outputs need (input-mapped tensors cut the graph there).\n\n"
     << "Shape-like inputs (Reshape's shape, Transpose's perm, reduction axes, ConcatV2's axis, Slice's\n"
     << "begin/size, ...) must be constants (a `Const`, possibly behind `Identity`): they are folded into\n"
     << "the attrs of Sluice's ops. A run-time value there is an `Unimplemented` error naming the node.\n"
     << "dtypes: float32, float64, int32, int64, uint8 and bool, as each Sluice op accepts them.\n\n"
     << "| TF op | Sluice op(s) | attrs, dtypes, limits |\n|---|---|---|\n";
  for (const OpEntry& e : op_table()) os << "| `" << e.tf_op << "` | " << e.sluice << " | " << e.notes << " |\n";
  return os.str();
}

}  // namespace sluice::io::tf
