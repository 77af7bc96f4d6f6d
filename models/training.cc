// fit / evaluate / predict / train_on_batch / test_on_batch, and the host-side helpers
// that batch in-memory tensors.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

#include <optional>

#include "../io/idx.h"
#include "../ops/state_ops.h"
#include "callbacks.h"
#include "model_internal.h"

namespace sluice::models {

// ---- host helpers ----

int64_t rows_of(const std::vector<Tensor>& ts, const char* what) {
  SLUICE_REQUIRE(!ts.empty(), InvalidArgument, what, ": no tensors given");
  int64_t n = -1;
  for (size_t i = 0; i < ts.size(); ++i) {
    SLUICE_REQUIRE(ts[i].valid() && ts[i].shape().rank() >= 1, InvalidArgument, what, " ", i,
                   ": expected a tensor [N, ...], got ",
                   ts[i].valid() ? ts[i].summary() : "an empty Tensor");
    if (n < 0) n = ts[i].dim(0);
    SLUICE_REQUIRE(ts[i].dim(0) == n, InvalidArgument, what, ": tensor ", i, " has ",
                   ts[i].dim(0), " rows, tensor 0 has ", n);
  }
  return n;
}

std::vector<Tensor> take_rows(const std::vector<Tensor>& ts, const std::vector<int64_t>& order,
                              int64_t b, int64_t e) {
  std::vector<Tensor> r;
  for (const auto& t : ts)
    r.push_back(order.empty() ? io::slice_rows(t, b, e)
                              : io::gather_rows(t, order, static_cast<size_t>(b), static_cast<size_t>(e)));
  return r;
}

Tensor concat_rows(const std::vector<Tensor>& parts) {
  SLUICE_REQUIRE(!parts.empty(), InvalidArgument, "concat_rows: nothing to concatenate");
  std::vector<int64_t> dims = parts[0].shape().dims();
  int64_t n = 0;
  for (const auto& p : parts) {
    std::vector<int64_t> d = p.shape().dims();
    SLUICE_REQUIRE(p.dtype() == parts[0].dtype() && d.size() == dims.size() &&
                       std::equal(d.begin() + 1, d.end(), dims.begin() + 1),
                   InvalidArgument, "predict: batch outputs disagree: ", parts[0].summary(), " vs ",
                   p.summary());
    n += d[0];
  }
  dims[0] = n;
  Tensor out(parts[0].dtype(), Shape(dims));
  char* dst = static_cast<char*>(out.raw_data());
  for (const auto& p : parts) {
    if (p.num_bytes()) std::memcpy(dst, p.raw_data(), p.num_bytes());
    dst += p.num_bytes();
  }
  return out;
}

Tensor to_class_ids(const Tensor& t) {
  SLUICE_REQUIRE(t.shape().rank() == 1 || (t.shape().rank() == 2 && t.dim(1) == 1),
                 InvalidArgument, "sparse targets must be class ids [N] or [N, 1], got ",
                 t.summary());
  const int64_t n = t.dim(0);
  Tensor r(DType::i64, Shape{n});
  int64_t* d = r.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    switch (t.dtype()) {
      case DType::u8: d[i] = t.data<uint8_t>()[i]; break;
      case DType::i32: d[i] = t.data<int32_t>()[i]; break;
      case DType::i64: d[i] = t.data<int64_t>()[i]; break;
      case DType::f32: d[i] = static_cast<int64_t>(t.data<float>()[i]); break;
      default:
        throw InvalidArgument("sparse targets must be u8, i32, i64 or f32 class ids, got " +
                              t.summary());
    }
  }
  return r;
}

