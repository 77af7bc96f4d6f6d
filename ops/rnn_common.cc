// The non-template parts of rnn_common.h and RnnActivation.
#include "rnn_common.h"

#include <cctype>
#include <cmath>

namespace sluice {

// ---------------------------------------------------------------------------------------
// RnnActivation

namespace ops {
namespace {

struct ActivationName {
  const char* key;  // lowercase, no '_'
  RnnActivation act;
};

const std::vector<ActivationName>& activation_names() {
  static const std::vector<ActivationName> names = {
      {"sigmoid", RnnActivation::sigmoid()},
      {"tanh", RnnActivation::tanh()},
      {"relu", RnnActivation::relu()},
      {"linear", RnnActivation::linear()},
      {"hardsigmoid", RnnActivation::hard_sigmoid()},
      {"affine", RnnActivation::affine()},
      {"leakyrelu", RnnActivation::leaky_relu()},
      {"thresholdedrelu", RnnActivation::thresholded_relu()},
      {"scaledtanh", RnnActivation::scaled_tanh()},
      {"elu", RnnActivation::elu()},
      {"softsign", RnnActivation::softsign()},
      {"softplus", RnnActivation::softplus()},
  };
  return names;
}

const char* canonical_name(RnnActivation::Kind k) {
  using Kind = RnnActivation::Kind;
  switch (k) {
    case Kind::sigmoid: return "sigmoid";
    case Kind::tanh: return "tanh";
    case Kind::relu: return "relu";
    case Kind::linear: return "linear";
    case Kind::hard_sigmoid: return "hard_sigmoid";
    case Kind::affine: return "affine";
    case Kind::leaky_relu: return "leaky_relu";
    case Kind::thresholded_relu: return "thresholded_relu";
    case Kind::scaled_tanh: return "scaled_tanh";
    case Kind::elu: return "elu";
    case Kind::softsign: return "softsign";
    case Kind::softplus: return "softplus";
  }
  return "?";
}

// How many of alpha, beta a kind uses.
int num_params(RnnActivation::Kind k) {
  using Kind = RnnActivation::Kind;
  switch (k) {
    case Kind::hard_sigmoid:
    case Kind::affine:
    case Kind::scaled_tanh: return 2;
    case Kind::leaky_relu:
    case Kind::thresholded_relu:
    case Kind::elu: return 1;
    default: return 0;
  }
}

}  // namespace

RnnActivation RnnActivation::from_name(const std::string& name) {
  std::string key;
  for (char c : name)
    if (c != '_') key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const ActivationName& n : activation_names())
    if (key == n.key) return n.act;
  std::string known;
  for (const ActivationName& n : activation_names())
    known += std::string(known.empty() ? "" : ", ") + canonical_name(n.act.kind);
  throw InvalidArgument(detail::str_cat("unknown recurrent activation '", name, "' (known: ",
                                        known, "; ONNX spellings such as HardSigmoid work too)"));
}

RnnActivation RnnActivation::from_name(const std::string& name, double alpha, double beta) {
  RnnActivation a = from_name(name);
  const int n = num_params(a.kind);
  if (n >= 1) a.alpha = alpha;
  if (n >= 2) a.beta = beta;
  return a;
}

RnnActivation::RnnActivation(const char* name) : RnnActivation(from_name(name)) {}
RnnActivation::RnnActivation(const std::string& name) : RnnActivation(from_name(name)) {}

std::string RnnActivation::name() const { return canonical_name(kind); }

std::string RnnActivation::to_string() const {
  const int n = num_params(kind);
  if (n == 0) return name();
  if (n == 1) return detail::str_cat(name(), "(alpha=", alpha, ")");
  return detail::str_cat(name(), "(alpha=", alpha, ", beta=", beta, ")");
}

}  // namespace ops

