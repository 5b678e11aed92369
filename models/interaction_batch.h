// A batch of (user, item, label) triples for the recommendation model; label 1 marks an
// observed interaction, 0 a sampled negative.
#pragma once

#include <cstdint>
#include <vector>

namespace syncbed::models {

struct InteractionBatch {
  std::vector<std::int32_t> users, items;
  std::vector<float> labels;

  int size() const { return static_cast<int>(users.size()); }
  void clear() {
    users.clear();
    items.clear();
    labels.clear();
  }
  void add(std::int32_t user, std::int32_t item, float label) {
    users.push_back(user);
    items.push_back(item);
    labels.push_back(label);
  }
};

}  // namespace syncbed::models
