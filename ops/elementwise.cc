#include "elementwise.h"

namespace sluice::kernels {

void float_unary_shape(ShapeContext& ctx) {
  require_float(ctx, 0);
  unchanged_shape(ctx);
}

void numeric_unary_shape(ShapeContext& ctx) {
  const DType t = ctx.input_dtype(0);
  SLUICE_REQUIRE(is_floating(t) || is_integer(t), InvalidArgument, "input must be numeric, got ",
                 dtype_name(t));
  unchanged_shape(ctx);
}

void broadcast_binary_shape(ShapeContext& ctx, DType out) {
  require_same_dtype(ctx, 0, 1);
  ctx.add_output(out, broadcast_shapes(ctx.input_shape(0), ctx.input_shape(1)));
}

void same_shape_inputs(ShapeContext& ctx) {
  Shape s = ctx.input_shape(0);
  for (int i = 1; i < ctx.num_inputs(); ++i) {
    require_same_dtype(ctx, 0, i);
    SLUICE_REQUIRE(s.compatible_with(ctx.input_shape(i)), InvalidArgument, "input 0 has shape ",
                   s.to_string(), " but input ", i, " has shape ", ctx.input_shape(i).to_string());
    s = s.merge(ctx.input_shape(i));
  }
  ctx.add_output(ctx.input_dtype(0), s);
}

}  // namespace sluice::kernels
