#include "experiments/harness/records.h"

namespace syncbed::experiments {
namespace {

using nlohmann::json;

template <class T>
void put(json& out, const char* key, const std::optional<T>& value) {
  if (value) out[key] = *value;
}

void put(json& out, const char* key, const json& value) {
  if (!value.is_null()) out[key] = value;
}

template <class T>
std::optional<T> take(const json& in, const char* key) {
  const auto found = in.find(key);
  if (found == in.end() || found->is_null()) return std::nullopt;
  return found->get<T>();
}

json take_blob(const json& in, const char* key) { return in.contains(key) ? in[key] : json(); }

}  // namespace

RecordKind kind_of(const json& record) {
  const std::string kind = record.value("kind", "");
  if (kind == "start") return RecordKind::kStart;
  if (kind == "iteration") return RecordKind::kIteration;
  if (kind == "evaluation") return RecordKind::kEvaluation;
  if (kind == "checkpoint") return RecordKind::kCheckpoint;
  return RecordKind::kOther;
}

json StartRecord::to_json() const {
  return {{"kind", "start"}, {"iterations", iterations}, {"iterations_per_epoch", iterations_per_epoch}};
}

StartRecord StartRecord::from_json(const json& j) {
  return {j.at("iterations").get<long>(), j.value("iterations_per_epoch", 0L)};
}

json IterationRecord::to_json() const {
  json phase_seconds = json::object();
  for (const auto& [name, s] : phases) phase_seconds[name] = s;
  json out{{"kind", "iteration"},     {"iteration", iteration}, {"warmup", warmup},
           {"seconds", seconds},      {"compute_s", compute_s}, {"sync_s", sync_s},
           {"phases", phase_seconds}, {"loss", json()},         {"exposed_sync_s", exposed_sync_s}};
  put(out, "buckets", buckets);
  put(out, "loss", loss);
  if (epoch > 0) out["epoch"] = epoch;
  put(out, "jobs", jobs);
  if (drop)
    out["drop"] = {{"time_limit_s", drop->time_limit_s},
                   {"dropped", drop->dropped},
                   {"replicas", drop->replicas},
                   {"discarded", drop->discarded}};
  return out;
}

IterationRecord IterationRecord::from_json(const json& j) {
  IterationRecord r;
  r.iteration = j.at("iteration").get<long>();
  r.epoch = j.value("epoch", 0);
  r.warmup = j.at("warmup").get<bool>();
  r.seconds = j.at("seconds").get<double>();
  r.compute_s = j.at("compute_s").get<double>();
  r.sync_s = j.at("sync_s").get<double>();
  r.exposed_sync_s = j.value("exposed_sync_s", r.sync_s);  // records from before overlap: all of it
  r.buckets = take_blob(j, "buckets");
  r.loss = take<double>(j, "loss");
  for (const auto& [name, s] : j.at("phases").items()) r.phases.emplace_back(name, s.get<double>());
  r.jobs = take_blob(j, "jobs");
  if (const auto drop = j.find("drop"); drop != j.end())
    r.drop = DropRecord{drop->at("time_limit_s").get<double>(), drop->at("dropped").get<std::vector<int>>(),
                        drop->at("replicas").get<long>(), drop->at("discarded").get<bool>()};
  return r;
}

json EvaluationRecord::to_json() const {
  return {{"kind", "evaluation"}, {"epoch", epoch}, {"iteration", iteration}, {"users", users},
          {"hit_rate", hit_rate}, {"ndcg", ndcg},   {"seconds", seconds}};
}

EvaluationRecord EvaluationRecord::from_json(const json& j) {
  return {j.at("epoch").get<int>(),       j.value("iteration", 0L),   j.value("users", 0L),
          j.at("hit_rate").get<double>(), j.at("ndcg").get<double>(), j.at("seconds").get<double>()};
}

json CheckpointRecord::to_json() const {
  return {{"kind", "checkpoint"}, {"iteration", iteration}, {"seconds", seconds}};
}

CheckpointRecord CheckpointRecord::from_json(const json& j) {
  return {j.at("iteration").get<long>(), j.at("seconds").get<double>()};
}

json RunSummary::to_json() const {
  json out{{"experiment", experiment},
           {"config_hash", config_hash},
           {"run", run},
           {"strategy", strategy},
           {"workers", workers},
           {"emulated", emulated},
           {"kind", "summary"},
           {"status", status},
           {"strategy_name", strategy_name},
           {"model", model}};
  put(out, "host", host);
  put(out, "network", network);
  put(out, "wall_s", wall_s);
  put(out, "restarts", restarts);
  put(out, "redone_iterations", redone_iterations);
  if (!ok()) {
    out["error"] = error;
    return out;
  }
  out.update({{"servers", servers},
              {"driver", driver},
              {"batch_per_worker", batch_per_worker},
              {"item_unit", item_unit},
              {"parameters", parameters},
              {"threads_per_worker", threads_per_worker},
              {"iterations", iterations},
              {"warmup", warmup},
              {"items", items},
              {"seconds", seconds},
              {"throughput", throughput},
              {"iteration_ms", iteration_ms},
              {"compute_ms", compute_ms},
              {"sync_ms", sync_ms},
              {"exposed_sync_ms", exposed_sync_ms},
              {"sync_overhead", sync_overhead},
              {"phases_ms", phases_ms},
              {"loss_last", loss_last ? json(*loss_last) : json()}});
  put(out, "emulated_ms", emulated_ms);
  put(out, "weights_hash", weights_hash);
  put(out, "hit_rate", hit_rate);
  put(out, "ndcg", ndcg);
  put(out, "evaluations", evaluations);
  put(out, "scheduling_overhead", scheduling_overhead);
  put(out, "used_items", used_items);
  put(out, "effective_throughput", effective_throughput);
  put(out, "tasks", tasks);
  put(out, "checkpoints", checkpoints);
  put(out, "endpoints", endpoints);
  return out;
}

RunSummary RunSummary::from_json(const json& j) {
  RunSummary s;
  s.experiment = j.value("experiment", "");
  s.config_hash = j.value("config_hash", "");
  s.run = j.value("run", 0);
  s.strategy = j.at("strategy").get<std::string>();
  s.workers = j.at("workers").get<int>();
  s.emulated = j.value("emulated", false);
  s.status = j.at("status").get<std::string>();
  s.error = j.value("error", "");
  s.strategy_name = j.value("strategy_name", "");
  s.servers = j.value("servers", 0);
  s.driver = j.value("driver", 0);
  s.model = j.value("model", "");
  s.batch_per_worker = j.value("batch_per_worker", 0);
  s.item_unit = j.value("item_unit", "items");
  s.parameters = j.value("parameters", 0L);
  s.threads_per_worker = j.value("threads_per_worker", 0);
  s.iterations = j.value("iterations", 0L);
  s.warmup = j.value("warmup", 0L);
  s.items = j.value("items", 0L);
  s.seconds = j.value("seconds", 0.0);
  s.throughput = j.value("throughput", 0.0);
  s.iteration_ms = j.value("iteration_ms", 0.0);
  s.compute_ms = j.value("compute_ms", 0.0);
  s.sync_ms = j.value("sync_ms", 0.0);
  s.exposed_sync_ms = j.value("exposed_sync_ms", s.sync_ms);
  s.sync_overhead = j.value("sync_overhead", 0.0);
  if (j.contains("phases_ms")) s.phases_ms = j["phases_ms"].get<std::map<std::string, double>>();
  s.loss_last = take<double>(j, "loss_last");
  s.emulated_ms = take<double>(j, "emulated_ms");
  s.wall_s = take<double>(j, "wall_s");
  s.weights_hash = take<std::string>(j, "weights_hash");
  s.hit_rate = take<double>(j, "hit_rate");
  s.ndcg = take<double>(j, "ndcg");
  s.evaluations = take_blob(j, "evaluations");
  s.scheduling_overhead = take<double>(j, "scheduling_overhead");
  s.used_items = take<double>(j, "used_items");
  s.effective_throughput = take<double>(j, "effective_throughput");
  s.tasks = take_blob(j, "tasks");
  s.checkpoints = take_blob(j, "checkpoints");
  s.restarts = take_blob(j, "restarts");
  s.redone_iterations = take<long>(j, "redone_iterations");
  s.host = take_blob(j, "host");
  s.network = take_blob(j, "network");
  s.endpoints = take_blob(j, "endpoints");
  return s;
}

}  // namespace syncbed::experiments
