// Dataset stages: each makes a fresh ElementIterator per pass.
#include "dataset.h"

#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include "../io/idx.h"
#include "../runtime/error.h"

namespace sluice::models {

namespace {

using Stage = Dataset::Stage;

// ---- from_tensors ----

class TensorSource : public Stage {
 public:
  TensorSource(std::vector<Tensor> x, std::vector<Tensor> y, int64_t n)
      : x_(std::move(x)), y_(std::move(y)), n_(n) {}
  std::unique_ptr<ElementIterator> iterate(int) const override {
    struct It : ElementIterator {
      const TensorSource* src;
      int64_t i = 0;
      explicit It(const TensorSource* s) : src(s) {}
      std::optional<Element> next() override {
        if (i >= src->n_) return std::nullopt;
        Element e;
        for (const auto& t : src->x_) e.x.push_back(row(t, i));
        for (const auto& t : src->y_) e.y.push_back(row(t, i));
        ++i;
        return e;
      }
    };
    return std::make_unique<It>(this);
  }

 private:
  // Row i of t without the batch dimension.
  static Tensor row(const Tensor& t, int64_t i) {
    std::vector<int64_t> dims = t.shape().dims();
    dims.erase(dims.begin());
    return io::slice_rows(t, i, i + 1).reshaped(Shape(dims));
  }
  std::vector<Tensor> x_, y_;
  int64_t n_;
};

// ---- from_generator ----

class GeneratorSource : public Stage {
 public:
  explicit GeneratorSource(std::function<Dataset::Generator()> make) : make_(std::move(make)) {}
  std::unique_ptr<ElementIterator> iterate(int) const override {
    struct It : ElementIterator {
      Dataset::Generator gen;
      std::optional<Element> next() override { return gen(); }
    };
    auto it = std::make_unique<It>();
    it->gen = make_();
    SLUICE_REQUIRE(static_cast<bool>(it->gen), InvalidArgument,
                   "Dataset::from_generator: the factory returned an empty function");
    return it;
  }

 private:
  std::function<Dataset::Generator()> make_;
};

// ---- shuffle ----

class ShuffleStage : public Stage {
 public:
  ShuffleStage(std::shared_ptr<const Stage> up, int64_t buffer, uint64_t seed, bool reshuffle)
      : up_(std::move(up)), buffer_(buffer), seed_(seed), reshuffle_(reshuffle) {}
  std::unique_ptr<ElementIterator> iterate(int epoch) const override {
    struct It : ElementIterator {
      std::unique_ptr<ElementIterator> up;
      size_t cap;
      std::mt19937_64 rng;
      std::vector<Element> buf;
      bool exhausted = false;
      std::optional<Element> next() override {
        while (!exhausted && buf.size() < cap) {
          std::optional<Element> e = up->next();
          if (!e) exhausted = true;
          else buf.push_back(std::move(*e));
        }
        if (buf.empty()) return std::nullopt;
        std::uniform_int_distribution<size_t> pick(0, buf.size() - 1);
        std::swap(buf[pick(rng)], buf.back());
        Element e = std::move(buf.back());
        buf.pop_back();
        return e;
      }
    };
    auto it = std::make_unique<It>();
    it->up = up_->iterate(epoch);
    it->cap = static_cast<size_t>(buffer_);
    const uint32_t pass = reshuffle_ ? static_cast<uint32_t>(epoch) + 1 : 0;
    std::seed_seq seq{static_cast<uint32_t>(seed_), static_cast<uint32_t>(seed_ >> 32), pass};
    it->rng.seed(seq);
    return it;
  }

