#include "experiments/harness/experiment_config.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>
#include <sstream>

#include "core/config.h"
#include "core/cpus.h"
#include "core/hash.h"
#include "experiments/harness/output_dir.h"
#include "experiments/workloads/registry.h"
#include "sync/registry.h"

namespace syncbed::experiments {
namespace {

OptimizerConfig parse_optimizer(const std::optional<ConfigNode>& node, const std::string& model) {
  OptimizerConfig config = default_optimizer(model);
  if (!node) return config;
  node->expect_keys({"kind", "lr", "momentum", "weight_decay", "beta1", "beta2", "epsilon"});
  if (const auto kind = node->optional("kind")) {
    const bool adam = kind->as_choice({"sgd", "adam"}) == "adam";
    config.kind = adam ? OptimizerConfig::Kind::kAdam : OptimizerConfig::Kind::kSgd;
    config.momentum = adam ? 0.0f : 0.9f;
  }
  const bool adam = config.kind == OptimizerConfig::Kind::kAdam;
  for (const char* key : {"beta1", "beta2", "epsilon"})
    if (node->has(key) && !adam) node->required(key).fail("applies to optimizer kind adam only");
  if (node->has("momentum") && adam) node->required("momentum").fail("applies to optimizer kind sgd only");
  config.learning_rate = float(node->get_number("lr", 1e-12, 100, config.learning_rate));
  config.momentum = float(node->get_number("momentum", 0, 0.999999, config.momentum));
  config.weight_decay = float(node->get_number("weight_decay", 0, 1, config.weight_decay));
  config.beta1 = float(node->get_number("beta1", 0, 0.999999, config.beta1));
  config.beta2 = float(node->get_number("beta2", 0, 0.999999999, config.beta2));
  config.epsilon = float(node->get_number("epsilon", 1e-30, 1, config.epsilon));
  return config;
}

// experiments/sim/scheduler_profile.h's names (the simulator's: sim/ is above harness/).
const std::vector<std::string> kSchedulerProfiles = {"spark-2017", "syncbed"};

// A strategy object's task-model keys: execution, group scheduling, BigDL's straggler drop.
sync::TaskModelOptions parse_task_model(const ConfigNode& node) {
  sync::TaskModelOptions tasks;
  const std::string execution = node.get_string("execution", "steps");
  if (execution != "steps" && execution != "tasks")
    node.fail("execution must be \"steps\" or \"tasks\", got '" + execution + "'");
  tasks.enabled = execution == "tasks";
  tasks.group = static_cast<int>(node.get_int("group", 0, 10'000, 0));
  tasks.block_store_bytes = static_cast<std::size_t>(node.get_int("block_store_mb", 1, 1 << 20, 0)) << 20;
  auto& drop = tasks.drop;
  drop.drop_percentage = node.get_number("drop_percentage", 0, 0.99, 0);
  // BigDL makes both explicit; here the cap defaults to half the tasks, or the drop share if larger.
  drop.max_drop_percentage = node.get_number("max_drop_percentage", 0, 0.99, std::max(0.5, drop.drop_percentage));
  drop.warmup_iterations = node.get_int("warmup_iterations", 0, 1'000'000, drop.warmup_iterations);
  drop.threshold_window = node.get_int("threshold_window", 1, 1'000'000, drop.threshold_window);
  if (drop.max_drop_percentage < drop.drop_percentage)
    node.required("max_drop_percentage").fail("must be at least drop_percentage");
  if (!drop.enabled())
    for (const char* key : {"max_drop_percentage", "warmup_iterations", "threshold_window"})
      if (node.has(key)) node.required(key).fail("applies with \"drop_percentage\" > 0 only");
  return tasks;
}

StrategySpec parse_strategy(const ConfigNode& node) {
  StrategySpec spec;
  if (node.json().is_string()) {
    spec.name = node.as_string();
  } else {
    node.expect_keys({"name", "label", "compression", "bf16_sum", "segment", "servers", "separate_servers", "staleness",
                      "execution", "group", "block_store_mb", "drop_percentage", "max_drop_percentage",
                      "warmup_iterations", "threshold_window", "overlap", "bucket_mb", "scheduler"});
    spec.name = node.required("name").as_string();
    auto& o = spec.options;
    try {
      o.compression = sync::parse_compression(node.get_string("compression", "none"));
    } catch (const std::invalid_argument& e) {
      node.fail(e.what());
    }
    o.sum_in_compressed_format = node.get_bool("bf16_sum", false);
    if (const auto segment = node.optional("segment")) o.segment_bytes = segment->as_size(4, std::size_t{1} << 30);
    o.ps.servers = static_cast<int>(node.get_int("servers", 0, 1024, 0));
    o.ps.separate_servers = node.get_bool("separate_servers", false);
    o.ps.staleness = static_cast<int>(node.get_int("staleness", 0, 1000, 0));
    o.task_model = parse_task_model(node);
    o.overlap.enabled = node.get_bool("overlap", false);
    const double bucket_mb = node.get_number("bucket_mb", 1e-6, 1024, 25);
    o.overlap.bucket_bytes = static_cast<std::size_t>(bucket_mb * (1 << 20));
    if (node.has("bucket_mb") && !o.overlap.enabled)
      node.required("bucket_mb").fail("applies with \"overlap\": true only");
    if (o.sum_in_compressed_format && o.compression != sync::Compression::kBf16)
      node.required("bf16_sum").fail("needs \"compression\": \"bf16\"");
    if (const auto scheduler = node.optional("scheduler")) {
      spec.scheduler = scheduler->as_choice(kSchedulerProfiles);
      if (!o.task_model.enabled) scheduler->fail("applies with \"execution\": \"tasks\" only");
    }
  }
  try {
    sync::check_parameter_sync(spec.name, spec.options);
  } catch (const std::invalid_argument& e) {
    node.fail(e.what());
  }
  spec.label = sync::default_label(spec.name, spec.options);
  if (node.json().is_object()) spec.label = node.get_string("label", spec.label);
  if (spec.label.empty()) node.required("label").fail("must not be empty");
  return spec;
}

ComputeSpec parse_compute(const ConfigNode& node) {
  ComputeSpec compute;
  if (node.json().is_string()) {
    node.as_choice({"real"});
    return compute;
  }
  node.expect_keys({"emulated_ms", "from_calibration", "forward_ms", "layer_backward_ms"});
  if (node.has("emulated_ms") == node.has("from_calibration"))
    node.fail("give either \"emulated_ms\" or \"from_calibration\" (or the string \"real\")");
  if (node.has("emulated_ms")) {
    compute.mode = ComputeSpec::Mode::kEmulated;
    compute.emulated_ms = node.required("emulated_ms").as_number(0.001, 3'600'000);
    compute.forward_ms = node.get_number("forward_ms", 0, compute.emulated_ms, -1);
    if (const auto layers = node.optional("layer_backward_ms")) {
      if (!layers->json().is_object()) layers->fail("must be an object of layer names and milliseconds");
      for (const auto& [name, ms] : layers->json().items())
        compute.layer_backward_ms[name] = layers->required(name).as_number(0, 3'600'000);
    }
  } else {
    for (const char* key : {"forward_ms", "layer_backward_ms"})
      if (node.has(key)) node.required(key).fail("comes from the calibration with \"from_calibration\"");
    if (!node.required("from_calibration").as_bool())
      node.required("from_calibration").fail("must be true when given (use \"real\" for real compute)");
    compute.mode = ComputeSpec::Mode::kFromCalibration;
  }
  return compute;
}

SimulateSpec parse_simulate(const ConfigNode& node, const std::vector<int>& workers) {
  SimulateSpec spec;
  node.expect_keys({"reference", "anchor", "driver_task_ms", "scheduler", "global_batch", "cores_per_node",
                    "serial_put_ms", "fetch_concurrency"});
  if (const auto reference = node.optional("reference")) {
    reference->expect_keys({"label", "throughput"});
    spec.reference_label = reference->get_string("label", "reference");
    const ConfigNode throughput = reference->required("throughput");
    if (!throughput.json().is_object() || throughput.json().empty())
      throughput.fail("must be an object of worker count -> items/s, like {\"16\": 920}");
    for (const auto& [key, value] : throughput.json().items()) {
      const ConfigNode entry(value, throughput.path() + "." + key);
      const int n = std::atoi(key.c_str());
      if (n < 1 || std::to_string(n) != key) entry.fail("the key must be a worker count like \"16\"");
      spec.reference[n] = entry.as_number(1e-9, 1e12);
    }
  }
  spec.anchor = static_cast<int>(node.get_int("anchor", 1, 1024, 0));
  if (spec.anchor > 0) {
    if (!spec.reference.count(spec.anchor)) node.required("anchor").fail("the reference has no value at this N");
    if (std::find(workers.begin(), workers.end(), spec.anchor) == workers.end())
      node.required("anchor").fail("must be one of the config's worker counts");
  }
  spec.driver_task_ms = node.get_number("driver_task_ms", 0, 10'000, 0);
  if (const auto scheduler = node.optional("scheduler")) spec.scheduler = scheduler->as_choice(kSchedulerProfiles);
  spec.global_batch = node.get_int("global_batch", 0, 1'000'000'000, 0);
  spec.cores_per_node = static_cast<int>(node.get_int("cores_per_node", 1, 4096, 1));
  spec.serial_put_ms = node.get_number("serial_put_ms", 0, 10'000, 0);
  spec.fetch_concurrency = static_cast<int>(node.get_int("fetch_concurrency", 1, 4096, spec.fetch_concurrency));
  return spec;
}

void apply_override(nlohmann::json& json, const std::string& edit) {
  const auto eq = edit.find('=');
  if (eq == std::string::npos || eq == 0)
    throw std::invalid_argument("--set '" + edit + "': expected KEY=VALUE, e.g. workers=[1,2]");
  nlohmann::json value = nlohmann::json::parse(edit.substr(eq + 1), nullptr, false);
  if (value.is_discarded()) value = edit.substr(eq + 1);  // a bare word is a string
  nlohmann::json* target = &json;
  std::stringstream path(edit.substr(0, eq));
  std::string part;
  while (std::getline(path, part, '.')) {
    if (target->is_array()) {
      std::size_t index = 0;
      try {
        index = std::stoul(part);
      } catch (const std::exception&) {
        throw std::invalid_argument("--set '" + edit + "': '" + part + "' is not an array index");
      }
      if (index >= target->size())
        throw std::invalid_argument("--set '" + edit + "': index " + part + " is past the end");
      target = &(*target)[index];
    } else {
      if (!target->is_object() && !target->is_null())
        throw std::invalid_argument("--set '" + edit + "': '" + part + "' is inside a value that is not an object");
      target = &(*target)[part];
    }
  }
  *target = std::move(value);
}

}  // namespace

std::string ExperimentConfig::hash() const {
  const std::string text_of_source = source.dump();
  const std::uint64_t h = fnv1a64(std::as_bytes(std::span(text_of_source)));
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(h));
  return text;
}

int ExperimentConfig::threads_for(int worker_count) const {
  if (threads > 0) return threads;
  return std::max(1, usable_cpus() / worker_count);
}

long SimulateSpec::batch_at(int workers) const {
  const long step = long(workers) * cores_per_node;
  return (global_batch + step - 1) / step * step;
}

std::string RunSpec::title() const {
  return strategy.label + ", " + std::to_string(workers) + (workers == 1 ? " worker" : " workers");
}

KillFault parse_kill(const ConfigNode& kill, const ExperimentConfig& config) {
  kill.expect_keys({"run", "rank", "iteration", "job", "how"});
  KillFault fault;
  const int runs = static_cast<int>(config.strategies.size() * config.workers.size());
  fault.run = static_cast<int>(kill.get_int("run", 1, runs, 0));
  fault.rank = static_cast<int>(kill.required("rank").as_int(0, 1023));
  fault.iteration = kill.get_int("iteration", 0, 1'000'000'000, 0);
  fault.job = static_cast<int>(kill.get_int("job", 1, 2, 1));
  if (const auto how = kill.optional("how")) {
    const std::string choice = how->as_choice({"signal", "error", "stop"});
    fault.how = choice == "error"  ? KillFault::How::kError
                : choice == "stop" ? KillFault::How::kStop
                                   : KillFault::How::kSignal;
  }
  for (const RunSpec& target : sweep(config)) {
    if (fault.run && target.index != fault.run) continue;
    std::string described = fault.run ? "run " : "every run: run ";
    described += std::to_string(target.index) + " (" + target.title() + ")";
    if (kill.optional("job") && !target.strategy.options.task_model.enabled)
      kill.required("job").fail("applies to execution \"tasks\" only; " + described + " has long-running workers");
    if (fault.how == KillFault::How::kError && target.strategy.options.task_model.enabled)
      kill.required("how").fail("\"error\" applies to long-running workers only; " + described + " runs tasks");
    // With execution "tasks", rank N is the driver, and killing it is a test too.
    if (fault.rank >= target.workers + (target.strategy.options.task_model.enabled ? 1 : 0))
      kill.required("rank").fail(described + " has no rank " + std::to_string(fault.rank));
  }
  return fault;
}

StragglerFault parse_straggler(const ConfigNode& straggler, const ExperimentConfig& config) {
  straggler.expect_keys({"rank", "slowdown"});
  StragglerFault fault;
  const int fewest = *std::min_element(config.workers.begin(), config.workers.end());
  fault.rank = static_cast<int>(straggler.required("rank").as_int(0, 1023));
  if (fault.rank >= fewest)
    straggler.required("rank").fail("must be a worker of every run; the smallest run has " + std::to_string(fewest) +
                                    " workers");
  fault.slowdown = straggler.required("slowdown").as_number(1, 1000);
  return fault;
}

ExperimentConfig parse_experiment_config(const nlohmann::json& json, const std::string& base_name) {
  const ConfigNode root(json, "");
  root.expect_keys({"name",       "description",      "model",        "data",    "optimizer",
                    "strategies", "workers",          "iterations",   "warmup",  "epochs",
                    "seed",       "threads",          "compute",      "network", "output",
                    "timeout_s",  "checkpoint_every", "max_restarts", "faults",  "simulate",
                    "trace",      "trace_keep"});
  ExperimentConfig config;
  config.source = json;
  config.name = root.get_string("name", base_name);
  if (const std::string why = why_not_a_plain_name(config.name); !why.empty()) {
    if (!root.has("name"))
      root.fail("the file name '" + base_name + "' is the experiment's name by default, and it " + why +
                "; give a \"name\"");
    root.required("name").fail(why);
  }
  if (const auto description = root.optional("description")) description->as_string();

  parse_model_and_data(root.required("model"), root.required("data"), config.model, config.data);
  config.optimizer = parse_optimizer(root.optional("optimizer"), config.model.name);

  std::set<std::string> labels;
  for (const auto& node : root.required("strategies").elements(1)) {
    config.strategies.push_back(parse_strategy(node));
    if (!labels.insert(config.strategies.back().label).second)
      node.fail("label '" + config.strategies.back().label + "' is used twice; give one a distinct \"label\"");
  }
  std::set<int> counts;
  for (const auto& node : root.required("workers").elements(1)) {
    config.workers.push_back(static_cast<int>(node.as_int(1, 1024)));
    if (!counts.insert(config.workers.back()).second) node.fail("worker count listed twice");
  }
  // Options that depend on the worker count, refused here rather than by every worker.
  const auto strategy_nodes = root.required("strategies").elements();
  for (std::size_t i = 0; i < config.strategies.size(); ++i) {
    for (int workers : config.workers) {
      try {
        sync::check_parameter_sync(config.strategies[i].name, config.strategies[i].options, workers);
      } catch (const std::invalid_argument& e) {
        strategy_nodes[i].fail(std::string(e.what()) + " (in the run with " + std::to_string(workers) + " workers)");
      }
    }
  }

  config.epochs = static_cast<int>(root.get_int("epochs", 1, 1000, 0));
  if (config.epochs > 0 && !config.data.ranked)
    root.required("epochs").fail("applies to " + ranked_models_text() + " only");
  for (const auto& strategy : config.strategies)
    if (config.epochs > 0 && strategy.options.task_model.enabled)
      root.required("epochs").fail("strategy '" + strategy.label +
                                   "' runs execution \"tasks\", which trains a fixed number of iterations");
  if (config.epochs == 0)
    config.iterations = root.required("iterations").as_int(1, 1'000'000'000);
  else
    config.iterations = root.get_int("iterations", 1, 1'000'000'000, 0);
  config.warmup = root.get_int("warmup", 0, 1'000'000, 2);
  config.seed = static_cast<std::uint64_t>(root.get_int("seed", 0, 1LL << 62, 1));
  config.threads = static_cast<int>(root.get_int("threads", 0, 1024, 0));
  if (const auto compute = root.optional("compute")) config.compute = parse_compute(*compute);
  if (config.compute.emulated() && config.epochs > 0)
    root.required("compute").fail("emulated compute cannot train epochs with evaluation; use \"iterations\"");
  if (const auto network = root.optional("network")) config.network = parse_network(*network);
  if (const auto simulate = root.optional("simulate")) {
    config.simulate = parse_simulate(*simulate, config.workers);
    // BigDL's rule: one model replica per core, each with a whole share of the batch.
    if (config.simulate.global_batch == 0 && config.model.batch % config.simulate.cores_per_node != 0)
      simulate->required("cores_per_node")
          .fail("model.batch " + std::to_string(config.model.batch) + " per worker is not a multiple of " +
                std::to_string(config.simulate.cores_per_node) +
                " cores (BigDL runs one replica per core); give simulate.global_batch for strong scaling");
  }
  config.output = root.get_string("output", "results/" + config.name);
  if (config.output.empty()) root.required("output").fail("must not be empty");
  config.timeout_s = root.get_number("timeout_s", 1, 86'400, 120);
  config.checkpoint_every = root.get_int("checkpoint_every", 1, 1'000'000'000, 0);
  if (const auto trace = root.optional("trace")) {
    if (trace->json().is_string()) {
      config.trace = true;
      const std::string level = trace->as_choice({"phases", "layers", "messages", "all"});
      config.trace_messages = level == "messages" || level == "all";
      config.trace_layers = level == "layers" || level == "all";
    } else if (trace->json().is_boolean()) {
      config.trace = trace->as_bool();
    } else {
      trace->fail("must be true, false, \"phases\", \"layers\", \"messages\" or \"all\", got " + trace->json().dump());
    }
  }
  config.trace_keep = root.get_int("trace_keep", 1, 1'000'000, config.trace_keep);
  if (!config.trace && root.has("trace_keep")) root.required("trace_keep").fail("applies with \"trace\": true only");
  config.max_restarts = static_cast<int>(root.get_int("max_restarts", 0, 100, config.max_restarts));
  if (config.checkpoint_every == 0 && root.has("max_restarts"))
    root.required("max_restarts")
        .fail("applies with \"checkpoint_every\" only: without checkpoints a run is not restarted");

  if (const auto faults = root.optional("faults")) {
    faults->expect_keys({"kill", "straggler"});
    if (const auto kill = faults->optional("kill")) config.kill = parse_kill(*kill, config);
    if (const auto straggler = faults->optional("straggler")) config.straggler = parse_straggler(*straggler, config);
  }
  return config;
}

ExperimentConfig load_experiment_config(const std::string& path, const std::vector<std::string>& overrides) {
  nlohmann::json json = read_json_file(path);
  for (const auto& edit : overrides) apply_override(json, edit);
  try {
    return parse_experiment_config(json, std::filesystem::path(path).stem().string());
  } catch (const ConfigError& e) {
    throw std::invalid_argument(path + ": " + e.what());  // "FILE: config: FIELD: reason"
  }
}

std::vector<RunSpec> sweep(const ExperimentConfig& config) {
  std::vector<RunSpec> runs;
  for (const auto& strategy : config.strategies)
    for (int workers : config.workers) runs.push_back({int(runs.size()) + 1, strategy, workers});
  return runs;
}

nlohmann::json ComputeSpec::emulation_json() const {
  nlohmann::json out{{"emulated_ms", emulated_ms}};
  if (forward_ms >= 0) out["forward_ms"] = forward_ms;
  if (!layer_backward_ms.empty()) out["layer_backward_ms"] = layer_backward_ms;
  return out;
}

std::string calibration_path(const ExperimentConfig& config) { return config.output + "/calibration.json"; }

}  // namespace syncbed::experiments
