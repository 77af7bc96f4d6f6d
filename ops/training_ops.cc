// Optimizer update ops: declaration, shape check and kernel of each.
#include "training_ops.h"

#include <cmath>
#include <mutex>
#include <vector>

#include "kernel_util.h"

namespace sluice {

using namespace kernels;  // NOLINT(google-build-using-namespace): kernel helpers

namespace {

// Checks: every ref input is a float variable of one dtype and shape, every scalar input
// is a scalar of that dtype, the gradient (last input) matches the variable.
void apply_shape(ShapeContext& ctx) {
  const Node& n = ctx.node();
  const DType dt = ctx.input_dtype(0);
  const Shape& shape = ctx.input_shape(0);
  SLUICE_REQUIRE(is_floating(dt), InvalidArgument, "optimizer variables must be float, got ",
                 dtype_name(dt));
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    SLUICE_REQUIRE(ctx.input_dtype(i) == dt, InvalidArgument, "input ", i, " ('",
                   n.inputs[i].name(), "') has dtype ", dtype_name(ctx.input_dtype(i)),
                   ", the variable has ", dtype_name(dt));
    const bool per_element = n.def->is_ref_input(i) || i == ctx.num_inputs() - 1;
    const Shape& s = ctx.input_shape(i);
    if (per_element) {
      SLUICE_REQUIRE(s.compatible_with(shape), InvalidArgument, "input ", i, " ('",
                     n.inputs[i].name(), "') has shape ", s.to_string(), ", the variable ",
                     shape.to_string());
    } else {
      SLUICE_REQUIRE(!s.known_rank() || s.rank() == 0, InvalidArgument, "input ", i, " ('",
                     n.inputs[i].name(), "') must be a scalar, got ", s.to_string());
    }
  }
}

// Locks every ref variable (in input order: optimizers always list a variable before its
// slots, so two updates never lock in opposite orders), makes each writable, and calls
// f(T* vars[], const T* grad, n, scalar(i)).
template <class F>
void with_variables(KernelContext& ctx, int num_refs, F&& f) {
  std::vector<std::unique_lock<std::mutex>> locks;
  std::vector<Tensor*> vars;
  for (int i = 0; i < num_refs; ++i) {
    VariableSlot& v = ctx.variable(i);
    locks.emplace_back(v.mu);
    SLUICE_REQUIRE(v.initialized, FailedPrecondition, "Attempting to use uninitialized value ",
                   v.node->name);
    if (v.value.use_count() > 1) v.value = v.value.clone();  // never write a shared buffer
    vars.push_back(&v.value);
  }
  const Tensor& grad = ctx.input(ctx.num_inputs() - 1);
  SLUICE_REQUIRE(grad.shape() == vars[0]->shape(), InvalidArgument, "gradient of shape ",
                 grad.shape().to_string(), " for variable '", ctx.variable(0).node->name,
                 "' of shape ", vars[0]->shape().to_string());
  dispatch<SLUICE_FLOAT_TYPES>(grad.dtype(), ctx.node().op_type().c_str(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    std::vector<T*> p;
    for (Tensor* t : vars) p.push_back(t->data<T>());
    auto scalar = [&](int i) { return ctx.input(i).template scalar<T>(); };
    f(p.data(), grad.data<T>(), grad.num_elements(), scalar);
  });
}

// The update loops take __restrict pointers: a variable and its slots are distinct
// buffers, and telling the compiler so lets it vectorize (sqrt and division included).

template <class T>
void sgd_update(T* __restrict w, const T* __restrict g, T lr, int64_t b, int64_t e) {
  for (int64_t i = b; i < e; ++i) w[i] -= lr * g[i];
}

void apply_gradient_descent_kernel(KernelContext& ctx) {
  with_variables(ctx, 1, [&](auto* v, const auto* g, int64_t n, auto scalar) {
    const auto lr = scalar(1);
    parallel_range(ctx.pool(), n, kElementwiseGrain, [&](int64_t b, int64_t e) { sgd_update(v[0], g, lr, b, e); });
  });
}

template <class T>
void momentum_update(T* __restrict w, T* __restrict acc, const T* __restrict g, T lr, T mom,
                     bool nesterov, int64_t b, int64_t e) {
  if (nesterov) {
    for (int64_t i = b; i < e; ++i) {
      acc[i] = acc[i] * mom + g[i];
      w[i] -= lr * (g[i] + mom * acc[i]);
    }
  } else {
    for (int64_t i = b; i < e; ++i) {
      acc[i] = acc[i] * mom + g[i];
      w[i] -= lr * acc[i];
    }
  }
}

void apply_momentum_kernel(KernelContext& ctx) {
  const bool nesterov = ctx.attr<bool>("use_nesterov");
  with_variables(ctx, 2, [&](auto* v, const auto* g, int64_t n, auto scalar) {
    const auto lr = scalar(2), mom = scalar(3);
    parallel_range(ctx.pool(), n, kElementwiseGrain, [&](int64_t b, int64_t e) {
      momentum_update(v[0], v[1], g, lr, mom, nesterov, b, e);
    });
  });
}

template <class T>
void adam_update(T* __restrict w, T* __restrict m, T* __restrict s, const T* __restrict g, T lr_t,
                 T b1, T b2, T eps, int64_t b, int64_t e) {
  for (int64_t i = b; i < e; ++i) {
    m[i] += (g[i] - m[i]) * (T(1) - b1);
    s[i] += (g[i] * g[i] - s[i]) * (T(1) - b2);
    w[i] -= lr_t * m[i] / (std::sqrt(s[i]) + eps);
  }
}

void apply_adam_kernel(KernelContext& ctx) {
  with_variables(ctx, 3, [&](auto* v, const auto* g, int64_t n, auto scalar) {
    using T = std::remove_pointer_t<std::remove_pointer_t<decltype(v)>>;
    const T b1p = scalar(3), b2p = scalar(4), lr = scalar(5), b1 = scalar(6), b2 = scalar(7),
            eps = scalar(8);
    const T lr_t = lr * std::sqrt(T(1) - b2p) / (T(1) - b1p);
    parallel_range(ctx.pool(), n, kElementwiseGrain, [&](int64_t b, int64_t e) {
      adam_update(v[0], v[1], v[2], g, lr_t, b1, b2, eps, b, e);
    });
  });
}

template <class T>
void rms_prop_update(T* __restrict w, T* __restrict ms, T* __restrict mom, const T* __restrict g,
                     T lr, T rho, T momentum, T eps, int64_t b, int64_t e) {
  for (int64_t i = b; i < e; ++i) {
    ms[i] += (g[i] * g[i] - ms[i]) * (T(1) - rho);
    mom[i] = mom[i] * momentum + lr * g[i] / std::sqrt(ms[i] + eps);
    w[i] -= mom[i];
  }
}

void apply_rms_prop_kernel(KernelContext& ctx) {
  with_variables(ctx, 3, [&](auto* v, const auto* g, int64_t n, auto scalar) {
    using T = std::remove_pointer_t<std::remove_pointer_t<decltype(v)>>;
    const T lr = scalar(3), rho = scalar(4), momentum = scalar(5), eps = scalar(6);
    parallel_range(ctx.pool(), n, kElementwiseGrain, [&](int64_t b, int64_t e) {
      rms_prop_update(v[0], v[1], v[2], g, lr, rho, momentum, eps, b, e);
    });
  });
}

}  // namespace

