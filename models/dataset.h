// A tf.data-style input pipeline for Model::fit / evaluate / predict: a source (in-memory
// tensors or a generator), then shuffle, map, batch and prefetch stages, each a value that
// makes a fresh iterator per epoch.
//
//   auto ds = models::Dataset::from_tensors({x}, {y})        // examples: rows of x and y
//                 .shuffle(60000, /*seed=*/7)                // reshuffled every epoch
//                 .batch(64)
//                 .map([](models::Element e) { ...; return e; })  // on each batch
//                 .prefetch(2);                              // a background thread
//   model.fit(ds, options);
//
// An Element holds one tensor per model input (x) and one per output (y); before batch()
// they are single examples (no batch dimension), after it batches [B, ...]. Stages are
// cheap to copy (they share the source's tensors and the user's functions).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "../runtime/tensor.h"

namespace sluice::models {

struct Element {
  std::vector<Tensor> x, y;
};

// One pass over a dataset. next() returns std::nullopt at the end of the pass.
class ElementIterator {
 public:
  virtual ~ElementIterator() = default;
  virtual std::optional<Element> next() = 0;
};

class Dataset {
 public:
  // Examples are the rows of x and y (every tensor [N, ...] with the same N; y may be empty
  // for predict). InvalidArgument for mismatched row counts or rank-0 tensors.
  static Dataset from_tensors(std::vector<Tensor> x, std::vector<Tensor> y = {});
  // A generator: `make` is called at the start of every pass and returns the function that
  // yields the pass's elements (std::nullopt ends the pass), as tf.data's from_generator.
  using Generator = std::function<std::optional<Element>()>;
  static Dataset from_generator(std::function<Generator()> make, int64_t cardinality = -1);

  // A buffer of `buffer_size` elements sampled uniformly (TensorFlow's shuffle; a buffer as
  // large as the dataset is a full uniform shuffle). Pass e uses a std::mt19937_64 seeded
  // from (seed, e) when reshuffle_each_iteration, else from seed alone: the orders are
  // reproducible. InvalidArgument for buffer_size < 1.
  Dataset shuffle(int64_t buffer_size, uint64_t seed = 0, bool reshuffle_each_iteration = true) const;
  // Groups consecutive elements into batches: each tensor stacked along a new dim 0. The
  // last batch may be smaller unless drop_remainder. InvalidArgument for batch_size < 1;
  // elements of different shapes or dtypes within a batch are InvalidArgument too.
  Dataset batch(int64_t batch_size, bool drop_remainder = false) const;
  // Applies fn to every element (on the prefetch thread when a prefetch follows).
  Dataset map(std::function<Element(Element)> fn) const;
  // The first n elements of each pass.
  Dataset take(int64_t n) const;
  // Prepares up to buffer_size elements ahead on a background thread, so the work of the
  // stages before it overlaps the consumer's (the training step). An exception thrown
  // upstream is rethrown by next(). The thread ends with the iterator.
  Dataset prefetch(int64_t buffer_size = 1) const;

  // A new pass (epoch numbers feed the shuffle seeds; passes are independent).
  std::unique_ptr<ElementIterator> iterate(int epoch = 0) const;
  // Elements per pass when known without iterating (tensor sources through shuffle, batch,
  // map, take, prefetch), else -1.
  int64_t cardinality() const { return cardinality_; }

  // The pipeline's stages (internal).
  struct Stage {
    virtual ~Stage() = default;
    virtual std::unique_ptr<ElementIterator> iterate(int epoch) const = 0;
  };

 private:
  Dataset(std::shared_ptr<const Stage> stage, int64_t cardinality)
      : stage_(std::move(stage)), cardinality_(cardinality) {}
  std::shared_ptr<const Stage> stage_;
  int64_t cardinality_ = -1;
};

}  // namespace sluice::models