namespace {

// Running loss and metrics over the batches of an epoch (Keras' stateful metrics): the
// loss weighted by batch size, mean metrics as sums over examples, ratios as sums of counts.
struct Accumulator {
  std::vector<MetricDef> defs;
  double loss_sum = 0, rows = 0;
  std::vector<double> a, b;
  std::vector<std::vector<double>> tp, fp;  // auc: per-threshold counts
  explicit Accumulator(const std::vector<MetricDef>& d)
      : defs(d), a(d.size()), b(d.size()), tp(d.size()), fp(d.size()) {}
  static void add_vector(std::vector<double>& sum, const Tensor& t) {
    if (sum.empty()) sum.assign(static_cast<size_t>(t.num_elements()), 0.0);
    for (int64_t i = 0; i < t.num_elements(); ++i) sum[static_cast<size_t>(i)] += t.data<float>()[i];
  }
  void add(const std::vector<Tensor>& r, int64_t n) {  // r: loss, then each metric's a (b, c, d)
    loss_sum += static_cast<double>(r[0].scalar<float>()) * static_cast<double>(n);
    rows += static_cast<double>(n);
    size_t k = 1;
    for (size_t i = 0; i < defs.size(); ++i) {
      if (defs[i].kind == MetricDef::Kind::auc) {
        add_vector(tp[i], r[k++]);
        add_vector(fp[i], r[k++]);
        a[i] += r[k++].scalar<float>();  // positives
        b[i] += r[k++].scalar<float>();  // negatives
        continue;
      }
      a[i] += r[k++].scalar<float>();
      if (defs[i].kind == MetricDef::Kind::ratio) b[i] += r[k++].scalar<float>();
    }
  }
  Logs logs(const std::string& prefix = "") const {
    Logs l;
    l[prefix + "loss"] = rows > 0 ? loss_sum / rows : 0.0;
    for (size_t i = 0; i < defs.size(); ++i) {
      double v;
      if (defs[i].kind == MetricDef::Kind::mean) v = rows > 0 ? a[i] / rows : 0.0;
      else if (defs[i].kind == MetricDef::Kind::auc) v = auc_from_counts(tp[i], fp[i], a[i], b[i]);
      else v = a[i] + b[i] > 0 ? a[i] / (a[i] + b[i]) : 0.0;
      l[prefix + defs[i].name] = v;
    }
    return l;
  }
};

std::vector<Output> fetches_of(const Model::Compiled& c) {
  std::vector<Output> f = {c.total_loss};
  for (const auto& m : c.metrics) {
    f.push_back(m.a);
    if (m.kind != MetricDef::Kind::mean) f.push_back(m.b);
    if (m.kind == MetricDef::Kind::auc) {
      f.push_back(m.c);
      f.push_back(m.d);
    }
  }
  return f;
}

// The class of each example of a target batch (argmax of one-hot rows, rounded binaries).
int64_t class_of(const Tensor& y, int64_t i, bool sparse) {
  if (sparse) return y.data<int64_t>()[i];
  const int64_t width = y.shape().rank() >= 2 ? y.num_elements() / y.dim(0) : 1;
  SLUICE_REQUIRE(y.dtype() == DType::f32, InvalidArgument,
                 "class_weight needs f32 targets, got ", y.summary());
  const float* row = y.data<float>() + i * width;
  if (width == 1) return static_cast<int64_t>(std::lround(row[0]));
  return static_cast<int64_t>(std::max_element(row, row + width) - row);
}

// Keras projects constrained weights right after the optimizer's update.
void apply_constraints(const Model::Compiled& c, Session& session) {
  if (c.constraints_op.valid()) session.run({}, {}, {c.constraints_op});
}

}  // namespace

// The feeds of one batch (targets converted; sample weights from class weights or ones).
static FeedList batch_feeds(Model& m, const std::vector<Tensor>& x, const std::vector<Tensor>& y,
                            const std::map<int64_t, double>& class_weight, bool training) {
  Model::Compiled& c = ModelAccess::compiled(m);
  SLUICE_REQUIRE(x.size() == m.inputs().size(), InvalidArgument, "model '", m.name(), "' has ",
                 m.inputs().size(), " inputs, got ", x.size(), " tensors");
  SLUICE_REQUIRE(y.size() == m.outputs().size(), InvalidArgument, "model '", m.name(), "' has ",
                 m.outputs().size(), " outputs, got ", y.size(), " target tensors");
  FeedList feeds;
  for (size_t i = 0; i < x.size(); ++i) feeds.push_back({m.inputs()[i], x[i]});
  const int64_t n = x[0].dim(0);
  std::vector<Tensor> ys;
  for (size_t i = 0; i < y.size(); ++i) {
    ys.push_back(c.sparse ? to_class_ids(y[i]) : y[i]);
    feeds.push_back({c.targets[i], ys.back()});
  }
  Tensor w(DType::f32, Shape{n});
  float* wd = w.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    wd[i] = 1.0f;
    if (!class_weight.empty()) {
      auto it = class_weight.find(class_of(ys[0], i, c.sparse));
      if (it != class_weight.end()) wd[i] = static_cast<float>(it->second);
    }
  }
  feeds.push_back({c.sample_weight, w});
  if (training) feeds.push_back({learning_phase(m.graph()), Tensor(true)});
  return feeds;
}