void register_training_ops(OpRegistry& r) {
  r.op("ApplyGradientDescent").ref_input("var").input("alpha").input("delta")
      .shape_fn(apply_shape).kernel(apply_gradient_descent_kernel).not_differentiable();
  r.op("ApplyMomentum").ref_input("var").ref_input("accum").input("lr").input("momentum").input("grad").attr("use_nesterov", false)
      .shape_fn(apply_shape).kernel(apply_momentum_kernel).not_differentiable();
  r.op("ApplyAdam").ref_input("var").ref_input("m").ref_input("v").input("beta1_power")
      .input("beta2_power").input("lr").input("beta1").input("beta2").input("epsilon").input("grad")
      .shape_fn(apply_shape).kernel(apply_adam_kernel).not_differentiable();
  r.op("ApplyRMSProp").ref_input("var").ref_input("ms").ref_input("mom").input("lr").input("rho")
      .input("momentum").input("epsilon").input("grad")
      .shape_fn(apply_shape).kernel(apply_rms_prop_kernel).not_differentiable();
}

namespace ops {

Operation apply_gradient_descent(const Scope& s, const Output& var, const Output& lr, const Output& grad) {
  return NodeBuilder(s, "ApplyGradientDescent").input(var).input(lr).input(grad).finish();
}

Operation apply_momentum(const Scope& s, const Output& var, const Output& accum, const Output& lr,
                         const Output& grad, const Output& momentum, bool use_nesterov) {
  return NodeBuilder(s, "ApplyMomentum").input(var).input(accum).input(lr).input(momentum)
      .input(grad).attr("use_nesterov", use_nesterov).finish();
}

Operation apply_adam(const Scope& s, const Output& var, const Output& m, const Output& v,
                     const Output& beta1_power, const Output& beta2_power, const Output& lr,
                     const Output& beta1, const Output& beta2, const Output& epsilon,
                     const Output& grad) {
  return NodeBuilder(s, "ApplyAdam").input(var).input(m).input(v).input(beta1_power)
      .input(beta2_power).input(lr).input(beta1).input(beta2).input(epsilon).input(grad).finish();
}

Operation apply_rms_prop(const Scope& s, const Output& var, const Output& ms, const Output& mom,
                         const Output& lr, const Output& rho, const Output& momentum,
                         const Output& epsilon, const Output& grad) {
  return NodeBuilder(s, "ApplyRMSProp").input(var).input(ms).input(mom).input(lr).input(rho)
      .input(momentum).input(epsilon).input(grad).finish();
}

}  // namespace ops
}  // namespace sluice
