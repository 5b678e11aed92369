// The model registry: one row per model carries everything the project needs to know
// about it. The config parser, `syncbed run`/`worker`/`calibrate` (through workloads),
// `bench-model` and `train` ask here instead of naming models. To add a model: its own
// folder under experiments/workloads/ (a Workload, its config hook, its bench and train
// functions) and one row in registry.cc.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/optimizer.h"
#include "core/options.h"
#include "experiments/workloads/model_spec.h"
#include "experiments/workloads/workload.h"
#include "models/profile.h"

namespace syncbed::experiments {

struct ModelEntry {
  std::string name;
  std::string item_unit;                  // what a throughput counts: "images", "samples"
  std::vector<std::string> data_kinds;    // the config's "data" kinds it trains on
  std::vector<std::string> ranked_kinds;  // those with leave-one-out evaluation (epochs, HR@10)
  int default_batch = 0, max_batch = 0;
  OptimizerConfig optimizer;  // the default: kind, learning rate, momentum
  // Config keys of "model" besides name and batch, and of "data" besides kind and path.
  std::vector<std::string> model_keys, data_keys;
  // Reads the model's own keys and checks what depends on the data; name, batch and
  // data.kind are already set. Fails through ConfigNode::fail.
  void (*parse)(const ConfigNode& model, const ConfigNode& data, ModelSpec& model_spec, DataSpec& data_spec);
  // load_data false: the model only (its weights and gradients), for emulated compute.
  std::unique_ptr<Workload> (*make)(const WorkloadSpec& spec, int rank, int workers, bool load_data);
  // `syncbed bench-model`: synthetic-data training throughput in one process.
  std::vector<cli::OptionSpec> bench_options;
  nlohmann::json (*bench)(const cli::Options& options, int batch, int steps, int warmup, models::Profile* profile);
  // `syncbed train`: real-data training to a quality metric in one process.
  std::vector<cli::OptionSpec> train_options;
  nlohmann::json (*train)(const cli::Options& options, int batch);
};

const std::vector<ModelEntry>& model_entries();
std::vector<std::string> model_names();
// Throws std::invalid_argument naming the known models.
const ModelEntry& find_model(const std::string& name);

// `--model` and `--batch` of bench-model and train: the entry (an unknown name is refused
// naming the option) and the batch (the model's default when not given).
const ModelEntry& model_from_options(const cli::Options& options);
int batch_from_options(const cli::Options& options, const ModelEntry& model);

// The config's "model" and "data" sections, checked against the registry.
void parse_model_and_data(const ConfigNode& model, const ConfigNode& data, ModelSpec& model_spec, DataSpec& data_spec);
// The default optimizer of the model, for a config without "optimizer".
OptimizerConfig default_optimizer(const std::string& model);
// "model ncf on movielens or synthetic-ml20m data": what trains in epochs, for messages.
std::string ranked_models_text();

}  // namespace syncbed::experiments