Logs Model::train_on_batch(const std::vector<Tensor>& x, const std::vector<Tensor>& y,
                           const std::map<int64_t, double>& class_weight) {
  build_from_data(x);
  require_compiled("train_on_batch");
  const int64_t n = rows_of(x, "train_on_batch x");
  SLUICE_REQUIRE(rows_of(y, "train_on_batch y") == n, InvalidArgument,
                 "train_on_batch: x and y row counts differ");
  Accumulator acc(compiled_->metrics);
  acc.add(session_->run(batch_feeds(*this, x, y, class_weight, true), fetches_of(*compiled_),
                        {compiled_->train_op}),
          n);
  apply_constraints(*compiled_, *session_);
  return acc.logs();
}

Logs Model::test_on_batch(const std::vector<Tensor>& x, const std::vector<Tensor>& y) {
  require_compiled("test_on_batch");
  const int64_t n = rows_of(x, "test_on_batch x");
  SLUICE_REQUIRE(rows_of(y, "test_on_batch y") == n, InvalidArgument,
                 "test_on_batch: x and y row counts differ");
  Accumulator acc(compiled_->metrics);
  acc.add(session_->run(batch_feeds(*this, x, y, {}, false), fetches_of(*compiled_)), n);
  return acc.logs();
}

namespace {

Logs run_test(Model& m, const std::vector<Tensor>& x, const std::vector<Tensor>& y,
              int64_t batch_size, const std::vector<Callback*>& cbs, const std::string& prefix) {
  Model::Compiled& c = ModelAccess::compiled(m);
  const int64_t n = rows_of(x, "evaluate x");
  SLUICE_REQUIRE(rows_of(y, "evaluate y") == n, InvalidArgument,
                 "evaluate: x has ", n, " rows, y has ", y[0].dim(0));
  SLUICE_REQUIRE(batch_size > 0, InvalidArgument, "batch_size must be positive, got ", batch_size);
  for (auto* cb : cbs) cb->on_test_begin({});
  Accumulator acc(c.metrics);
  const std::vector<Output> fetches = fetches_of(c);
  for (int64_t b = 0, k = 0; b < n; b += batch_size, ++k) {
    const int64_t e = std::min(n, b + batch_size);
    for (auto* cb : cbs) cb->on_test_batch_begin(k, {});
    acc.add(m.session().run(batch_feeds(m, take_rows(x, {}, b, e), take_rows(y, {}, b, e), {}, false),
                            fetches),
            e - b);
    const Logs l = acc.logs();
    for (auto* cb : cbs) cb->on_test_batch_end(k, l);
  }
  const Logs l = acc.logs(prefix);
  for (auto* cb : cbs) cb->on_test_end(l);
  return l;
}

Logs run_test_dataset(Model& m, const Dataset& data, const std::vector<Callback*>& cbs,
                      const std::string& prefix) {
  Model::Compiled& c = ModelAccess::compiled(m);
  for (auto* cb : cbs) cb->on_test_begin({});
  Accumulator acc(c.metrics);
  const std::vector<Output> fetches = fetches_of(c);
  std::unique_ptr<ElementIterator> it = data.iterate(0);
  for (int64_t k = 0;; ++k) {
    std::optional<Element> e = it->next();
    if (!e) break;
    const int64_t n = rows_of(e->x, "evaluate x");
    SLUICE_REQUIRE(rows_of(e->y, "evaluate y") == n, InvalidArgument, "evaluate: batch ", k,
                   " has ", n, " x rows and ", e->y[0].dim(0), " y rows");
    for (auto* cb : cbs) cb->on_test_batch_begin(k, {});
    acc.add(m.session().run(batch_feeds(m, e->x, e->y, {}, false), fetches), n);
    const Logs l = acc.logs();
    for (auto* cb : cbs) cb->on_test_batch_end(k, l);
  }
  const Logs l = acc.logs(prefix);
  for (auto* cb : cbs) cb->on_test_end(l);
  return l;
}

std::vector<Callback*> raw(const std::vector<std::shared_ptr<Callback>>& cbs, Model* m) {
  std::vector<Callback*> r;
  for (const auto& c : cbs) {
    SLUICE_REQUIRE(c != nullptr, InvalidArgument, "null callback");
    c->set_model(m);
    r.push_back(c.get());
  }
  return r;
}

}  // namespace

