#include "gemm_packed.h"

#include "eigen.h"  // <Eigen/Core>
#include <algorithm>
#include <array>
#include <utility>

#include "../runtime/error.h"

namespace sluice::gemm {

namespace {

namespace ei = Eigen::internal;
template <class T>
using Packet = typename ei::packet_traits<T>::type;
template <class T>
constexpr int kLanes = ei::unpacket_traits<Packet<T>>::size;

// A micro-tile is R rows x S strips of C held in registers: R * S accumulators, S strip
// loads and one broadcast must fit in the register file (32 vector registers with
// AVX-512, 16 with AVX2 or SSE). With 16: 4 x 3 tiles, or 6 x 2 when the strips come in
// pairs but not threes (64 columns: 3 + 3 + 2 strips would leave a third of the work to an
// 8-accumulator tile). Products of one or two rows (a served request, an RNN step at batch
// 1) take tiles up to kWideStrips wide: a 1 x 3 tile has too few independent accumulators
// to cover the latency of the multiply-adds. The shape only changes which registers hold
// an element's sum, never its arithmetic.
constexpr bool kManyRegisters = EIGEN_ARCH_DEFAULT_NUMBER_OF_REGISTERS >= 32;
constexpr int kRows = kManyRegisters ? 6 : 4;
constexpr int kStrips = kManyRegisters ? 4 : 3;
constexpr int kWideRows = 2;
constexpr int kWideStrips = 6;
constexpr int kMaxRows = 6;
constexpr int kMaxStrips = 6;
// The k loop runs in near-equal blocks of at most kDepth. Between blocks every tile of C
// goes back to memory and is loaded again. With AVX2 (16 registers, 4 x 3 tiles), blocks
// of 256 keep a tile's packed strips (256 x 3 x 8 floats, 24 KiB) in L1 while every row
// tile of A passes over them. With AVX-512 the strips of a 6 x 4 tile of one 256-deep
// block already take 64 KiB, more than L1, and the round trips of C cost more than the
// strips' reloads from L2: blocks of at most 1024 (resnet18's 196 x 2304 x 256 layers in
// three blocks of 768, not 256 + 256 + ... + 0) made resnet18, mobilenet_v2 and
// squeezenet1_1 1-3% faster at batch 1 and 8 on 1 and 2 threads (Zen 5, medians of 4
// alternating rounds); blocks of 128 were slower, 2048 no better.
constexpr int64_t kDepth = kManyRegisters ? 1024 : 256;
constexpr int64_t kChunkRows = 256;

// Where a tile's sums start. Each element of C is one chain of multiply-adds in k order from
// its start: zero, or an addend (C itself when beta is 1 and in every k block after the
// first, so that splitting k in blocks changes nothing; or a bias row, the same for every
// row of C). Starting from the bias rather than adding it to the finished sum saves a load
// and an add per element, which counts when k is as short as MobileNetV2's expansions (16
// to 32): m 3136, n 96, k 16 with a bias and a clamp 135 -> 156 GFLOP/s on one Zen 5 core
// (bench GemmPrepacked, path 2).
enum Mode : int {
  kStore = 0,  // the sums start from zero (C is not read)
  kAdd = 1,    // the sums start from the addend
};

// A k block's columns of A as they lie in a row: `length` values from `offset` (one piece
// for a plain A; one per segment the block touches for a segmented A).
struct Piece {
  int64_t offset, length;
};
constexpr int kMaxPieces = static_cast<int>(kDepth) + 1;

// C[R, S strips] (op)= A[R, k] B[k, S strips], k the sum of the pieces' lengths. rows[r]
// points at row r of the tile's A (the pieces' offsets are from there); strips[s] points at
// packed strip s (at the block's first k); c at the tile's first element; the last strip
// covers only last_cols (<= lanes) columns. In kAdd mode row r starts from add + r * ldadd
// (C itself, or a bias row with ldadd 0). bounds (when not null: the last k block) clamps the
// stored values to [bounds[0], bounds[1]].
// The last strip of a tile when it covers fewer than all lanes: C goes through a buffer
// (out of line, so the full strips' code stays compact and keeps its values in registers).
template <class T>
__attribute__((noinline)) Packet<T> load_partial(const T* p, int64_t n) {
  alignas(64) T tmp[kLanes<T>] = {};
  for (int64_t j = 0; j < n; ++j) tmp[j] = p[j];
  return ei::pload<Packet<T>>(tmp);
}
template <class T>
__attribute__((noinline)) void store_partial(T* p, Packet<T> v, int64_t n) {
  alignas(64) T tmp[kLanes<T>];
  ei::pstore(tmp, v);
  for (int64_t j = 0; j < n; ++j) p[j] = tmp[j];
}

template <class T, int R, int S>
void micro_tile(const Piece* pieces, int npieces, const T* const* rows, const T* const* strips,
                int mode, T* c, int64_t ldc, int64_t last_cols, const T* add, int64_t ldadd,
                const T* bounds) {
  using P = Packet<T>;
  constexpr int lanes = kLanes<T>;
  // Every loop over r and s is unrolled, so acc stays in registers (a rolled loop indexes
  // it, which puts it on the stack).
  const bool full = last_cols == lanes;
  P acc[R][S];
  if (mode == kAdd) {
#pragma GCC unroll 8
    for (int s = 0; s < S; ++s) {
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const T* ap = add + r * ldadd + s * lanes;
        acc[r][s] = r > 0 && ldadd == 0 ? acc[0][s]
                    : s < S - 1 || full ? ei::ploadu<P>(ap)
                                        : load_partial(ap, last_cols);
      }
    }
  } else {
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
      for (int s = 0; s < S; ++s) acc[r][s] = ei::pset1<P>(T(0));
  }
  const T* bs[S];
  for (int s = 0; s < S; ++s) bs[s] = strips[s];
  for (int p = 0; p < npieces; ++p) {
    const T* ap[R];
    for (int r = 0; r < R; ++r) ap[r] = rows[r] + pieces[p].offset;
    const int64_t k = pieces[p].length;
    for (int64_t kk = 0; kk < k; ++kk) {
      P b[S];
      for (int s = 0; s < S; ++s) {
        b[s] = ei::pload<P>(bs[s] + kk * lanes);
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
        // Keep the strip in a register: otherwise GCC folds the load into each of the R
        // multiply-adds that use it (R loads instead of one), and the loop becomes bound by
        // loads instead of multiply-adds (40 -> 25 GFLOP/s on a 196 x 256 x 2304 product).
        __asm__("" : "+x"(b[s]));
#endif
      }
      for (int r = 0; r < R; ++r) {
        const P av = ei::pset1<P>(ap[r][kk]);
        for (int s = 0; s < S; ++s) acc[r][s] = ei::pmadd(av, b[s], acc[r][s]);
      }
    }
    for (int s = 0; s < S; ++s) bs[s] += k * lanes;
  }
  P lo = ei::pset1<P>(T(0)), hi = lo;
  if (bounds) lo = ei::pset1<P>(bounds[0]), hi = ei::pset1<P>(bounds[1]);
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 8
    for (int s = 0; s < S; ++s) {
      T* cp = c + r * ldc + s * lanes;
      const bool whole = s < S - 1 || full;
      P v = acc[r][s];
      // pmax(v, lo) is lo > v ? lo : v, pmin(v, hi) is hi < v ? hi : v (Eigen's operand
      // order, as std::max and std::min): a NaN fails both comparisons and stays.
      if (bounds) v = ei::pmin(ei::pmax(v, lo), hi);
      if (whole) {
        ei::pstoreu(cp, v);
      } else {
        store_partial(cp, v, last_cols);
      }
    }
  }
}

