// libFuzzer target: builds a random small graph of registered ops - random inputs (dtypes,
// ranks 0-5, dims 0-10 including zero) and random attribute values (negative, zero and huge
// ints; NaN and infinite floats; wrong kinds) - runs it, and sometimes differentiates it.
// Every failure must be a typed sluice::Error: anything else (another exception, a crash,
// a sanitizer report) is a bug.
#include <fuzzer/FuzzedDataProvider.h>
#include <sluice/sluice.h>

#include <cmath>
#include <limits>

using namespace sluice;

namespace {

int64_t fuzz_int(FuzzedDataProvider& p) {
  static const int64_t kValues[] = {0, 1, 2, 3, -1, -2, -3, 4, 5, 7, 10, 100, 1 << 20, int64_t{1} << 40,
                                    int64_t{1} << 62, std::numeric_limits<int64_t>::max(),
                                    std::numeric_limits<int64_t>::min(), -1000};
  return p.ConsumeBool() ? p.PickValueInArray(kValues) : p.ConsumeIntegralInRange<int64_t>(-4, 12);
}

double fuzz_double(FuzzedDataProvider& p) {
  static const double kValues[] = {0.0, 0.5, 1.0, -1.0, 2.0, 0.999, 1e-3, 1e300, -1e300,
                                   std::numeric_limits<double>::quiet_NaN(),
                                   std::numeric_limits<double>::infinity()};
  return p.PickValueInArray(kValues);
}

Shape fuzz_shape(FuzzedDataProvider& p, bool allow_unknown) {
  const int rank = p.ConsumeIntegralInRange(allow_unknown ? -1 : 0, 5);
  if (rank < 0) return Shape::unknown_rank();
  std::vector<int64_t> dims;
  for (int i = 0; i < rank; ++i) dims.push_back(p.ConsumeIntegralInRange<int64_t>(allow_unknown ? -1 : 0, 10));
  return Shape(dims);
}

DType fuzz_dtype(FuzzedDataProvider& p) { return static_cast<DType>(p.ConsumeIntegralInRange(0, kNumDTypes - 1)); }

Tensor fuzz_tensor(FuzzedDataProvider& p) {
  Shape shape = fuzz_shape(p, false);
  while (shape.num_elements() > 512) shape = Shape{p.ConsumeIntegralInRange<int64_t>(0, 8)};
  Tensor t(fuzz_dtype(p), shape);
  if (t.dtype() == DType::string) {
    for (int64_t i = 0; i < t.num_elements(); ++i) t.data<std::string>()[i] = p.ConsumeRandomLengthString(6);
    return t;
  }
  dispatch<SLUICE_ALL_TYPES>(t.dtype(), "fuzz", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* d = t.data<T>();
    for (int64_t i = 0; i < t.num_elements(); ++i) {
      if constexpr (std::is_same_v<T, bool>) {
        d[i] = p.ConsumeBool();
      } else if constexpr (std::is_floating_point_v<T>) {
        d[i] = p.ConsumeBool() ? static_cast<T>(p.ConsumeIntegralInRange(-3, 3)) : static_cast<T>(fuzz_double(p));
      } else {
        d[i] = static_cast<T>(p.ConsumeIntegralInRange<int64_t>(-3, 12));
      }
    }
  });
  return t;
}

std::vector<int64_t> fuzz_ints(FuzzedDataProvider& p) {
  std::vector<int64_t> v(p.ConsumeIntegralInRange(0, 5));
  for (auto& x : v) x = fuzz_int(p);
  return v;
}

