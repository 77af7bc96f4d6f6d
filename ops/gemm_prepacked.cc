#include "gemm_prepacked.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <tuple>

#include "../runtime/error.h"
#include "kernel_util.h"

namespace sluice::gemm {

namespace {

// Entries are per (consumer node, input, layout): a node sees one weight buffer run after
// run. A different buffer for the same key means either a Const node recreated at a
// recycled address (take the new one) or a variable that is being written (training):
// after kMaxChanges such changes the key is marked volatile and goes back to the BLAS path,
// so training does not pay a packing and a copy-on-write clone per step.
constexpr int kMaxChanges = 2;
// Volatile markers and entries of dead weights are small; past this many keys the dead
// ones are dropped wholesale (a marker lost only costs a repack).
constexpr size_t kMaxKeys = 8192;

struct Key {
  const Node* node;
  int input;
  int kind;  // packed_weights: 0, or 1 when transposed; other derived values: their own
  int64_t k, n;
  DType dtype;
  bool operator<(const Key& o) const {
    return std::tie(node, input, kind, k, n, dtype) < std::tie(o.node, o.input, o.kind, o.k, o.n, o.dtype);
  }
};

struct Entry {
  Tensor source;                       // held, so its buffer cannot change or be reused
  std::shared_ptr<const void> packed;  // a PackedMatrix<T>, or another derived value
  int64_t bytes = 0;
  int changes = 0;
  bool from_variable = false;
  bool is_volatile = false;
};

struct Cache {
  std::mutex mu;
  std::map<Key, Entry> entries;
};

Cache& cache() {
  static Cache* c = new Cache();  // never destroyed: kernels may run during static teardown
  return *c;
}

// Caller holds the lock. An entry's weights are dead when only the cache still holds their
// buffer (several entries may hold one buffer: a variable initialized from a Const, one
// weight read by two nodes).
void sweep_locked(Cache& c) {
  std::map<const void*, int> holders;
  for (const auto& kv : c.entries)
    if (kv.second.source.valid()) ++holders[kv.second.source.raw_data()];
  const bool prune_markers = c.entries.size() > kMaxKeys;
  for (auto it = c.entries.begin(); it != c.entries.end();) {
    const Entry& e = it->second;
    const bool dead = e.source.valid() && e.source.use_count() <= holders[e.source.raw_data()];
    if ((dead && !e.is_volatile) || (prune_markers && e.is_volatile)) {
      it = c.entries.erase(it);
    } else {
      ++it;
    }
  }
}

const Node* producer_through_identity(const Node& node, int input) {
  if (input < 0 || input >= static_cast<int>(node.inputs.size())) return nullptr;
  const Node* p = node.inputs[input].node();
  for (int hops = 0; p && p->op_type() == "Identity" && hops < 8; ++hops)
    p = p->inputs.empty() ? nullptr : p->inputs[0].node();
  return p;
}

}  // namespace

bool is_persistent_input(const Node& node, int input) {
  const Node* p = producer_through_identity(node, input);
  return p && (p->op_type() == "Const" || p->op_type() == "VariableV2");
}

std::shared_ptr<const void> cached_weights(const Node& node, int input, const Tensor& b, int kind, int64_t k,
                                           int64_t n, int64_t bytes,
                                           const std::function<std::shared_ptr<const void>()>& make) {
  const Node* p = producer_through_identity(node, input);
  const bool from_variable = p && p->op_type() == "VariableV2";
  if (!p || (!from_variable && p->op_type() != "Const")) return make();
  const Key key{&node, input, kind, k, n, b.dtype()};
  Cache& c = cache();
  int changes = 0;
  bool volatile_key = false;
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.entries.find(key);
    if (it != c.entries.end()) {
      Entry& e = it->second;
      if (e.is_volatile) volatile_key = true;
      if (!e.is_volatile && e.source.shares_buffer_with(b)) return e.packed;
      changes = e.from_variable && from_variable ? e.changes + 1 : 0;
      if (!volatile_key && changes >= kMaxChanges) {
        e = Entry();
        e.is_volatile = true;
        volatile_key = true;
      }
    }
  }
  if (volatile_key) return make();
  // Make it outside the lock (another thread may make the same value meanwhile: the first
  // to insert wins, the other copy is dropped).
  std::shared_ptr<const void> value = make();
  std::lock_guard<std::mutex> lock(c.mu);
  sweep_locked(c);
  auto it = c.entries.find(key);
  if (it != c.entries.end() && it->second.source.shares_buffer_with(b)) return it->second.packed;
  if (it != c.entries.end() && it->second.is_volatile) return value;
  Entry& e = c.entries[key];
  e.source = b;
  e.packed = value;
  e.bytes = bytes;
  e.changes = changes;
  e.from_variable = from_variable;
  e.is_volatile = false;
  return value;
}

