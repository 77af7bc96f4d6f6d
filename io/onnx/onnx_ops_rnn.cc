// ONNX recurrent ops (LSTM, GRU, RNN) on Sluice's fused Keras-style recurrent ops: ONNX's
// per-direction weights are transposed and their gate blocks reordered, the two biases
// combined, and directions, activations, clip, sequence_lens, initial states, peepholes,
// input_forget and layout mapped onto ops::RnnOptions.
#include "../../ops/array_ops.h"
#include "../../ops/math_ops.h"
#include "../../ops/rnn_ops.h"
#include "onnx_internal.h"

namespace sluice::io::onnx_detail {

namespace {

using ops::RnnActivation;

enum class Cell { lstm, gru, rnn };

int gates(Cell c) { return c == Cell::lstm ? 4 : c == Cell::gru ? 3 : 1; }
int num_activations(Cell c) { return c == Cell::lstm ? 3 : c == Cell::gru ? 2 : 1; }

bool uses_alpha(RnnActivation::Kind k) {
  using K = RnnActivation::Kind;
  return k == K::leaky_relu || k == K::thresholded_relu || k == K::scaled_tanh || k == K::hard_sigmoid ||
         k == K::affine || k == K::elu;
}
bool uses_beta(RnnActivation::Kind k) {
  using K = RnnActivation::Kind;
  return k == K::scaled_tanh || k == K::hard_sigmoid || k == K::affine;
}

// The activations of every direction (f, g[, h] each), ONNX's defaults when none are given;
// activation_alpha / activation_beta are consumed in order by the activations that take them.
std::vector<RnnActivation> activations(NodeContext& ctx, Cell cell, int dirs) {
  std::vector<std::string> names = ctx.attrs().get_strings("activations");
  const int per = num_activations(cell);
  if (names.empty()) {
    for (int d = 0; d < dirs; ++d) {
      if (cell != Cell::rnn) names.push_back("Sigmoid");
      names.push_back("Tanh");
      if (cell == Cell::lstm) names.push_back("Tanh");
    }
  }
  if (static_cast<int>(names.size()) != per * dirs)
    ctx.invalid(std::to_string(names.size()) + " activations for " + std::to_string(dirs) + " direction(s) of " +
                std::to_string(per));
  const std::vector<float> alphas = ctx.attrs().get_floats("activation_alpha"), betas = ctx.attrs().get_floats("activation_beta");
  size_t ai = 0, bi = 0;
  std::vector<RnnActivation> out;
  for (const std::string& n : names) {
    RnnActivation a = RnnActivation::from_name(n);
    if (uses_alpha(a.kind) && ai < alphas.size()) a.alpha = alphas[ai++];
    if (uses_beta(a.kind) && bi < betas.size()) a.beta = betas[bi++];
    out.push_back(a);
  }
  return out;
}

// Direction d of a [D, ...] tensor (or [B, D, ...] with `axis` 1).
Output direction(NodeContext& ctx, const Output& x, int d, int axis) {
  const Scope& s = ctx.scope();
  const Shape shape = x.shape();
  if (!shape.known_rank() || shape.rank() <= axis || (shape.dim(axis) >= 0 && shape.dim(axis) <= d))
    ctx.invalid("a per-direction input of shape " + shape.to_string() + " has no direction " + std::to_string(d) +
                " at axis " + std::to_string(axis));
  const int r = shape.rank();
  std::vector<int64_t> begin(static_cast<size_t>(r), 0), size(static_cast<size_t>(r), -1);
  begin[static_cast<size_t>(axis)] = d;
  size[static_cast<size_t>(axis)] = 1;
  return ops::squeeze(s, ops::slice(s, x, begin, size), {axis});
}

// [G*H, K] in ONNX's gate order -> [G*H, K] in Keras' (LSTM iofc -> ifco; GRU and RNN keep theirs).
Output reorder(NodeContext& ctx, Cell cell, const Output& m) {
  if (cell != Cell::lstm) return m;
  const std::vector<Output> g = ops::split(ctx.scope(), m, 4, 0);
  return ops::concat(ctx.scope(), {g[0], g[2], g[3], g[1]}, 0);
}

void build_recurrent(NodeContext& ctx, Cell cell) {
  const Scope& s = ctx.scope();
  const Attrs& a = ctx.attrs();
  const std::string dir = a.get_string("direction", "forward");
  if (dir != "forward" && dir != "reverse" && dir != "bidirectional")
    ctx.invalid("direction '" + dir + "' (forward, reverse or bidirectional)");
  const int dirs = dir == "bidirectional" ? 2 : 1;
  const bool batch_major = a.get_int("layout", 0) != 0;
  const int g = gates(cell);
  const Shape ws = ctx.shape(1);
  if (ws.rank() != 3 || ws.dim(0) != dirs || ws.dim(1) < 0 || ws.dim(1) % g != 0)
    ctx.invalid("W must be [" + std::to_string(dirs) + ", " + std::to_string(g) + "*hidden, input], got " + ws.to_string());
  const int64_t h = ws.dim(1) / g;
  const DType dt = ctx.dtype(0);
  if (ctx.rank(0) != 3) ctx.invalid("X must have rank 3, got " + ctx.shape(0).to_string());
  const std::vector<RnnActivation> acts = activations(ctx, cell, dirs);
  const int per = num_activations(cell);
  const Output x = batch_major ? ctx.input(0) : ops::transpose(s, ctx.input(0), {1, 0, 2});  // [B, T, K]
  const int state_axis = batch_major ? 1 : 0;  // where initial_h / Y_h keep the direction
  std::vector<Output> seqs, hs, cs;
  for (int d = 0; d < dirs; ++d) {
    ops::RnnOptions opt;
    opt.reverse = dir == "reverse" || d == 1;
    if (cell == Cell::rnn) {
      opt.activation = acts[static_cast<size_t>(d)];
    } else {
      opt.recurrent_activation = acts[static_cast<size_t>(d * per)];
      opt.activation = acts[static_cast<size_t>(d * per + 1)];
      if (cell == Cell::lstm) opt.cell_activation = acts[static_cast<size_t>(d * per + 2)];
    }
    opt.clip = a.get_float("clip", 0.0f);
    if (cell == Cell::lstm) opt.input_forget = a.get_int("input_forget", 0) != 0;
    if (ctx.has_input(4)) {
      opt.sequence_lengths = ctx.input(4);
      opt.zero_output_for_mask = true;
    }
    const Output kernel = ctx.fold(ops::transpose(s, reorder(ctx, cell, direction(ctx, ctx.input(1), d, 0)), {1, 0}));
    const Output recurrent = ctx.fold(ops::transpose(s, reorder(ctx, cell, direction(ctx, ctx.input(2), d, 0)), {1, 0}));
    Output wb, rb;
    if (ctx.has_input(3)) {
      const std::vector<Output> both = ops::split(s, direction(ctx, ctx.input(3), d, 0), 2, 0);  // [2GH] -> 2 x [GH]
      wb = both[0];
      rb = both[1];
    } else {
      wb = rb = ctx.constant_output(Tensor::zeros(dt, Shape{g * h}));
    }
    auto reorder_vec = [&](const Output& v) { return ops::squeeze(s, reorder(ctx, cell, ops::expand_dims(s, v, -1)), {1}); };
    // GRU with linear_before_reset keeps the recurrent bias apart (Keras' reset_after).
    const bool reset_after = cell == Cell::gru && a.get_int("linear_before_reset", 0) != 0;
    const Output bias = ctx.fold(reset_after ? ops::stack(s, {wb, rb}, 0) : reorder_vec(ops::add(s, wb, rb)));
    auto initial = [&](int i) {
      if (ctx.has_input(i)) return direction(ctx, ctx.input(i), d, state_axis);
      // Zeros [B, H] for a batch known only at run time: a [B, 1] slice of x, zeroed, plus [1, H].
      const Output col = ops::reshape(s, ops::slice(s, x, {0, 0, 0}, {-1, 1, 1}), {-1, 1});
      return ops::add(s, ops::zeros_like(s, col), ctx.constant_output(Tensor::zeros(dt, Shape{1, h})));
    };
    std::vector<Output> r;
    if (cell == Cell::lstm) {
      if (ctx.has_input(7)) {
        const std::vector<Output> p = ops::split(s, direction(ctx, ctx.input(7), d, 0), 3, 0);  // i, o, f
        opt.peepholes = ctx.fold(ops::concat(s, {p[0], p[2], p[1]}, 0));
      }
      r = ops::lstm(s, x, initial(5), initial(6), kernel, recurrent, bias, opt);
      cs.push_back(r[2]);
    } else if (cell == Cell::gru) {
      r = ops::gru(s, x, initial(5), kernel, recurrent, bias, reset_after, opt);
    } else {
      r = ops::simple_rnn(s, x, initial(5), kernel, recurrent, bias, opt);
    }
    // Y: [T, D, B, H] (layout 0) or [B, T, D, H] (layout 1); states [D, B, H] or [B, D, H].
    seqs.push_back(batch_major ? ops::expand_dims(s, r[0], 2) : ops::expand_dims(s, ops::transpose(s, r[0], {1, 0, 2}), 1));
    hs.push_back(ops::expand_dims(s, r[1], state_axis));
  }
  auto join = [&](const std::vector<Output>& v, int axis) { return v.size() == 1 ? v[0] : ops::concat(s, v, axis); };
  ctx.set_output(0, join(seqs, batch_major ? 2 : 1));
  ctx.set_output(1, join(hs, state_axis));
  if (cell == Cell::lstm) {
    std::vector<Output> cx;
    for (const Output& c : cs) cx.push_back(ops::expand_dims(s, c, state_axis));
    ctx.set_output(2, join(cx, state_axis));
  }
}

void build_LSTM(NodeContext& ctx) { build_recurrent(ctx, Cell::lstm); }
void build_GRU(NodeContext& ctx) { build_recurrent(ctx, Cell::gru); }
void build_RNN(NodeContext& ctx) { build_recurrent(ctx, Cell::rnn); }

}  // namespace

std::vector<OpEntry> rnn_op_entries() {
  const char* common =
      "forward/reverse/bidirectional, activations with activation_alpha/beta, clip, sequence_lens (zero "
      "outputs past each length), initial states, layout 0 and 1";
  static const std::string lstm = std::string(common) + ", peepholes, input_forget";
  static const std::string gru = std::string(common) + ", linear_before_reset 0 and 1";
  return {
      {"LSTM", build_LSTM, nullptr, lstm.c_str()},
      {"GRU", build_GRU, nullptr, gru.c_str()},
      {"RNN", build_RNN, nullptr, common},
  };
}

}  // namespace sluice::io::onnx_detail
