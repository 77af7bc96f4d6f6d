#include "saver.h"

namespace sluice::io {

namespace {

std::string describe(DType dtype, const Shape& shape) { return dtype_name(dtype) + shape.to_string(); }

// "model_002/" from "model_002", "model_002/" or "model_002//"; "" stays "".
std::string normalized_prefix(const std::string& prefix) {
  std::string p = prefix;
  while (!p.empty() && p.back() == '/') p.pop_back();
  return p.empty() ? p : p + "/";
}

}  // namespace

Saver::Saver(const Graph& graph) : graph_(graph) {
  for (const Operation& v : graph.global_variables()) add(v.name(), v);
}

Saver::Saver(const std::vector<Operation>& variables) {
  for (const Operation& v : variables) {
    SLUICE_REQUIRE(v.valid(), InvalidArgument, "Saver: an invalid (empty) Operation handle");
    add(v.name(), v);
  }
}

Saver::Saver(const std::map<std::string, Operation>& name_map) {
  for (const auto& [name, v] : name_map) {
    SLUICE_REQUIRE(v.valid(), InvalidArgument, "Saver: checkpoint name '", name,
                   "' maps to an invalid (empty) Operation handle");
    add(name, v);
  }
}

Saver Saver::for_scope(const Graph& graph, const std::string& scope_prefix) {
  const std::string p = normalized_prefix(scope_prefix);
  Saver s;
  s.graph_ = graph;
  for (const Operation& v : graph.global_variables(p)) {
    // global_variables(p) matched the prefix, so the name starts with it.
    s.add(v.name().substr(p.size()), v);
  }
  if (s.vars_.empty() && !p.empty()) {
    std::string have;
    const auto all = graph.global_variables();
    for (size_t i = 0; i < all.size() && i < 10; ++i) have += (i ? ", " : "") + all[i].name();
    if (all.size() > 10) have += ", ... (" + std::to_string(all.size()) + " in all)";
    throw NotFound("no global variables under scope '" + p + "' (the graph's variables: " +
                   (have.empty() ? "none" : have) + ")");
  }
  return s;
}

void Saver::add(const std::string& checkpoint_name, const Operation& variable) {
  SLUICE_REQUIRE(variable.type() == "VariableV2", InvalidArgument, "Saver: '", variable.name(),
                 "' is a ", variable.type(), ", not a variable");
  SLUICE_REQUIRE(!checkpoint_name.empty(), InvalidArgument, "Saver: variable '", variable.name(),
                 "' maps to an empty checkpoint name");
  if (!graph_) graph_ = variable.graph();
  SLUICE_REQUIRE(variable.graph() == *graph_, InvalidArgument, "Saver: variable '",
                 variable.name(), "' belongs to another graph than the Saver's other variables");
  auto [it, inserted] = vars_.emplace(checkpoint_name, variable);
  SLUICE_REQUIRE(inserted || it->second == variable, InvalidArgument, "Saver: checkpoint name '",
                 checkpoint_name, "' maps to two variables: '", it->second.name(), "' and '",
                 variable.name(), "'");
}

void Saver::check_graph(const Session& session, const char* what) const {
  SLUICE_REQUIRE(!graph_ || session.graph() == *graph_, InvalidArgument, "Saver::", what,
                 ": the session runs another graph than the one the Saver's variables belong to");
}

std::vector<std::pair<std::string, std::string>> Saver::mapping() const {
  std::vector<std::pair<std::string, std::string>> m;
  for (const auto& [name, v] : vars_) m.emplace_back(name, v.name());
  return m;
}

void Saver::save(const Session& session, const std::string& path) const {
  check_graph(session, "save");
  std::vector<std::string> uninitialised;
  for (const auto& [name, v] : vars_)
    if (!session.is_variable_initialized(v.name())) uninitialised.push_back(v.name());
  if (!uninitialised.empty()) {
    std::string list;
    for (const auto& n : uninitialised) list += (list.empty() ? "" : ", ") + n;
    throw FailedPrecondition("Saver::save to '" + path + "': " +
                             std::to_string(uninitialised.size()) + " of " +
                             std::to_string(vars_.size()) +
                             " variables are not initialised in this session: " + list);
  }
  std::vector<std::pair<std::string, Tensor>> tensors;
  tensors.reserve(vars_.size());
  for (const auto& [name, v] : vars_) tensors.emplace_back(name, session.variable_value(v.name()));
  write_checkpoint(path, tensors);
}

void Saver::restore(Session& session, const std::string& path) const {
  check_graph(session, "restore");
  CheckpointReader reader(path);
  std::map<std::string, const VariableInfo*> in_file;
  for (const VariableInfo& info : reader.variables()) in_file.emplace(info.name, &info);

  // Collect every problem before changing anything, and report them all at once.
  std::string missing, mismatched;
  size_t n_missing = 0, n_mismatched = 0;
  for (const auto& [name, v] : vars_) {
    const DType dtype = v.output(0).dtype();
    const Shape& shape = v.output(0).shape();
    const std::string target =
        name == v.name() ? "'" + name + "'" : "'" + v.name() + "' (checkpoint name '" + name + "')";
    auto it = in_file.find(name);
    if (it == in_file.end()) {
      missing += (n_missing++ ? ", " : "") + target + " " + describe(dtype, shape);
    } else if (it->second->dtype != dtype || it->second->shape != shape) {
      mismatched += (n_mismatched++ ? "; " : "") + std::string("variable ") + target + " is " +
                    describe(dtype, shape) + " but the checkpoint holds " +
                    describe(it->second->dtype, it->second->shape);
    }
  }
  const std::string where = "Saver::restore from '" + path + "'";
  if (n_missing > 0) {
    std::string have;
    const auto& all = reader.variables();
    for (size_t i = 0; i < all.size() && i < 10; ++i) have += (i ? ", " : "") + all[i].name;
    if (all.size() > 10) have += ", ... (" + std::to_string(all.size()) + " in all)";
    throw NotFound(where + ": the checkpoint lacks " + std::to_string(n_missing) + " of " +
                   std::to_string(vars_.size()) + " variables: " + missing +
                   (n_mismatched ? "; also " + mismatched : std::string()) +
                   " (the checkpoint holds: " + (have.empty() ? "nothing" : have) + ")");
  }
  SLUICE_REQUIRE(n_mismatched == 0, InvalidArgument, where, ": ", n_mismatched,
                 " variable(s) do not match the checkpoint: ", mismatched);

  // Read (and checksum) everything before setting anything: a corrupt tensor must not
  // leave the session half restored.
  std::vector<std::pair<std::string, Tensor>> values;
  values.reserve(vars_.size());
  for (const auto& [name, v] : vars_) values.emplace_back(v.name(), reader.read(name));
  for (const auto& [var_name, value] : values) session.set_variable_value(var_name, value);
}

void restore_into_scope(Session& session, const std::string& path, const std::string& prefix) {
  Saver::for_scope(session.graph(), prefix).restore(session, path);
}

}  // namespace sluice::io