Logs Model::evaluate(const std::vector<Tensor>& x, const std::vector<Tensor>& y,
                     const EvaluateOptions& options) {
  require_compiled("evaluate");
  return run_test(*this, x, y, options.batch_size, raw(options.callbacks, this), "");
}


std::vector<Tensor> Model::predict(const std::vector<Tensor>& x, int64_t batch_size,
                                   const std::vector<std::shared_ptr<Callback>>& callbacks) {
  build_from_data(x);
  SLUICE_REQUIRE(batch_size > 0, InvalidArgument, "batch_size must be positive, got ", batch_size);
  SLUICE_REQUIRE(x.size() == inputs_.size(), InvalidArgument, "model '", name_, "' has ",
                 inputs_.size(), " inputs, got ", x.size(), " tensors");
  const int64_t n = rows_of(x, "predict x");
  const std::vector<Callback*> cbs = raw(callbacks, this);
  for (auto* cb : cbs) cb->on_predict_begin({});
  std::vector<std::vector<Tensor>> parts(outputs_.size());
  for (int64_t b = 0, k = 0; b < n; b += batch_size, ++k) {
    const int64_t e = std::min(n, b + batch_size);
    for (auto* cb : cbs) cb->on_predict_batch_begin(k, {});
    const std::vector<Tensor> xb = take_rows(x, {}, b, e);
    FeedList feeds;
    for (size_t i = 0; i < xb.size(); ++i) feeds.push_back({inputs_[i], xb[i]});
    const std::vector<Tensor> r = session_->run(feeds, outputs_);
    for (size_t i = 0; i < r.size(); ++i) parts[i].push_back(r[i]);
    for (auto* cb : cbs) cb->on_predict_batch_end(k, {});
  }
  std::vector<Tensor> out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].empty()) {  // no rows: an empty batch through the graph gives the shape
      FeedList feeds;
      for (size_t j = 0; j < x.size(); ++j) feeds.push_back({inputs_[j], x[j]});
      out.push_back(session_->run(feeds, {outputs_[i]})[0]);
    } else {
      out.push_back(concat_rows(parts[i]));
    }
  }
  for (auto* cb : cbs) cb->on_predict_end({});
  return out;
}



namespace {

// Where fit() takes its training batches from: in-memory tensors (the seeded index shuffle)
// or a Dataset pass per epoch.
class BatchSource {
 public:
  virtual ~BatchSource() = default;
  virtual void start_epoch(int epoch) = 0;
  virtual std::optional<Element> next() = 0;
  virtual int64_t steps() const = 0;  // per epoch, -1 unknown
};

class TensorBatches : public BatchSource {
 public:
  TensorBatches(std::vector<Tensor> x, std::vector<Tensor> y, const FitOptions& opt)
      : x_(std::move(x)), y_(std::move(y)), batch_(opt.batch_size), shuffle_(opt.shuffle),
        n_(x_[0].dim(0)), order_(static_cast<size_t>(n_)), rng_(opt.seed) {
    std::iota(order_.begin(), order_.end(), 0);
    if (shuffle_)  // replay the orders of the epochs before initial_epoch
      for (int e = 0; e < opt.initial_epoch; ++e) std::shuffle(order_.begin(), order_.end(), rng_);
  }
  void start_epoch(int) override {
    if (shuffle_) std::shuffle(order_.begin(), order_.end(), rng_);
    next_ = 0;
  }
  std::optional<Element> next() override {
    if (next_ >= n_) return std::nullopt;
    const int64_t b = next_, e = std::min(n_, b + batch_);
    next_ = e;
    static const std::vector<int64_t> kInOrder;
    const std::vector<int64_t>& ord = shuffle_ ? order_ : kInOrder;
    return Element{take_rows(x_, ord, b, e), take_rows(y_, ord, b, e)};
  }
  int64_t steps() const override { return (n_ + batch_ - 1) / batch_; }