template <class T>
using TileFn = void (*)(const Piece*, int, const T* const*, const T* const*, int, T*, int64_t,
                        int64_t, const T*, int64_t, const T*);

// tile_fn<T>(r, s): micro_tile<T, r, s> for r in [1, kMaxRows], s in [1, kMaxStrips].
template <class T, int R, int... S>
constexpr std::array<TileFn<T>, sizeof...(S)> row_of_tiles(std::integer_sequence<int, S...>) {
  return {&micro_tile<T, R, S + 1>...};
}
template <class T, int... R>
constexpr auto tile_table(std::integer_sequence<int, R...>) {
  return std::array<std::array<TileFn<T>, kMaxStrips>, sizeof...(R)>{
      row_of_tiles<T, R + 1>(std::make_integer_sequence<int, kMaxStrips>())...};
}
template <class T>
TileFn<T> tile_fn(int64_t rows, int64_t strips) {
  static constexpr auto table = tile_table<T>(std::make_integer_sequence<int, kMaxRows>());
  return table[rows - 1][strips - 1];
}

// The tile shape of a product of m rows and `strips` strips (the last tile of a row may be
// narrower, and the row tiles are near-equal). A tile's fixed cost (starting its sums, the
// clamp, storing C) is paid per tile whatever its width, so when k is short (MobileNetV2's
// expansions: 16 to 32) a remainder tile of one or two strips costs almost what a full one
// does: with 32 registers, strips that do not come in fours take a shape that divides
// them (4 x 6, 5 x 5, 6 x 3: 18 to 25 accumulators). On one Zen 5 core (bench
// GemmPrepacked, path 2): m 3136, n 96, k 16 (6 strips) 128 -> 135 GFLOP/s; m 3136, n 144,
// k 24 (9 strips) 139 -> 150; long k unchanged.
struct TileShape {
  int64_t rows, strips;
};
TileShape tile_shape(int64_t m, int64_t strips) {
  if (m <= kWideRows) return {kRows, kWideStrips};
  if (!kManyRegisters)
    return strips % 3 != 0 && strips % 2 == 0 ? TileShape{6, 2} : TileShape{kRows, kStrips};
  if (strips % 4 == 0) return {kRows, kStrips};
  if (strips % 6 == 0) return {4, 6};
  if (strips % 5 == 0) return {5, 5};
  if (strips % 3 == 0) return {6, 3};
  return {kRows, kStrips};
}

}  // namespace