 private:
  std::shared_ptr<const Stage> up_;
  int64_t buffer_;
  uint64_t seed_;
  bool reshuffle_;
};

// ---- batch ----

// Stacks the i-th tensors of `parts` along a new dim 0.
Tensor stack(const std::vector<Tensor>& parts, const char* what, size_t i) {
  const Tensor& first = parts[0];
  for (const auto& p : parts)
    SLUICE_REQUIRE(p.dtype() == first.dtype() && p.shape() == first.shape(), InvalidArgument,
                   "Dataset::batch: ", what, " tensor ", i, " differs between elements: ",
                   first.summary(), " vs ", p.summary());
  std::vector<int64_t> dims = first.shape().dims();
  dims.insert(dims.begin(), static_cast<int64_t>(parts.size()));
  if (first.dtype() == DType::string) {
    std::vector<std::string> all;
    for (const auto& p : parts)
      for (int64_t k = 0; k < p.num_elements(); ++k) all.push_back(p.string_at(k));
    return Tensor::from_strings(all, Shape(dims));
  }
  Tensor out(first.dtype(), Shape(dims));
  char* dst = static_cast<char*>(out.raw_data());
  for (const auto& p : parts) {
    if (p.num_bytes()) std::memcpy(dst, p.raw_data(), p.num_bytes());
    dst += p.num_bytes();
  }
  return out;
}

class BatchStage : public Stage {
 public:
  BatchStage(std::shared_ptr<const Stage> up, int64_t size, bool drop)
      : up_(std::move(up)), size_(size), drop_(drop) {}
  std::unique_ptr<ElementIterator> iterate(int epoch) const override {
    struct It : ElementIterator {
      std::unique_ptr<ElementIterator> up;
      int64_t size;
      bool drop;
      std::optional<Element> next() override {
        std::vector<Element> group;
        while (static_cast<int64_t>(group.size()) < size) {
          std::optional<Element> e = up->next();
          if (!e) break;
          if (!group.empty())
            SLUICE_REQUIRE(e->x.size() == group[0].x.size() && e->y.size() == group[0].y.size(),
                           InvalidArgument, "Dataset::batch: elements with different tensor counts");
          group.push_back(std::move(*e));
        }
        if (group.empty() || (drop && static_cast<int64_t>(group.size()) < size)) return std::nullopt;
        Element out;
        std::vector<Tensor> parts(group.size());
        for (size_t i = 0; i < group[0].x.size(); ++i) {
          for (size_t k = 0; k < group.size(); ++k) parts[k] = group[k].x[i];
          out.x.push_back(stack(parts, "x", i));
        }
        for (size_t i = 0; i < group[0].y.size(); ++i) {
          for (size_t k = 0; k < group.size(); ++k) parts[k] = group[k].y[i];
          out.y.push_back(stack(parts, "y", i));
        }
        return out;
      }
    };
    auto it = std::make_unique<It>();
    it->up = up_->iterate(epoch);
    it->size = size_;
    it->drop = drop_;
    return it;
  }

 private:
  std::shared_ptr<const Stage> up_;
  int64_t size_;
  bool drop_;
};

// ---- map, take ----

class MapStage : public Stage {
 public:
  MapStage(std::shared_ptr<const Stage> up, std::function<Element(Element)> fn)
      : up_(std::move(up)), fn_(std::move(fn)) {}
  std::unique_ptr<ElementIterator> iterate(int epoch) const override {
    struct It : ElementIterator {
      std::unique_ptr<ElementIterator> up;
      const std::function<Element(Element)>* fn;
      std::optional<Element> next() override {
        std::optional<Element> e = up->next();
        if (!e) return std::nullopt;
        return (*fn)(std::move(*e));
      }
    };
    auto it = std::make_unique<It>();
    it->up = up_->iterate(epoch);
    it->fn = &fn_;
    return it;
  }

 private:
  std::shared_ptr<const Stage> up_;
  std::function<Element(Element)> fn_;
};

class TakeStage : public Stage {
 public:
  TakeStage(std::shared_ptr<const Stage> up, int64_t n) : up_(std::move(up)), n_(n) {}
  std::unique_ptr<ElementIterator> iterate(int epoch) const override {
    struct It : ElementIterator {
      std::unique_ptr<ElementIterator> up;
      int64_t left;
      std::optional<Element> next() override {
        if (left <= 0) return std::nullopt;
        --left;
        return up->next();
      }
    };
    auto it = std::make_unique<It>();
    it->up = up_->iterate(epoch);
    it->left = n_;
    return it;
  }

 private:
  std::shared_ptr<const Stage> up_;
  int64_t n_;
};

// ---- prefetch ----

// A producer thread runs the upstream iterator into a bounded queue. The consumer takes
// from the queue; the producer waits while the queue is full. The destructor asks the
// producer to stop and joins it (after the upstream call in flight returns).
class PrefetchIterator : public ElementIterator {
 public:
  PrefetchIterator(std::unique_ptr<ElementIterator> up, size_t capacity)
      : up_(std::move(up)), capacity_(capacity), thread_([this] { produce(); }) {}
  ~PrefetchIterator() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  std::optional<Element> next() override {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !queue_.empty() || done_; });
    if (!queue_.empty()) {
      Element e = std::move(queue_.front());
      queue_.pop_front();
      cv_.notify_all();
      return e;
    }
    if (error_) {
      std::exception_ptr e = error_;
      error_ = nullptr;
      std::rethrow_exception(e);
    }
    return std::nullopt;
  }