 private:
  std::vector<Tensor> x_, y_;
  int64_t batch_;
  bool shuffle_;
  int64_t n_, next_ = 0;
  std::vector<int64_t> order_;
  std::mt19937_64 rng_;
};

class DatasetBatches : public BatchSource {
 public:
  explicit DatasetBatches(const Dataset& d) : data_(d) {}
  void start_epoch(int epoch) override {
    it_.reset();  // ends the previous pass (and its prefetch thread) first
    it_ = data_.iterate(epoch);
  }
  std::optional<Element> next() override { return it_->next(); }
  int64_t steps() const override { return data_.cardinality(); }

 private:
  Dataset data_;
  std::unique_ptr<ElementIterator> it_;
};

// Validation after each epoch: tensors or a Dataset.
struct Validation {
  ValidationData tensors;
  std::optional<Dataset> dataset;
  bool empty() const { return tensors.empty() && !dataset; }
};

History fit_loop(Model& m, BatchSource& src, const FitOptions& opt, const Validation& val) {
  Model::Compiled& c = ModelAccess::compiled(m);
  // Keras' CallbackList: the progress bar first, the user's callbacks, History last.
  auto history = std::make_shared<History>();
  std::vector<std::shared_ptr<Callback>> all;
  if (opt.verbose != 0)
    all.push_back(std::make_shared<ProgbarLogger>(opt.verbose, opt.epochs, src.steps(), opt.batch_size));
  all.insert(all.end(), opt.callbacks.begin(), opt.callbacks.end());
  if (!opt.log.empty()) all.push_back(std::make_shared<JsonLogger>(opt.log, opt.initial_epoch > 0));
  all.push_back(history);
  const std::vector<Callback*> cbs = raw(all, &m);

  const std::vector<Output> fetches = fetches_of(c);
  m.stop_training = false;
  for (auto* cb : cbs) cb->on_train_begin({});
  Logs epoch_logs;
  for (int epoch = opt.initial_epoch; epoch < opt.epochs && !m.stop_training; ++epoch) {
    src.start_epoch(epoch);
    for (auto* cb : cbs) cb->on_epoch_begin(epoch, {});
    Accumulator acc(c.metrics);
    for (int64_t s = 0; !m.stop_training; ++s) {
      std::optional<Element> batch = src.next();
      if (!batch) break;
      const int64_t rows = rows_of(batch->x, "fit x");
      SLUICE_REQUIRE(rows_of(batch->y, "fit y") == rows, InvalidArgument, "fit: batch ", s,
                     " has ", rows, " x rows and ", batch->y[0].dim(0), " y rows");
      Logs bl = {{"batch", static_cast<double>(s)}, {"size", static_cast<double>(rows)}};
      for (auto* cb : cbs) cb->on_train_batch_begin(s, bl);
      acc.add(m.session().run(batch_feeds(m, batch->x, batch->y, opt.class_weight, true), fetches,
                              {c.train_op}),
              rows);
      apply_constraints(c, m.session());
      const Logs l = acc.logs();
      for (auto* cb : cbs) cb->on_train_batch_end(s, l);
    }
    epoch_logs = acc.logs();
    if (!val.empty()) {
      const Logs vl = val.dataset ? run_test_dataset(m, *val.dataset, cbs, "val_")
                                  : run_test(m, val.tensors.x, val.tensors.y, opt.batch_size, cbs, "val_");
      epoch_logs.insert(vl.begin(), vl.end());
    }
    for (auto* cb : cbs) cb->on_epoch_end(epoch, epoch_logs);
  }
  for (auto* cb : cbs) cb->on_train_end(epoch_logs);
  for (auto* cb : cbs) cb->set_model(nullptr);
  History h = *history;
  return h;
}

void check_fit_options(const FitOptions& opt) {
  SLUICE_REQUIRE(opt.batch_size > 0, InvalidArgument, "fit: batch_size must be positive, got ",
                 opt.batch_size);
  SLUICE_REQUIRE(opt.epochs >= 0 && opt.initial_epoch >= 0, InvalidArgument,
                 "fit: epochs and initial_epoch must not be negative");
  SLUICE_REQUIRE(opt.validation_split >= 0 && opt.validation_split < 1, InvalidArgument,
                 "fit: validation_split must be in [0, 1), got ", opt.validation_split);
}

}  // namespace