int64_t packed_depth() { return kDepth; }

template <class T>
int64_t PackedMatrix<T>::strip_width() {
  return kLanes<T>;
}

template <class T>
PackedMatrix<T>::PackedMatrix(bool trans, int64_t k, int64_t n, int64_t groups, const T* b,
                              int64_t ldb, ThreadPool* pool)
    : k_(k), groups_(groups) {
  SLUICE_REQUIRE(k >= 0 && n >= 0 && groups > 0 && n % groups == 0, Internal, "PackedMatrix of [",
                 k, ",", n, "] in ", groups, " groups");
  constexpr int64_t lanes = kLanes<T>;
  group_cols_ = n / groups;
  strips_per_group_ = (group_cols_ + lanes - 1) / lanes;
  const int64_t strips = groups * strips_per_group_;
  strip_stride_ = checked_mul(k, lanes) + static_cast<int64_t>(64 / sizeof(T));  // k is a real dim: no overflow
  data_ = Tensor(dtype_v<T>, Shape{checked_mul(strips, strip_stride_)});
  T* out = data_.data<T>();
  auto pack = [&](int64_t s0, int64_t s1) {
    for (int64_t st = s0; st < s1; ++st) {
      const int64_t g = st / strips_per_group_, first = (st % strips_per_group_) * lanes;
      const int64_t cols = std::min(lanes, group_cols_ - first);
      T* dst = out + st * strip_stride_;
      const int64_t col0 = g * group_cols_ + first;         // first column of op(B) in this strip
      if (cols < lanes) std::fill_n(dst, k * lanes, T(0));  // the group's zero padding
      if (trans) {
        // Column j of op(B) is row j of the stored matrix. A full strip is lanes rows: load lanes x
        // lanes blocks of them as lanes packets, transpose in registers, store lanes packed rows.
        int64_t k0 = 0;
        if (cols == lanes) {
          using P = Packet<T>;
          // Eigen's packets are vector-attribute types (__m256, ...); as a template argument
          // GCC drops the attribute and warns (-Wignored-attributes). Harmless here, as in
          // Eigen's own uses of PacketBlock: it only holds and transposes them.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"
          for (; k0 + lanes <= k; k0 += lanes) {
            ei::PacketBlock<P, lanes> block;
            for (int64_t j = 0; j < lanes; ++j)
              block.packet[j] = ei::ploadu<P>(b + (col0 + j) * ldb + k0);
            ei::ptranspose(block);
            for (int64_t i = 0; i < lanes; ++i) ei::pstore(dst + (k0 + i) * lanes, block.packet[i]);
          }
#pragma GCC diagnostic pop
        }
        for (int64_t j = 0; j < cols; ++j) {
          const T* src = b + (col0 + j) * ldb;
          for (int64_t kk = k0; kk < k; ++kk) dst[kk * lanes + j] = src[kk];
        }
      } else {
        for (int64_t kk = 0; kk < k; ++kk) {
          const T* src = b + kk * ldb + col0;
          T* d = dst + kk * lanes;
          if (cols == lanes) {
            for (int64_t j = 0; j < lanes; ++j)
              d[j] = src[j];  // one vector move, not a memmove call
          } else {
            std::copy_n(src, cols, d);
          }
        }
      }
    }
  };
  if (pool && pool->num_threads() > 1 && strips * k * lanes > 65536) {
    pool->parallel_for(strips, std::max<int64_t>(1, 65536 / std::max<int64_t>(k * lanes, 1)), pack);
  } else {
    pack(0, strips);
  }
}

