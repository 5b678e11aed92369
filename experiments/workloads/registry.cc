#include "experiments/workloads/registry.h"

#include <algorithm>
#include <stdexcept>

#include "core/join.h"
#include "experiments/workloads/inception_v1/inception_v1.h"
#include "experiments/workloads/ncf/ncf.h"

namespace syncbed::experiments {
namespace {

bool contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// The registry, one row per model; built on first use.
std::vector<ModelEntry> registered_models() { return {inception_v1_entry(), ncf_entry()}; }

// Keys some model takes: a key of another model is refused naming the models it belongs to.
void refuse_other_models_keys(const ConfigNode& node, const std::vector<std::string> ModelEntry::*keys,
                              const ModelEntry& mine) {
  for (const auto& entry : model_entries()) {
    if (&entry == &mine) continue;
    for (const auto& key : entry.*keys)
      if (node.has(key) && !contains(mine.*keys, key))
        node.required(key).fail("applies to model " + entry.name + " only");
  }
}

std::vector<std::string> keys_of_every_model(const std::vector<std::string> ModelEntry::*keys,
                                             std::vector<std::string> first) {
  for (const auto& entry : model_entries())
    for (const auto& key : entry.*keys)
      if (!contains(first, key)) first.push_back(key);
  return first;
}

}  // namespace

const std::vector<ModelEntry>& model_entries() {
  static const std::vector<ModelEntry> entries = registered_models();
  return entries;
}

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const auto& entry : model_entries()) names.push_back(entry.name);
  return names;
}

const ModelEntry& find_model(const std::string& name) {
  for (const auto& entry : model_entries())
    if (entry.name == name) return entry;
  throw std::invalid_argument("unknown model '" + name + "' (" + join(model_names(), ", ") + ")");
}

void parse_model_and_data(const ConfigNode& model, const ConfigNode& data, ModelSpec& model_spec, DataSpec& data_spec) {
  // The model decides which data kinds exist; the data can decide the model's defaults.
  model_spec.name = model.required("name").as_choice(model_names());
  const ModelEntry& entry = find_model(model_spec.name);
  if (data.json().is_string()) {
    data_spec.kind = data.as_choice(entry.data_kinds);
  } else {
    data.expect_keys(keys_of_every_model(&ModelEntry::data_keys, {"kind", "path"}));
    data_spec.kind = data.required("kind").as_choice(entry.data_kinds);
    refuse_other_models_keys(data, &ModelEntry::data_keys, entry);
  }
  data_spec.ranked = contains(entry.ranked_kinds, data_spec.kind);
  model.expect_keys(keys_of_every_model(&ModelEntry::model_keys, {"name", "batch"}));
  refuse_other_models_keys(model, &ModelEntry::model_keys, entry);
  model_spec.batch = static_cast<int>(model.get_int("batch", 1, entry.max_batch, entry.default_batch));
  entry.parse(model, data, model_spec, data_spec);
}

const ModelEntry& model_from_options(const cli::Options& options) {
  try {
    return find_model(options.get("model"));
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("--model: ") + e.what());
  }
}

int batch_from_options(const cli::Options& options, const ModelEntry& model) {
  if (options.get("batch").empty()) return model.default_batch;
  return static_cast<int>(options.get_int("batch", 1, model.max_batch));
}

OptimizerConfig default_optimizer(const std::string& model) { return find_model(model).optimizer; }

std::string ranked_models_text() {
  std::vector<std::string> parts;
  for (const auto& entry : model_entries())
    if (!entry.ranked_kinds.empty()) parts.push_back("model " + entry.name + " on " + join(entry.ranked_kinds, " or "));
  return join(parts, ", or ") + " data";
}

}  // namespace syncbed::experiments