History Model::fit(const std::vector<Tensor>& x_all, const std::vector<Tensor>& y_all,
                   const FitOptions& opt) {
  build_from_data(x_all);
  require_compiled("fit");
  check_fit_options(opt);
  const int64_t total = rows_of(x_all, "fit x");
  SLUICE_REQUIRE(rows_of(y_all, "fit y") == total, InvalidArgument, "fit: x has ", total,
                 " rows, y has ", y_all[0].dim(0));
  std::vector<Tensor> x = x_all, y = y_all;
  Validation val;
  val.tensors = opt.validation_data;
  val.dataset = opt.validation_dataset;
  if (val.empty() && opt.validation_split > 0) {
    const int64_t n_val = static_cast<int64_t>(static_cast<double>(total) * opt.validation_split);
    const int64_t n_train = total - n_val;
    SLUICE_REQUIRE(n_val > 0 && n_train > 0, InvalidArgument, "fit: validation_split ",
                   opt.validation_split, " of ", total, " examples leaves an empty set");
    val.tensors = ValidationData(take_rows(x_all, {}, n_train, total), take_rows(y_all, {}, n_train, total));
    x = take_rows(x_all, {}, 0, n_train);
    y = take_rows(y_all, {}, 0, n_train);
  }
  TensorBatches src(std::move(x), std::move(y), opt);
  return fit_loop(*this, src, opt, val);
}

History Model::fit(const Dataset& data, const FitOptions& opt) {
  check_fit_options(opt);
  SLUICE_REQUIRE(opt.validation_split == 0, InvalidArgument,
                 "fit: validation_split is not supported with a Dataset (as in Keras): pass "
                 "validation_data or validation_dataset");
  if (!built_) {  // Sequential: build from the first element's shapes
    std::unique_ptr<ElementIterator> it = data.iterate(opt.initial_epoch);
    std::optional<Element> first = it->next();
    SLUICE_REQUIRE(first.has_value(), InvalidArgument, "fit: the dataset is empty");
    build_from_data(first->x);
  }
  require_compiled("fit");
  Validation val;
  val.tensors = opt.validation_data;
  val.dataset = opt.validation_dataset;
  DatasetBatches src(data);
  return fit_loop(*this, src, opt, val);
}

Logs Model::evaluate(const Dataset& data, const EvaluateOptions& options) {
  require_compiled("evaluate");
  return run_test_dataset(*this, data, raw(options.callbacks, this), "");
}

std::vector<Tensor> Model::predict(const Dataset& data) {
  std::unique_ptr<ElementIterator> it = data.iterate(0);
  std::vector<std::vector<Tensor>> parts(outputs_.size());
  while (std::optional<Element> e = it->next()) {
    build_from_data(e->x);
    SLUICE_REQUIRE(e->x.size() == inputs_.size(), InvalidArgument, "model '", name_, "' has ",
                   inputs_.size(), " inputs, the dataset gives ", e->x.size(), " tensors");
    FeedList feeds;
    for (size_t i = 0; i < e->x.size(); ++i) feeds.push_back({inputs_[i], e->x[i]});
    const std::vector<Tensor> r = session_->run(feeds, outputs_);
    for (size_t i = 0; i < r.size(); ++i) parts[i].push_back(r[i]);
  }
  SLUICE_REQUIRE(!parts.empty() && !parts[0].empty(), InvalidArgument, "predict: the dataset is empty");
  std::vector<Tensor> out;
  for (const auto& p : parts) out.push_back(concat_rows(p));
  return out;
}

}  // namespace sluice::models