// A value of the same kind as `like` (usually), or of any kind.
AttrValue fuzz_attr(FuzzedDataProvider& p, const AttrValue* like) {
  const size_t kind = like && p.ConsumeIntegralInRange(0, 9) ? like->value().index()
                                                             : p.ConsumeIntegralInRange<size_t>(0, 9);
  switch (kind) {
    case 0: return AttrValue(fuzz_int(p));
    case 1: return AttrValue(fuzz_double(p));
    case 2: return AttrValue(p.ConsumeBool());
    case 3: return AttrValue(p.ConsumeRandomLengthString(8));
    case 4: return AttrValue(fuzz_dtype(p));
    case 5: return AttrValue(fuzz_shape(p, true));
    case 6: return AttrValue(fuzz_ints(p));
    case 7: return AttrValue(std::vector<double>{fuzz_double(p)});
    case 8: return AttrValue(std::vector<std::string>{p.ConsumeRandomLengthString(4)});
    default: return AttrValue(fuzz_tensor(p));
  }
}

void run_one(FuzzedDataProvider& p) {
  Graph g;
  g.set_random_seed(p.ConsumeIntegral<int32_t>());
  Scope root(g);
  std::vector<Output> values;
  const int n_inputs = p.ConsumeIntegralInRange(1, 4);
  for (int i = 0; i < n_inputs; ++i) values.push_back(ops::constant(root, fuzz_tensor(p)));
  if (p.ConsumeBool()) values.push_back(learning_phase(g));

  const std::vector<const OpDef*> all = OpRegistry::global().all();
  std::vector<Output> fetches;
  const int n_ops = p.ConsumeIntegralInRange(1, 6);
  for (int k = 0; k < n_ops && p.remaining_bytes() > 0; ++k) {
    const OpDef* def = all[p.ConsumeIntegralInRange<size_t>(0, all.size() - 1)];
    NodeBuilder b(root, def->name);
    const int fixed = static_cast<int>(def->input_names.size()) - (def->variadic ? 1 : 0);
    const int n = fixed + (def->variadic ? p.ConsumeIntegralInRange(0, 4) : 0);
    for (int i = 0; i < n; ++i) b.input(values[p.ConsumeIntegralInRange<size_t>(0, values.size() - 1)]);
    for (const auto& [name, def_value] : def->attr_defaults)
      if (p.ConsumeBool()) b.attr(name, fuzz_attr(p, &def_value));
    for (const auto& name : def->required_attrs) b.attr(name, fuzz_attr(p, nullptr));
    try {
      const Operation op = b.finish();
      for (int j = 0; j < op.num_outputs(); ++j) {
        values.push_back(op.output(j));
        fetches.push_back(op.output(j));
      }
      if (op.num_outputs() == 0) fetches.push_back(Output());  // placeholder for targets
    } catch (const Error&) {
    }
  }
  // Sometimes differentiate a float output with respect to a float value.
  if (p.ConsumeBool()) {
    std::vector<Output> floats;
    for (const Output& v : values)
      if (is_floating(v.dtype())) floats.push_back(v);
    if (floats.size() >= 2) {
      try {
        const Output y = floats[p.ConsumeIntegralInRange<size_t>(0, floats.size() - 1)];
        const Output x = floats[p.ConsumeIntegralInRange<size_t>(0, floats.size() - 1)];
        for (const Output& gx : gradients(root, {ops::sum(root, y)}, {x}))
          if (gx.valid()) fetches.push_back(gx);
      } catch (const Error&) {
      }
    }
  }
  Session sess(g, SessionOptions{p.ConsumeBool() ? 1 : 2});
  for (const Output& f : fetches) {
    if (!f.valid()) continue;
    try {
      if (p.ConsumeBool()) {
        sess.run({{learning_phase(g), Tensor(true)}}, {f});
      } else {
        sess.run({}, {f});
      }
    } catch (const Error&) {
    }
  }
  try {
    sess.run({}, {}, {ops::global_variables_initializer(root)});
  } catch (const Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool configured = [] {
    set_max_allocation_bytes(size_t{64} << 20);  // an absurd shape is ResourceExhausted, not OOM
    return true;
  }();
  (void)configured;
  FuzzedDataProvider p(data, size);
  try {
    run_one(p);
  } catch (const Error&) {
    // Typed errors are the expected outcome of nonsense graphs.
  }
  return 0;
}
