// The collective graph ops, registered into the open op registry by this library (the core
// does not depend on MPI):
//   MpiAllreduceAsync  x -> x (unchanged): hands x to the engine and returns at once; runs
//                      as soon as x is ready (run_early), so reductions overlap the rest of
//                      the backward pass.
//   MpiAllreduceWait   async -> y: blocks until the allreduce named after its Async input
//                      is done. allreduce() builds the pair.
//   MpiBroadcast       x -> root's x.
//   MpiAllgather       x [n_r, ..] -> (output [sum n_r, ..], counts int64 [N]).
// Each collective is named after its node, so ranks match them by name.
#include <mutex>

#include "../ops/array_ops.h"
#include "../ops/math_ops.h"
#include "../ops/reduction_ops.h"
#include "../ops/registry.h"
#include "../ops/shape_ops.h"
#include "../ops/slice_ops.h"
#include "collective_ops.h"
#include "engine.h"

namespace sluice::distributed {

namespace {

using Grads = std::vector<Output>;
using detail::Engine;
using detail::Kind;
using detail::Request;

ReduceOp parse_op(const Node& node) {
  const std::string& op = node.attr<std::string>("reduce_op");
  SLUICE_REQUIRE(op == "sum" || op == "average", InvalidArgument, node.describe(),
                 ": reduce_op must be \"sum\" or \"average\", got \"", op, "\"");
  return op == "sum" ? ReduceOp::sum : ReduceOp::average;
}

Request make_request(const Node& node, Kind kind, const Tensor& x) {
  Request r;
  r.name = node.name;
  r.kind = kind;
  r.dtype = x.dtype();
  r.shape = x.shape().dims();
  return r;
}

// ---- MpiAllreduceAsync / MpiAllreduceWait ----

void async_shape(ShapeContext& ctx) {
  SLUICE_REQUIRE(ctx.num_inputs() <= 2, InvalidArgument, "MpiAllreduceAsync takes x and at most one `enabled`");
  const DType dt = ctx.input_dtype(0);
  SLUICE_REQUIRE(dt != DType::boolean, InvalidArgument,
                 "allreduce needs a numeric tensor, got ", dtype_name(dt));
  if (ctx.num_inputs() == 2) {
    SLUICE_REQUIRE(ctx.input_dtype(1) == DType::boolean && (!ctx.input_shape(1).known_rank() ||
                                                            ctx.input_shape(1).rank() == 0),
                   InvalidArgument, "allreduce_if: `enabled` must be a bool scalar, got ",
                   dtype_name(ctx.input_dtype(1)), ctx.input_shape(1).to_string());
  }
  parse_op(ctx.node());
  ctx.add_output(dt, ctx.input_shape(0));
}

void async_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Engine& engine = Engine::instance();
  if (ctx.num_inputs() == 2 && !ctx.input(1).scalar<bool>()) {
    engine.submit_passthrough(ctx.node().name, x);
  } else {
    Request r = make_request(ctx.node(), Kind::allreduce, x);
    r.op = parse_op(ctx.node());
    engine.submit(std::move(r), x);
  }
  ctx.set_output(0, x);
}

// d/dx Async(x) = dy: the op passes x through; the reduction's gradient is on the Wait.
Grads async_grad(const Scope&, const Operation& op, const Grads& g) {
  Grads r(static_cast<size_t>(op.num_inputs()));
  r[0] = g[0];
  return r;
}

void wait_shape(ShapeContext& ctx) {
  SLUICE_REQUIRE(ctx.node().inputs[0].node()->op_type() == "MpiAllreduceAsync", InvalidArgument,
                 "MpiAllreduceWait's input must be an MpiAllreduceAsync, got ",
                 ctx.node().inputs[0].node()->describe());
  ctx.add_output(ctx.input_dtype(0), ctx.input_shape(0));
}

void wait_kernel(KernelContext& ctx) {
  ctx.set_output(0, Engine::instance().wait(ctx.node().inputs[0].node()->name));
}

// d/dx allreduce(x) = allreduce(dy): every rank's y depends on every rank's x with weight
// 1 (sum) or 1/N (average), so rank r's dx is the same reduction of all ranks' dy.
Grads wait_grad(const Scope& scope, const Operation& op, const Grads& g) {
  const Node* async = op.input(0).node();
  const ReduceOp rop = parse_op(*async);
  if (async->inputs.size() == 2) return {allreduce_if(scope, g[0], async->inputs[1], rop)};
  return {allreduce(scope, g[0], rop)};
}

// ---- MpiBroadcast ----

void broadcast_shape(ShapeContext& ctx) {
  const int64_t root = ctx.attr_int("root");
  SLUICE_REQUIRE(root >= 0, InvalidArgument, "broadcast root must be >= 0, got ", root);
  ctx.add_output(ctx.input_dtype(0), ctx.input_shape(0));
}

void broadcast_kernel(KernelContext& ctx) {
  Engine& engine = Engine::instance();
  const int64_t root = ctx.attr_int("root");
  SLUICE_REQUIRE(root < engine.size(), InvalidArgument, "broadcast root ", root,
                 " is not a rank (size ", engine.size(), ")");
  Request r = make_request(ctx.node(), Kind::broadcast, ctx.input(0));
  r.root = static_cast<int32_t>(root);
  engine.submit(std::move(r), ctx.input(0));
  ctx.set_output(0, engine.wait(ctx.node().name));
}

// d/dx broadcast(x): only the root's x reaches the outputs, each rank's once: the root's
// dx is the sum of every rank's dy, the others' is 0 (the same graph on every rank).
Grads broadcast_grad(const Scope& scope, const Operation& op, const Grads& g) {
  const bool is_root = op.node()->attr_int("root") == rank();
  const Output total = allreduce(scope, g[0], ReduceOp::sum);
  return {ops::mul(scope, total, ops::scalar_like(scope, total, is_root ? 1.0 : 0.0))};
}

// ---- MpiAllgather ----

void allgather_shape(ShapeContext& ctx) {
  const Shape& s = ctx.input_shape(0);
  SLUICE_REQUIRE(!s.known_rank() || s.rank() >= 1, InvalidArgument,
                 "allgather needs a tensor of rank >= 1 (it concatenates along dim 0), got ",
                 s.to_string());
  Shape out = s;
  if (s.known_rank()) {
    std::vector<int64_t> d = s.dims();
    d[0] = -1;
    out = Shape(d);
  }
  ctx.add_output(ctx.input_dtype(0), out);
  ctx.add_output(DType::i64, Shape{-1});
}

void allgather_kernel(KernelContext& ctx) {
  Engine& engine = Engine::instance();
  engine.submit(make_request(ctx.node(), Kind::allgather, ctx.input(0)), ctx.input(0));
  std::vector<int64_t> first_dims;
  ctx.set_output(0, engine.wait(ctx.node().name, &first_dims));
  ctx.set_output(1, Tensor::from_vector(first_dims, Shape{static_cast<int64_t>(first_dims.size())}));
}

// d/dx allgather(x) = rank r's rows of allreduce_sum(dy): each x row appears once in every
// rank's output.
Grads allgather_grad(const Scope& scope, const Operation& op, const Grads& g) {
  const Output x = op.input(0);
  const Output counts = op.output(1);
  const Output total = allreduce(scope, g[0], ReduceOp::sum);
  // Row offset = sum of the counts of the ranks before this one (0 for rank 0).
  const Output before = ops::slice(scope, counts, ops::constant(scope, Tensor::from_vector<int64_t>({0}, {1})),
                                   ops::constant(scope, Tensor::from_vector<int64_t>({rank()}, {1})));
  const Output offset = ops::reshape(scope, ops::sum(scope, before), {1});
  const Output x_shape = ops::shape(scope, x);
  const Output rest = ops::mul(scope, ops::slice(scope, x_shape, ops::constant(scope, Tensor::from_vector<int64_t>({1}, {1})),
                                                 ops::constant(scope, Tensor::from_vector<int64_t>({-1}, {1}))),
                               ops::constant(scope, Tensor(int64_t{0})));
  const Output begin = ops::concat(scope, {offset, rest}, 0);
  return {ops::slice(scope, total, begin, x_shape)};
}

void register_ops(OpRegistry& r) {
  r.op("MpiAllreduceAsync").input("x").variadic_input("enabled").output("passthrough")
      .attr("reduce_op", "average")
      .shape_fn(async_shape).kernel(async_kernel).gradient(async_grad).stateful().run_early();
  r.op("MpiAllreduceWait").input("async").output("y")
      .shape_fn(wait_shape).kernel(wait_kernel).gradient(wait_grad).stateful();
  r.op("MpiBroadcast").input("x").output("y").attr("root", 0)
      .shape_fn(broadcast_shape).kernel(broadcast_kernel).gradient(broadcast_grad).stateful();
  r.op("MpiAllgather").input("x").output("output").output("counts")
      .shape_fn(allgather_shape).kernel(allgather_kernel).gradient(allgather_grad).stateful();
}

}  // namespace

