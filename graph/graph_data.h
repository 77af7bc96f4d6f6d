// Internal: the shared state behind a Graph handle. Not part of the public API.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "graph.h"

namespace sluice::detail {

struct GraphData {
  mutable std::mutex mu;
  std::vector<std::unique_ptr<Node>> nodes;
  std::unordered_map<std::string, Node*> by_name;
  std::unordered_set<std::string> reserved;  // names handed out by unique_name
  // Per base name, the suffix to try next: names are never released, so every "base_k" with
  // k below it is taken, and finding a free name costs O(1) amortised instead of trying
  // base_1, base_2, ... from the start (quadratic in the number of ops sharing a base).
  std::unordered_map<std::string, int64_t> next_suffix;
  std::map<std::string, std::vector<Node*>> collections;
  std::unordered_map<const Node*, Node*> initializers;
  int64_t seed = 87654321;
  Node* learning_phase = nullptr;
  std::weak_ptr<GraphData> self;  // lets a Node hand out Graph handles

  // Reserves a unique name (caller holds mu).
  std::string unique_name_locked(const std::string& base);
  // Adds a fully built node (caller must not hold mu); returns it.
  Node* add(std::unique_ptr<Node> node);
};

}  // namespace sluice::detail