namespace rnn {
namespace {

// Activations travel as a name attr plus a params attr [alpha, beta] (empty without).
AttrValue params_attr(const RnnActivation& a) {
  const int n = ops::num_params(a.kind);
  std::vector<double> p;
  if (n >= 1) p.push_back(a.alpha);
  if (n >= 2) p.push_back(a.beta);
  return AttrValue(p);
}

RnnActivation read_activation(const Node& node, const std::string& attr, const RnnActivation& dflt) {
  const std::string& name = node.attr<std::string>(attr);
  if (name.empty()) return dflt;
  const auto& p = node.attr<std::vector<double>>(attr + "_params");
  SLUICE_REQUIRE(p.size() <= 2, InvalidArgument, "attr '", attr, "_params' holds ", p.size(),
                 " values; at most alpha and beta");
  for (double v : p)
    SLUICE_REQUIRE(std::isfinite(v), InvalidArgument, "attr '", attr,
                   "_params' must be finite, got ", v);
  const RnnActivation d = RnnActivation::from_name(name);
  return RnnActivation::from_name(name, p.size() > 0 ? p[0] : d.alpha, p.size() > 1 ? p[1] : d.beta);
}

}  // namespace

Attrs Attrs::read(const Node& node) {
  Attrs a;
  a.f = read_activation(node, "recurrent_activation", RnnActivation::sigmoid());
  a.g = read_activation(node, "activation", RnnActivation::tanh());
  a.h = node.find_attr("cell_activation") ? read_activation(node, "cell_activation", a.g) : a.g;
  a.reverse = node.attr<bool>("reverse");
  a.reverse_output = node.attr<bool>("reverse_output");
  const std::string& m = node.attr<std::string>("masking");
  SLUICE_REQUIRE(m == "none" || m == "mask" || m == "sequence_lengths", InvalidArgument,
                 "attr 'masking' must be none, mask or sequence_lengths, got '", m, "'");
  a.masking = m == "mask" ? Masking::mask : m == "none" ? Masking::none : Masking::lengths;
  a.zero_output_for_mask = node.attr<bool>("zero_output_for_mask");
  a.clip = node.attr<double>("clip");
  SLUICE_REQUIRE(a.clip >= 0 && std::isfinite(a.clip), InvalidArgument,
                 "clip must be a finite number >= 0 (0: no clipping), got ", a.clip);
  if (node.find_attr("peepholes")) {
    a.peepholes = node.attr<bool>("peepholes");
    a.input_forget = node.attr<bool>("input_forget");
  }
  if (node.find_attr("reset_after")) a.reset_after = node.attr<bool>("reset_after");
  return a;
}

OpDefBuilder& add_common_attrs(OpDefBuilder& b, bool lstm, bool gru) {
  b.attr("activation", "tanh")
      .attr("activation_params", std::vector<double>{})
      .attr("recurrent_activation", "sigmoid")
      .attr("recurrent_activation_params", std::vector<double>{})
      .attr("reverse", false)
      .attr("reverse_output", false)
      .attr("masking", "none")
      .attr("zero_output_for_mask", false)
      .attr("clip", 0.0);
  if (lstm) {
    // Empty: the same as activation (Keras).
    b.attr("cell_activation", "")
        .attr("cell_activation_params", std::vector<double>{})
        .attr("peepholes", false)
        .attr("input_forget", false);
  }
  if (gru) b.attr("reset_after", true);
  return b;
}

Operation build_node(const Scope& scope, const char* op_type, const std::vector<Output>& inputs,
                     const ops::RnnOptions& o, bool lstm, bool gru, bool reset_after) {
  SLUICE_REQUIRE(!(o.mask.valid() && o.sequence_lengths.valid()), InvalidArgument, op_type,
                 ": give a mask or sequence_lengths, not both");
  SLUICE_REQUIRE(lstm || (!o.peepholes.valid() && !o.input_forget && !o.cell_activation),
                 InvalidArgument, op_type,
                 ": peepholes, input_forget and cell_activation are LSTM options");
  NodeBuilder b(scope, op_type);
  for (const Output& x : inputs) b.input(x);
  b.attr("activation", o.activation.name())
      .attr("activation_params", params_attr(o.activation))
      .attr("recurrent_activation", o.recurrent_activation.name())
      .attr("recurrent_activation_params", params_attr(o.recurrent_activation))
      .attr("reverse", o.reverse)
      .attr("reverse_output", o.reverse_sequence_output)
      .attr("zero_output_for_mask", o.zero_output_for_mask)
      .attr("clip", o.clip);
  if (o.mask.valid()) {
    b.input(o.mask).attr("masking", "mask");
  } else if (o.sequence_lengths.valid()) {
    b.input(o.sequence_lengths).attr("masking", "sequence_lengths");
  }
  if (lstm) {
    if (o.cell_activation) {
      b.attr("cell_activation", o.cell_activation->name())
          .attr("cell_activation_params", params_attr(*o.cell_activation));
    }
    if (o.peepholes.valid()) b.input(o.peepholes).attr("peepholes", true);
    b.attr("input_forget", o.input_forget);
  }
  if (gru) b.attr("reset_after", reset_after);
  return b.finish();
}

void copy_attrs(NodeBuilder& b, const Node& forward) {
  for (const auto& [name, value] : forward.attrs) b.attr(name, value);
}

void require_no_grad(const Operation& op, const Grads& g, int output, const char* what) {
  const Operation z = g[static_cast<size_t>(output)].op();
  SLUICE_REQUIRE(z.type() == "ZerosLike" && z.input(0) == op.output(output), Unimplemented,
                 op.node()->describe(), ": gradients through its internal output ", output, " (",
                 what, ") are not supported");
}

void require_invertible(const Operation& op, const Attrs& a) {
  using Kind = RnnActivation::Kind;
  for (const RnnActivation* act : {&a.f, &a.g, &a.h}) {
    const bool ok = !((act->kind == Kind::leaky_relu && act->alpha < 0) ||
                      (act->kind == Kind::elu && act->alpha <= 0));
    SLUICE_REQUIRE(ok, Unimplemented, op.node()->describe(), ": the gradient of activation ",
                   act->to_string(),
                   " is not supported (the fused kernels differentiate activations through "
                   "their outputs, which needs leaky_relu alpha >= 0 and elu alpha > 0)");
  }
}

// ---------------------------------------------------------------------------------------
// Shapes

namespace {

std::string describe_all(const std::vector<InputSpec>& in) {
  std::string r;
  for (const InputSpec& s : in) {
    if (!s.shape.known_rank()) continue;
    r += detail::str_cat(r.empty() ? "" : ", ", s.name, " ", s.shape.to_string());
  }
  return r;
}

std::string render_pattern(const std::string& p, int gates) {
  std::string r = "[";
  for (size_t i = 0; i < p.size(); ++i) {
    if (i) r += ",";
    switch (p[i]) {
      case 'B': r += "batch"; break;
      case 'T': r += "time"; break;
      case 'F': r += "features"; break;
      case 'U': r += "units"; break;
      case 'G': r += detail::str_cat(gates, "*units"); break;
      case 'P': r += "3*units"; break;
      case 'Q': r += "4*units"; break;
      default: r += p[i];
    }
  }
  return r + "]";
}

// Multiplier of units for a units-derived symbol, 0 for others.
int64_t unit_factor(char c, int gates) {
  return c == 'U' ? 1 : c == 'G' ? gates : c == 'P' ? 3 : c == 'Q' ? 4 : 0;
}

}  // namespace

Dims check_dims(const char* op, int gates, const char* gate_names,
                const std::vector<InputSpec>& in) {
  const std::string all = describe_all(in);
  for (const InputSpec& s : in) {
    const int rank = static_cast<int>(s.pattern.size());
    SLUICE_REQUIRE(!s.shape.known_rank() || s.shape.rank() == rank, InvalidArgument, op, " ",
                   s.name, " must have rank ", rank, ", got ", s.shape.to_string(), " (", all, ")");
  }
  std::string expected;
  for (const InputSpec& s : in)
    if (s.pattern.find_first_of("GUPQ") != std::string::npos)
      expected += detail::str_cat(expected.empty() ? "" : ", ", s.name, " ",
                                  render_pattern(s.pattern, gates));
  Dims d;
  // Units: the recurrent kernel's rows first, then every other units-derived dimension.
  std::string units_from;
  auto visit_units = [&](const InputSpec& s) {
    if (!s.shape.known_rank()) return;
    for (size_t k = 0; k < s.pattern.size(); ++k) {
      const int64_t f = unit_factor(s.pattern[k], gates);
      int64_t v = s.shape.dim(static_cast<int>(k));
      if (f == 0 || v < 0) continue;
      const std::string where = detail::str_cat(s.name, " ", s.shape.to_string());
      if (f > 1) {
        SLUICE_REQUIRE(v % f == 0, InvalidArgument, op, " ", where, ": dimension ", k,
                       " must be ", f, "*units", f == gates ? detail::str_cat(" (gates ", gate_names, ")") : "",
                       ", ", v, " is not a multiple of ", f, " (", all, ")");
        v /= f;
      }
      if (d.units < 0) {
        d.units = v;
        units_from = where;
        continue;
      }
      SLUICE_REQUIRE(v == d.units, InvalidArgument, op, " ", where, " does not match units = ",
                     d.units, " (from ", units_from, "); expected ", expected, " (", all, ")");
    }
  };
  for (const InputSpec& s : in)
    if (s.name == "recurrent_kernel") visit_units(s);
  for (const InputSpec& s : in)
    if (s.name != "recurrent_kernel") visit_units(s);
  // Features: x's last dimension against the kernel's rows.
  const InputSpec* feat_src = nullptr;
  for (const InputSpec& s : in) {
    if (!s.shape.known_rank()) continue;
    for (size_t k = 0; k < s.pattern.size(); ++k) {
      const int64_t v = s.shape.dim(static_cast<int>(k));
      if (s.pattern[k] != 'F' || v < 0) continue;
      SLUICE_REQUIRE(d.features < 0 || v == d.features, InvalidArgument, op,
                     " feature size mismatch: ", feat_src->name, " ", feat_src->shape.to_string(),
                     " has ", d.features, " features but ", s.name, " ", s.shape.to_string(),
                     " has ", v, s.name == "kernel" ? " rows" : " features", " (", all, ")");
      if (d.features < 0) {
        d.features = v;
        feat_src = &s;
      }
    }
  }
  // Batch and time.
  std::string batch_names;
  for (const InputSpec& s : in)
    if (s.pattern.find('B') != std::string::npos)
      batch_names += detail::str_cat(batch_names.empty() ? "" : ", ", s.name);
  for (const InputSpec& s : in) {
    if (!s.shape.known_rank()) continue;
    for (size_t k = 0; k < s.pattern.size(); ++k) {
      const int64_t v = s.shape.dim(static_cast<int>(k));
      const char c = s.pattern[k];
      if (v < 0) continue;
      if (c == 'B') {
        SLUICE_REQUIRE(d.batch < 0 || v == d.batch, InvalidArgument, op, " batch sizes of ",
                       batch_names, " differ (", all, ")");
        d.batch = v;
      } else if (c == 'T') {
        SLUICE_REQUIRE(d.time < 0 || v == d.time, InvalidArgument, op, " ", s.name, " ",
                       s.shape.to_string(), " does not match ", d.time, " time steps (", all, ")");
        d.time = v;
      } else if (c >= '0' && c <= '9') {
        SLUICE_REQUIRE(v == c - '0', InvalidArgument, op, " ", s.name, " ", s.shape.to_string(),
                       " must be ", render_pattern(s.pattern, gates), " (", all, ")");
      }
    }
  }
  if (d.units >= 0) (void)checked_mul(4, d.units, "recurrent gate width");
  return d;
}

std::vector<InputSpec> input_specs(const char* op,
                                   const std::vector<std::pair<const char*, const char*>>& fixed,
                                   const Attrs& a, const std::vector<Shape>& shapes) {
  std::vector<InputSpec> specs;
  for (const auto& [name, pattern] : fixed) specs.push_back({name, pattern, Shape::unknown_rank()});
  if (a.masking == Masking::mask) specs.push_back({"mask", "BT", Shape::unknown_rank()});
  if (a.masking == Masking::lengths) specs.push_back({"sequence_lengths", "B", Shape::unknown_rank()});
  if (a.peepholes) specs.push_back({"peepholes", "P", Shape::unknown_rank()});
  SLUICE_REQUIRE(shapes.size() == specs.size(), InvalidArgument, op, " expects ", specs.size(),
                 " inputs for its attrs (masking, peepholes), got ", shapes.size());
  for (size_t i = 0; i < specs.size(); ++i) specs[i].shape = shapes[i];
  return specs;
}

Shape expected_shape(const std::string& pattern, const Dims& d, int gates) {
  std::vector<int64_t> dims;
  for (char c : pattern) {
    switch (c) {
      case 'B': dims.push_back(d.batch); break;
      case 'T': dims.push_back(d.time); break;
      case 'F': dims.push_back(d.features); break;
      default: {
        const int64_t f = unit_factor(c, gates);
        if (f > 0) {
          dims.push_back(d.units < 0 ? -1 : f * d.units);
        } else {
          dims.push_back(c - '0');
        }
      }
    }
  }
  return Shape(dims);
}

void require_dtypes(const char* op, const std::vector<DType>& dtypes,
                    const std::vector<std::string>& names, int mask_input, Masking masking) {
  const DType t = dtypes[0];
  SLUICE_REQUIRE(is_floating(t), InvalidArgument, op,
                 " needs float32 or float64 inputs, got x of dtype ", dtype_name(t));
  for (size_t i = 1; i < dtypes.size(); ++i) {
    if (static_cast<int>(i) == mask_input) {
      if (masking == Masking::lengths) {
        SLUICE_REQUIRE(dtypes[i] == DType::i32 || dtypes[i] == DType::i64, InvalidArgument, op,
                       " sequence_lengths must be int32 or int64, got ", dtype_name(dtypes[i]));
      } else {
        SLUICE_REQUIRE(dtypes[i] == DType::boolean || is_floating(dtypes[i]) ||
                           is_integer(dtypes[i]),
                       InvalidArgument, op, " mask must be bool or numeric, got ",
                       dtype_name(dtypes[i]));
      }
      continue;
    }
    SLUICE_REQUIRE(dtypes[i] == t, InvalidArgument, op, " input '", names[i], "' has dtype ",
                   dtype_name(dtypes[i]), ", x has ", dtype_name(t));
  }
}

// ---------------------------------------------------------------------------------------
// Masking

StepFlags step_flags(const Tensor* in, const Attrs& a, int64_t batch, int64_t steps,
                     const std::string& what) {
  StepFlags f;
  if (a.masking == Masking::none) return f;
  const size_t n = static_cast<size_t>(batch * steps);
  f.valid.assign(n, 1);
  if (a.masking == Masking::lengths) {
    SLUICE_REQUIRE(in->shape() == Shape({batch}), InvalidArgument, what, ": sequence_lengths ",
                   in->shape().to_string(), " must be [", batch, "] for batch ", batch);
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t len = in->dtype() == DType::i32 ? in->data<int32_t>()[b] : in->data<int64_t>()[b];
      SLUICE_REQUIRE(len >= 0 && len <= steps, InvalidArgument, what, ": sequence_lengths[", b,
                     "] = ", len, " is outside [0, ", steps, "]");
      for (int64_t t = len; t < steps; ++t) f.valid[static_cast<size_t>(b * steps + t)] = 0;
    }
  } else {
    SLUICE_REQUIRE(in->shape() == Shape({batch, steps}), InvalidArgument, what, ": mask ",
                   in->shape().to_string(), " must be [batch, time] = [", batch, ",", steps, "]");
    for (size_t i = 0; i < n; ++i)
      f.valid[i] = in->as_double(static_cast<int64_t>(i)) != 0.0 ? 1 : 0;
  }
  if (a.zero_output_for_mask) {
    f.emit = f.valid;
  } else {
    // A masked step repeats the previous output, which is the state of the last valid step,
    // or zeros before any.
    f.emit.assign(n, 0);
    const Steps st{steps, a.reverse};
    for (int64_t b = 0; b < batch; ++b) {
      bool seen = false;
      for (int64_t s = 0; s < steps; ++s) {
        const size_t r = static_cast<size_t>(b * steps + st.time(s));
        seen = seen || f.valid[r];
        f.emit[r] = seen ? 1 : 0;
      }
    }
  }
  return f;
}

// ---------------------------------------------------------------------------------------
// Tiles

std::vector<Tile> step_tiles(int64_t batch, int64_t units, int gates, int threads) {
  constexpr double kMinTileWork = 1e6;
  const double work = static_cast<double>(batch) * static_cast<double>(units) *
                      (2.0 * gates * static_cast<double>(units) + 10.0 * gates);
  const int64_t blocks = (units + kBlock - 1) / kBlock;
  int64_t n = std::min<int64_t>(threads, static_cast<int64_t>(work / kMinTileWork));
  std::vector<Tile> tiles;
  if (n <= 1 || batch == 0 || units == 0) {
    tiles.push_back({0, batch, 0, units});
  } else if (blocks >= n) {
    for (int64_t k = 0; k < n; ++k)
      tiles.push_back({0, batch, std::min(units, blocks * k / n * kBlock),
                       std::min(units, blocks * (k + 1) / n * kBlock)});
  } else {
    n = std::min(n, batch);
    for (int64_t k = 0; k < n; ++k) tiles.push_back({batch * k / n, batch * (k + 1) / n, 0, units});
  }
  return tiles;
}

}  // namespace rnn
}  // namespace sluice
