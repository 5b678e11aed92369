#include "experiments/workloads/workload.h"

namespace syncbed::experiments {

std::vector<ParameterLayer> layers_of(const models::ParameterBlock& block) {
  std::vector<ParameterLayer> layers;
  for (const auto& tensor : block.entries()) {
    const std::string layer = tensor.name.substr(0, tensor.name.rfind('.'));
    if (layers.empty() || layers.back().name != layer) layers.push_back({layer, tensor.offset, 0});
    layers.back().size = tensor.offset + tensor.count - layers.back().begin;
  }
  return layers;
}

}  // namespace syncbed::experiments