 private:
  void produce() {
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stop_ || queue_.size() < capacity_; });
        if (stop_) return;
      }
      std::optional<Element> e;
      try {
        e = up_->next();
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu_);
        error_ = std::current_exception();
        done_ = true;
        cv_.notify_all();
        return;
      }
      std::lock_guard<std::mutex> lock(mu_);
      if (!e) done_ = true;
      else queue_.push_back(std::move(*e));
      cv_.notify_all();
      if (done_) return;
    }
  }

  std::unique_ptr<ElementIterator> up_;
  size_t capacity_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Element> queue_;
  bool done_ = false, stop_ = false;
  std::exception_ptr error_;
  std::thread thread_;  // last: starts once the members above exist
};

class PrefetchStage : public Stage {
 public:
  PrefetchStage(std::shared_ptr<const Stage> up, int64_t n) : up_(std::move(up)), n_(n) {}
  std::unique_ptr<ElementIterator> iterate(int epoch) const override {
    return std::make_unique<PrefetchIterator>(up_->iterate(epoch), static_cast<size_t>(n_));
  }

 private:
  std::shared_ptr<const Stage> up_;
  int64_t n_;
};

}  // namespace

Dataset Dataset::from_tensors(std::vector<Tensor> x, std::vector<Tensor> y) {
  SLUICE_REQUIRE(!x.empty(), InvalidArgument, "Dataset::from_tensors: no x tensors given");
  int64_t n = -1;
  for (const std::vector<Tensor>* ts : {&x, &y})
    for (size_t i = 0; i < ts->size(); ++i) {
      const Tensor& t = (*ts)[i];
      SLUICE_REQUIRE(t.valid() && t.shape().rank() >= 1, InvalidArgument,
                     "Dataset::from_tensors: ", ts == &x ? "x" : "y", " tensor ", i,
                     " must be [N, ...], got ", t.valid() ? t.summary() : "an empty Tensor");
      if (n < 0) n = t.dim(0);
      SLUICE_REQUIRE(t.dim(0) == n, InvalidArgument, "Dataset::from_tensors: ",
                     ts == &x ? "x" : "y", " tensor ", i, " has ", t.dim(0), " rows, expected ", n);
    }
  return Dataset(std::make_shared<TensorSource>(std::move(x), std::move(y), n), n);
}

Dataset Dataset::from_generator(std::function<Generator()> make, int64_t cardinality) {
  SLUICE_REQUIRE(static_cast<bool>(make), InvalidArgument, "Dataset::from_generator: no factory given");
  return Dataset(std::make_shared<GeneratorSource>(std::move(make)), cardinality < 0 ? -1 : cardinality);
}

Dataset Dataset::shuffle(int64_t buffer_size, uint64_t seed, bool reshuffle_each_iteration) const {
  SLUICE_REQUIRE(buffer_size >= 1, InvalidArgument, "Dataset::shuffle: buffer_size must be >= 1, got ",
                 buffer_size);
  return Dataset(std::make_shared<ShuffleStage>(stage_, buffer_size, seed, reshuffle_each_iteration),
                 cardinality_);
}

Dataset Dataset::batch(int64_t batch_size, bool drop_remainder) const {
  SLUICE_REQUIRE(batch_size >= 1, InvalidArgument, "Dataset::batch: batch_size must be >= 1, got ",
                 batch_size);
  int64_t c = -1;
  if (cardinality_ >= 0)
    c = drop_remainder ? cardinality_ / batch_size : (cardinality_ + batch_size - 1) / batch_size;
  return Dataset(std::make_shared<BatchStage>(stage_, batch_size, drop_remainder), c);
}

Dataset Dataset::map(std::function<Element(Element)> fn) const {
  SLUICE_REQUIRE(static_cast<bool>(fn), InvalidArgument, "Dataset::map: empty function");
  return Dataset(std::make_shared<MapStage>(stage_, std::move(fn)), cardinality_);
}

Dataset Dataset::take(int64_t n) const {
  SLUICE_REQUIRE(n >= 0, InvalidArgument, "Dataset::take: n must be >= 0, got ", n);
  return Dataset(std::make_shared<TakeStage>(stage_, n),
                 cardinality_ >= 0 ? std::min(cardinality_, n) : -1);
}

Dataset Dataset::prefetch(int64_t buffer_size) const {
  SLUICE_REQUIRE(buffer_size >= 1, InvalidArgument, "Dataset::prefetch: buffer_size must be >= 1, got ",
                 buffer_size);
  return Dataset(std::make_shared<PrefetchStage>(stage_, buffer_size), cardinality_);
}

std::unique_ptr<ElementIterator> Dataset::iterate(int epoch) const { return stage_->iterate(epoch); }

}  // namespace sluice::models