void register_collective_ops() {
  static std::once_flag once;
  std::call_once(once, [] { register_ops(OpRegistry::global()); });
}

// Registered when the library loads, so graphs read from files find the ops too.
static const bool registered = (register_collective_ops(), true);

Output allreduce(const Scope& scope, const Output& x, ReduceOp op) {
  register_collective_ops();
  const Operation a = NodeBuilder(scope, "MpiAllreduceAsync", "allreduce")
                          .input(x)
                          .attr("reduce_op", op == ReduceOp::sum ? "sum" : "average")
                          .finish();
  const Scope ws = scope.without_name().with_prefix(a.name());
  return NodeBuilder(ws, "MpiAllreduceWait", "wait").input(a.output(0)).finish().output(0);
}

Output allreduce_if(const Scope& scope, const Output& x, const Output& enabled, ReduceOp op) {
  register_collective_ops();
  const Operation a = NodeBuilder(scope, "MpiAllreduceAsync", "allreduce")
                          .input(x)
                          .input(enabled)
                          .attr("reduce_op", op == ReduceOp::sum ? "sum" : "average")
                          .finish();
  const Scope ws = scope.without_name().with_prefix(a.name());
  return NodeBuilder(ws, "MpiAllreduceWait", "wait").input(a.output(0)).finish().output(0);
}

Output broadcast(const Scope& scope, const Output& x, int root) {
  register_collective_ops();
  return NodeBuilder(scope, "MpiBroadcast", "broadcast").input(x).attr("root", root).finish().output(0);
}

Output allgather(const Scope& scope, const Output& x) {
  register_collective_ops();
  return NodeBuilder(scope, "MpiAllgather", "allgather").input(x).finish().output(0);
}

}  // namespace sluice::distributed
