// libFuzzer target: the checkpoint readers (io/checkpoint.h, io/saver.h) on arbitrary bytes.
//
// Each input is read twice: as given (so the header and data checksum checks themselves
// are exercised) and with every checksum and the file-length field recomputed
// (fix_checkpoint_checksums), so mutations get past the CRCs into the index and data
// validation. On each: read_checkpoint, list_variables, CheckpointReader (variables,
// contains, read of every tensor, read of an absent name, read_all), load_variable, and
// Saver::restore / restore_into_scope into small graphs whose variables have the names,
// dtypes and shapes of the seed checkpoints, followed by a run that reads the restored
// values. Every failure must be a typed sluice::Error other than Internal; beyond that:
//   - whatever reads succeed agree with each other (list_variables, read, read_all),
//   - a checkpoint that read_checkpoint accepts is written back by write_checkpoint and
//     read again unchanged,
//   - an absent name is NotFound, and a restore that succeeds sets exactly the file's values.
#include <map>
#include <optional>

#include "fuzz_util.h"

namespace sluice::fuzz::checkpoint {

// The variables of the restore graphs (tests/fuzz/make_corpus.cc writes seed checkpoints
// with these names, dtypes and shapes).
struct VarSpec {
  const char* name;
  DType dtype;
  Shape shape;
};
inline const std::vector<VarSpec>& restore_vars() {
  static const std::vector<VarSpec> vars = {
      {"dense/kernel", DType::f32, Shape{3, 2}}, {"dense/bias", DType::f32, Shape{2}},
      {"step", DType::i64, Shape{}},             {"flags", DType::boolean, Shape{4}},
      {"pixels", DType::u8, Shape{2, 2}},        {"counts", DType::i32, Shape{3}},
      {"precise", DType::f64, Shape{2, 1}},
  };
  return vars;
}

inline void expect_typed(const Error& e) { SLUICE_FUZZ_CHECK(e.code() != ErrorCode::internal); }

// A graph holding restore_vars() under `prefix` (empty: no prefix) and the fetches that
// read every value: a float computation over kernel and bias, and casts of the rest.
// Built once per prefix (graphs are append-only and nothing is added later); each input
// gets a fresh Session.
struct RestoreGraph {
  Graph graph;
  std::vector<Output> fetches;
};
inline const RestoreGraph& restore_graph(const std::string& prefix) {
  static std::map<std::string, RestoreGraph>& graphs = *new std::map<std::string, RestoreGraph>();
  auto it = graphs.find(prefix);
  if (it != graphs.end()) return it->second;
  RestoreGraph& r = graphs[prefix];
  Scope root(r.graph);
  const Scope s = prefix.empty() ? root : root.sub(prefix);
  std::vector<Output> values;
  for (const VarSpec& v : restore_vars()) values.push_back(ops::variable(s.named(v.name), v.shape, v.dtype));
  const Output ones = ops::constant(root, Tensor::ones(DType::f32, {1, 3}));
  r.fetches.push_back(ops::add(root, ops::matmul(root, ones, values[0]), values[1]));
  for (size_t i = 2; i < values.size(); ++i) r.fetches.push_back(ops::cast(root, values[i], DType::f64));
  return r;
}

inline void restore_into_graph(const std::string& path, const std::string& prefix,
                               const std::vector<std::pair<std::string, Tensor>>* all) {
  const RestoreGraph& rg = restore_graph(prefix);
  Session sess(rg.graph, SessionOptions{1});
  const std::string scope = prefix.empty() ? "" : prefix + "/";
  try {
    if (prefix.empty()) {
      io::Saver(rg.graph).restore(sess, path);
    } else {
      io::restore_into_scope(sess, path, prefix);
    }
  } catch (const Error& e) {
    expect_typed(e);
    // All or nothing: a failed restore leaves every variable uninitialised.
    for (const VarSpec& v : restore_vars()) SLUICE_FUZZ_CHECK(!sess.is_variable_initialized(scope + v.name));
    return;
  }
  // Restored values are exactly the file's.
  if (all) {
    for (const VarSpec& v : restore_vars()) {
      const Tensor got = sess.variable_value(scope + v.name);
      bool found = false;
      for (const auto& [name, t] : *all) {
        if (name != v.name) continue;
        found = true;
        SLUICE_FUZZ_CHECK(got.equals(t));
      }
      SLUICE_FUZZ_CHECK(found);
    }
  }
  std::vector<TensorRef> fetches(rg.fetches.begin(), rg.fetches.end());
  const std::vector<Tensor> r = sess.run({}, fetches);
  SLUICE_FUZZ_CHECK(r.size() == fetches.size());
}

inline void exercise(const std::string& bytes) {
  MemFile file(bytes);
  const std::string path = file.path();

  std::optional<std::vector<std::pair<std::string, Tensor>>> all;
  try {
    all = io::read_checkpoint(path);
  } catch (const Error& e) {
    expect_typed(e);
  }
  std::optional<std::vector<io::VariableInfo>> infos;
  try {
    infos = io::list_variables(path);
  } catch (const Error& e) {
    expect_typed(e);
  }
  // read_checkpoint validates a superset of what list_variables does.
  SLUICE_FUZZ_CHECK(!all || infos);
  if (all) {
    SLUICE_FUZZ_CHECK(all->size() == infos->size());
    for (size_t i = 0; i < all->size(); ++i) {
      const Tensor& t = (*all)[i].second;
      SLUICE_FUZZ_CHECK((*all)[i].first == (*infos)[i].name);
      SLUICE_FUZZ_CHECK(t.dtype() == (*infos)[i].dtype && t.shape() == (*infos)[i].shape);
    }
    // Round trip through the writer.
    const std::string copy = scratch_dir() + "/roundtrip.ckpt";
    io::write_checkpoint(copy, *all);
    const auto again = io::read_checkpoint(copy);
    SLUICE_FUZZ_CHECK(again.size() == all->size());
    for (size_t i = 0; i < again.size(); ++i)
      SLUICE_FUZZ_CHECK(again[i].first == (*all)[i].first && again[i].second.equals((*all)[i].second));
  }

  try {
    io::CheckpointReader reader(path);
    SLUICE_FUZZ_CHECK(infos && reader.variables().size() == infos->size());
    const std::string absent("no such tensor\0", 15);  // names never hold NUL bytes
    SLUICE_FUZZ_CHECK(!reader.contains(absent));
    try {
      reader.read(absent);
      SLUICE_FUZZ_CHECK(false);
    } catch (const NotFound&) {
    }
    for (size_t i = 0; i < reader.variables().size(); ++i) {
      const io::VariableInfo& v = reader.variables()[i];
      SLUICE_FUZZ_CHECK(reader.contains(v.name));
      try {
        const Tensor t = reader.read(v.name);
        SLUICE_FUZZ_CHECK(t.dtype() == v.dtype && t.shape() == v.shape);
        if (all) SLUICE_FUZZ_CHECK(t.equals((*all)[i].second));
      } catch (const Error& e) {
        expect_typed(e);
        SLUICE_FUZZ_CHECK(!all);  // read_checkpoint read this tensor fine
      }
    }
    try {
      reader.read_all();
      SLUICE_FUZZ_CHECK(all.has_value());
    } catch (const Error& e) {
      expect_typed(e);
      SLUICE_FUZZ_CHECK(!all);
    }
    if (!reader.variables().empty()) {
      try {
        io::load_variable(path, reader.variables().back().name);
      } catch (const Error& e) {
        expect_typed(e);
      }
    }
  } catch (const Error& e) {
    expect_typed(e);
    SLUICE_FUZZ_CHECK(!infos);
  }

  // A file whose index does not parse fails every restore in the CheckpointReader above.
  if (infos) {
    restore_into_graph(path, "", all ? &*all : nullptr);
    restore_into_graph(path, "model_001", all ? &*all : nullptr);
  }
}

inline int run(const uint8_t* data, size_t size) {
  limit_allocations();
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  exercise(bytes);
  const std::string fixed = fix_checkpoint_checksums(bytes);
  if (fixed != bytes) exercise(fixed);
  return 0;
}

}  // namespace sluice::fuzz::checkpoint

#ifndef SLUICE_FUZZ_REPLAY
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sluice::fuzz::checkpoint::run(data, size);
}
#endif