template <class T>
std::shared_ptr<const PackedMatrix<T>> packed_weights(const Node& node, int input, const Tensor& b,
                                                      bool trans, int64_t k, int64_t n) {
  SLUICE_REQUIRE(b.valid() && b.dtype() == dtype_v<T> && b.rank() == 2 && b.dim(0) == (trans ? n : k) &&
                     b.dim(1) == (trans ? k : n),
                 Internal, "packed_weights: ", b.summary(), " is not [", k, ",", n, "]", trans ? " transposed" : "");
  const int64_t w = PackedMatrix<T>::strip_width();
  const int64_t bytes = (n + w - 1) / w * w * k * static_cast<int64_t>(sizeof(T));
  return std::static_pointer_cast<const PackedMatrix<T>>(cached_weights(node, input, b, trans ? 1 : 0, k, n, bytes, [&] {
    return std::make_shared<const PackedMatrix<T>>(trans, k, n, 1, b.data<T>(), b.dim(1));
  }));
}

PrepackedSplit prepacked_split(int64_t m, int64_t k, int64_t n, int64_t strip_width, int threads,
                               int64_t element_bytes) {
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  // Few rows against big weights (a classifier's last layer at batch 1) are bound by
  // streaming the packed weights through the core: split them too.
  const bool big_weights = k * n >= (int64_t{1} << 18);
  if (threads <= 1 || m == 0 || n == 0 || (flops < 4e6 && !big_weights)) return {};
  // Every element is computed the same way in any part, so the split is free: rows in
  // parts of at least 16, or column ranges of whole strips when there are few rows or when
  // the weights are several times A (n >= 4 m), so that each part streams only its share of
  // them: resnet18's 7x7 layers (49 x 4608 x 512, 9.4 MB of packed weights) read the weights
  // twice split by rows; its 14x14 layers (196 x 2304 x 256) were faster split by rows.
  const int64_t strips = (n + strip_width - 1) / strip_width;
  const int64_t t = threads;
  if (m >= 32 && (n < 4 * m || strips < 2 * t)) {
    // Weights that stay in L2 (squeezenet1_1's 13x13 layers, 590 KB) are read once per part:
    // two parts per thread, so a thread that is done can take the last part of another's
    // share. Bigger ones (resnet18's 14x14 layers, 2.4 MB) are read once per thread: one range
    // of at least 16 rows each.
    const int64_t fine = std::min(2 * t, m / 16);
    if (k * n * element_bytes <= kL2WeightBytes && fine > t) return {PrepackedSplit::rows, fine};
    const int64_t rows_per_part = std::max<int64_t>(16, (m + t - 1) / t);
    return {PrepackedSplit::rows, std::min(t, (m + rows_per_part - 1) / rows_per_part)};
  }
  // Two groups of whole strips per thread: each group reads all of A (few rows: it stays in
  // L2) and only its own columns of the weights. resnet18's 7x7 layers (49 x 4608 x 512, 9.4
  // MB of weights, 8 filters in turn) on 2 threads: 0.875-0.884 ms with one group per thread,
  // 0.798-0.813.
  return {PrepackedSplit::columns, std::clamp<int64_t>(strips / 2, 1, 2 * t)};
}

template <class T>
void gemm_prepacked(int64_t m, const T* a, int64_t lda, const PackedMatrix<T>& b, T beta, T* c,
                    int64_t ldc, ThreadPool* pool, const Finish<T>& finish) {
  const int64_t n = b.group_cols(), k = b.rows();
  if (m == 0 || n == 0) return;
  const int threads = pool ? pool->num_threads() : 1;
  const int64_t lanes = PackedMatrix<T>::strip_width();
  const PrepackedSplit split = prepacked_split(m, k, n, lanes, threads, sizeof(T));
  if (split.kind == PrepackedSplit::none) {
    gemm_packed<T>(m, a, lda, b, 0, 0, n, beta, c, ldc, finish);
  } else if (split.kind == PrepackedSplit::rows) {
    kernels::parallel_parts(*pool, m, split.parts, [&](int64_t r0, int64_t r1) {
      gemm_packed<T>(r1 - r0, a + r0 * lda, lda, b, 0, 0, n, beta, c + r0 * ldc, ldc, finish);
    });
  } else {
    for_column_parts(*pool, n, split.parts, finish,
                     [&](int64_t c0, int64_t c1, const Finish<T>& part) {
                       gemm_packed<T>(m, a, lda, b, 0, c0, c1, beta, c + c0, ldc, part);
                     });
  }
}

PrepackedCacheStats prepacked_cache_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  PrepackedCacheStats s;
  for (const auto& kv : c.entries) {
    if (!kv.second.packed) continue;
    ++s.entries;
    s.bytes += kv.second.bytes;
  }
  return s;
}

void prepacked_cache_sweep() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  sweep_locked(c);
}

template std::shared_ptr<const PackedMatrix<float>> packed_weights<float>(const Node&, int, const Tensor&, bool,
                                                                          int64_t, int64_t);
template std::shared_ptr<const PackedMatrix<double>> packed_weights<double>(const Node&, int, const Tensor&, bool,
                                                                            int64_t, int64_t);
template void gemm_prepacked<float>(int64_t, const float*, int64_t, const PackedMatrix<float>&, float, float*,
                                    int64_t, ThreadPool*, const Finish<float>&);
template void gemm_prepacked<double>(int64_t, const double*, int64_t, const PackedMatrix<double>&, double,
                                     double*, int64_t, ThreadPool*, const Finish<double>&);

}  // namespace sluice::gemm