template <class T>
void gemm_packed(int64_t m, const T* a, int64_t lda, const PackedMatrix<T>& b, int64_t g,
                 int64_t c0, int64_t c1, T beta, T* c, int64_t ldc, const Finish<T>& finish) {
  gemm_packed<T>(m, a, lda, Segments{}, b, g, c0, c1, beta, c, ldc, finish);
}

template <class T>
void gemm_packed(int64_t m, const T* a, int64_t lda, const Segments& segments, const PackedMatrix<T>& b,
                 int64_t g, int64_t c0, int64_t c1, T beta, T* c, int64_t ldc, const Finish<T>& finish) {
  constexpr int64_t lanes = kLanes<T>;
  SLUICE_REQUIRE(m >= 0 && g >= 0 && g < b.groups() && c0 >= 0 && c0 % lanes == 0 && c0 <= c1 &&
                     c1 <= b.group_cols() && (beta == T(0) || beta == T(1)) &&
                     (!finish.bias || beta == T(0)),
                 Internal, "gemm_packed: rows ", m, ", group ", g, " of ", b.groups(),
                 ", columns [", c0, ",", c1, ") of ", b.group_cols(), ", beta ", beta,
                 finish.bias ? " with a bias" : "");
  SLUICE_REQUIRE(segments.length >= 0 && (segments.length == 0 || segments.stride >= 0) &&
                     segments.line >= 0 && segments.line_stride >= 0,
                 Internal, "gemm_packed: segments of ", segments.length, " values ",
                 segments.stride, " apart, lines of ", segments.line, " rows ",
                 segments.line_stride, " apart");
  const int64_t k = b.rows();
  const int64_t strips = (c1 - c0 + lanes - 1) / lanes;
  if (m == 0 || strips == 0) return;
  const TileShape shape = tile_shape(m, strips);
  const int64_t tile_rows = shape.rows, tile_strips = shape.strips;
  // Rows in near-equal tiles of at most tile_rows (32 rows by 6: 6,6,5,5,5,5, not 6 x 5 + 2).
  const int64_t row_tiles = (m + tile_rows - 1) / tile_rows;
  // k == 0 still runs one (empty) block, which stores zeros or leaves C as it is.
  const int64_t kblocks = std::max<int64_t>(1, (k + kDepth - 1) / kDepth);
  const int64_t kstep = std::max<int64_t>(1, (k + kblocks - 1) / kblocks);
  // Rows in chunks of at most kChunkRows, and of at most 128K values of a k block: a chunk's
  // block of A (512 KiB) stays in L2 while the strips pass over it.
  const int64_t chunk_rows = std::min<int64_t>(kChunkRows, 131072 / kstep);
  const int64_t tiles_per_chunk = std::max<int64_t>(1, chunk_rows / tile_rows);
  auto row_of_a = [&](int64_t i) {
    return segments.line > 0
               ? a + (i / segments.line) * segments.line_stride + (i % segments.line) * lda
               : a + i * lda;
  };
  for (int64_t k0 = 0; k0 == 0 || k0 < k; k0 += kstep) {
    const int64_t kc = std::min(kstep, k - k0);
    const int mode = k0 > 0 || beta != T(0) || finish.bias ? kAdd : kStore;
    const bool last = k0 + kstep >= k;
    const T bounds_of_call[2] = {finish.lo, finish.hi};
    const T* bounds = last && finish.clamp ? bounds_of_call : nullptr;
    // Where the block's columns [k0, k0 + kc) lie in a row of A.
    Piece pieces[kMaxPieces];
    int npieces = 0;
    if (segments.length == 0) {
      pieces[npieces++] = {k0, kc};
    } else {
      for (int64_t kk = k0; kk < k0 + kc;) {
        const int64_t seg = kk / segments.length, within = kk % segments.length;
        const int64_t len = std::min(segments.length - within, k0 + kc - kk);
        pieces[npieces++] = {seg * segments.stride + within, len};
        kk += len;
      }
    }
    for (int64_t t0 = 0; t0 < row_tiles; t0 += tiles_per_chunk) {
      const int64_t t1 = std::min(row_tiles, t0 + tiles_per_chunk);
      for (int64_t s0 = 0; s0 < strips; s0 += tile_strips) {
        const int64_t ns = std::min<int64_t>(tile_strips, strips - s0);
        const T* ptrs[kMaxStrips];
        for (int64_t s = 0; s < ns; ++s) ptrs[s] = b.strip(g, c0 / lanes + s0 + s) + k0 * lanes;
        const int64_t last_cols = std::min(lanes, c1 - (c0 + (s0 + ns - 1) * lanes));
        // The first block starts from the bias row (or C, or zero), the later ones from C.
        const T* bias = k0 == 0 && finish.bias ? finish.bias + s0 * lanes : nullptr;
        for (int64_t t = t0; t < t1; ++t) {
          const int64_t r0 = m * t / row_tiles, r1 = m * (t + 1) / row_tiles;
          T* ct = c + r0 * ldc + s0 * lanes;
          const T* rows[kMaxRows];
          for (int64_t r = r0; r < r1; ++r) rows[r - r0] = row_of_a(r);
          tile_fn<T>(r1 - r0, ns)(pieces, npieces, rows, ptrs, mode, ct, ldc, last_cols,
                                  bias ? bias : ct, bias ? 0 : ldc, bounds);
          // The tile's finished values are still in L1.
          if (last && finish.fn) finish.fn(finish.ctx, ct, ldc, r1 - r0, (ns - 1) * lanes + last_cols);
        }
      }
    }
  }
}

template class PackedMatrix<float>;
template class PackedMatrix<double>;
template void gemm_packed<float>(int64_t, const float*, int64_t, const PackedMatrix<float>&,
                                 int64_t, int64_t, int64_t, float, float*, int64_t, const Finish<float>&);
template void gemm_packed<double>(int64_t, const double*, int64_t, const PackedMatrix<double>&,
                                  int64_t, int64_t, int64_t, double, double*, int64_t, const Finish<double>&);
template void gemm_packed<float>(int64_t, const float*, int64_t, const Segments&, const PackedMatrix<float>&,
                                 int64_t, int64_t, int64_t, float, float*, int64_t, const Finish<float>&);
template void gemm_packed<double>(int64_t, const double*, int64_t, const Segments&, const PackedMatrix<double>&,
                                  int64_t, int64_t, int64_t, double, double*, int64_t, const Finish<double>&);

}  // namespace sluice::gemm
