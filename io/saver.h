// Saver: saves and restores a session's variables through checkpoints (io/checkpoint.h).
// A Saver maps checkpoint names to variables of one graph; restoring writes the values into
// one Session (other sessions on the same graph keep theirs) and marks them initialised.
//
//   io::Saver(g).save(sess, "model.ckpt");               // every global variable
//   io::Saver(g).restore(sess2, "model.ckpt");
//   // Ensembles: N copies of one architecture under model_001/, model_002/, ...
//   io::restore_into_scope(sess, "a.ckpt", "model_001");  // "dense/kernel" -> "model_001/dense/kernel"
//   io::restore_into_scope(sess, "b.ckpt", "model_002");
#pragma once

#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../graph/graph.h"
#include "../runtime/session.h"
#include "checkpoint.h"

namespace sluice::io {

class Saver {
 public:
  // Every global variable of `graph` that exists now, under its own name.
  explicit Saver(const Graph& graph);
  // These variables (VariableV2 ops of one graph), under their own names.
  explicit Saver(const std::vector<Operation>& variables);
  // Saver({w, b}): without this overload the braces would be ambiguous with the map's.
  Saver(std::initializer_list<Operation> variables) : Saver(std::vector<Operation>(variables)) {}
  // Checkpoint name -> variable, e.g. {"dense/kernel", g.operation("model_002/dense/kernel")}.
  explicit Saver(const std::map<std::string, Operation>& name_map);
  // The global variables under `scope_prefix` ("model_002" or "model_002/"), named in the
  // checkpoint without the prefix ("model_002/dense/kernel" is saved as "dense/kernel").
  // NotFound when the scope holds no variable.
  static Saver for_scope(const Graph& graph, const std::string& scope_prefix);

  // Writes the session's values of the variables to `path` (atomically). FailedPrecondition
  // naming every uninitialised variable; InvalidArgument when `session` runs another graph.
  void save(const Session& session, const std::string& path) const;
  // Reads every variable's value from `path` and sets it in `session`, all or nothing:
  // NotFound listing every variable the checkpoint lacks, InvalidArgument listing every
  // dtype/shape mismatch (checkpoint vs variable), both before any variable is changed;
  // DataLoss for a corrupt file. Tensors of the checkpoint that the Saver does not map are
  // ignored (e.g. optimizer slots when restoring into an inference graph).
  void restore(Session& session, const std::string& path) const;

  // Checkpoint name -> variable name, sorted by checkpoint name.
  std::vector<std::pair<std::string, std::string>> mapping() const;

 private:
  Saver() = default;
  void add(const std::string& checkpoint_name, const Operation& variable);
  void check_graph(const Session& session, const char* what) const;

  std::optional<Graph> graph_;  // unset only for a Saver of no variables at all
  std::map<std::string, Operation> vars_;  // checkpoint name -> variable
};

// Restores checkpoint tensor `n` into variable `<prefix>/n` for every global variable under
// `prefix` ("model_002" or "model_002/"); the same as Saver::for_scope(graph, prefix).restore.
void restore_into_scope(Session& session, const std::string& path, const std::string& prefix);

}  // namespace sluice::io
