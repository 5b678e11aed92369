#include "experiments/harness/results.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include "core/atomic_file.h"
#include "core/median.h"

namespace syncbed::experiments {
namespace {

nlohmann::json identity_fields(const RunFacts& facts) {
  return {{"experiment", facts.experiment}, {"config_hash", facts.config_hash}, {"run", facts.run},
          {"strategy", facts.strategy},     {"workers", facts.workers},         {"emulated", facts.emulated}};
}

std::string csv_field(const nlohmann::json& value) {
  std::string text = value.is_string() ? value.get<std::string>() : value.is_null() ? "" : value.dump();
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c == '\n' ? ' ' : c);
  return quoted + "\"";
}

}  // namespace

std::string to_jsonl(const std::vector<nlohmann::json>& records) {
  std::string out;
  for (const auto& r : records) out += r.dump() + "\n";
  return out;
}

std::string to_csv(const std::vector<nlohmann::json>& records, const std::vector<std::string>& leading) {
  std::vector<std::string> columns = leading;
  std::set<std::string> seen(columns.begin(), columns.end());
  std::vector<nlohmann::json> flat;
  for (const auto& record : records) {
    nlohmann::json row;
    for (const auto& [key, value] : record.items()) {
      if (value.is_object()) {
        for (const auto& [inner, v] : value.items()) row[key + "." + inner] = v;
      } else if (!value.is_array()) {
        row[key] = value;
      }
    }
    for (const auto& [key, unused] : row.items())
      if (seen.insert(key).second) columns.push_back(key);
    flat.push_back(std::move(row));
  }
  std::string out;
  for (std::size_t c = 0; c < columns.size(); ++c) {
    if (c) out += ',';
    out += columns[c];
  }
  out += '\n';
  for (const auto& row : flat) {
    for (std::size_t c = 0; c < columns.size(); ++c) {
      if (c) out += ',';
      if (row.contains(columns[c])) out += csv_field(row[columns[c]]);
    }
    out += '\n';
  }
  return out;
}

void tag_records(const RunFacts& facts, std::vector<nlohmann::json>& records) {
  const nlohmann::json id = identity_fields(facts);
  for (auto& record : records) {
    nlohmann::json tagged = id;
    tagged.update(record);
    record = std::move(tagged);
  }
}

namespace {

// The medians and sums of a run's timed iterations, and what its other records say.
struct Tally {
  std::vector<double> seconds, compute, sync, exposed, losses, checkpoints;
  std::map<std::string, std::vector<double>> phases;
  nlohmann::json evaluations = nlohmann::json::array();
  long iterations = 0;     // warm-up included
  long used_replicas = 0;  // task model: the replicas whose gradients made an update
  bool dropping = false;   // task model with straggler drop

  explicit Tally(const std::vector<nlohmann::json>& records) {
    for (const auto& r : records) {
      switch (kind_of(r)) {
        case RecordKind::kEvaluation: {
          const auto e = EvaluationRecord::from_json(r);
          evaluations.push_back(
              {{"epoch", e.epoch}, {"hit_rate", e.hit_rate}, {"ndcg", e.ndcg}, {"seconds", e.seconds}});
          break;
        }
        case RecordKind::kCheckpoint:
          checkpoints.push_back(CheckpointRecord::from_json(r).seconds);
          break;
        case RecordKind::kIteration:
          add(IterationRecord::from_json(r));
          break;
        default:
          break;
      }
    }
  }

  void add(const IterationRecord& r) {
    ++iterations;
    if (r.warmup) return;
    seconds.push_back(r.seconds);
    compute.push_back(r.compute_s);
    sync.push_back(r.sync_s);
    exposed.push_back(r.exposed_sync_s);
    if (r.loss) losses.push_back(*r.loss);
    for (const auto& [name, s] : r.phases) phases[name].push_back(s);
    if (r.drop) {
      dropping = true;
      if (!r.drop->discarded) used_replicas += r.drop->replicas;
    }
  }

  static double sum(const std::vector<double>& values) {
    double total = 0;
    for (double v : values) total += v;
    return total;
  }

  double mean_of_last_losses(std::size_t count) const {
    const std::size_t tail = std::min(count, losses.size());
    double mean = 0;
    for (std::size_t i = losses.size() - tail; i < losses.size(); ++i) mean += losses[i] / tail;
    return mean;
  }
};

RunSummary identity(const RunFacts& facts, const nlohmann::json& host) {
  RunSummary s;
  s.experiment = facts.experiment;
  s.config_hash = facts.config_hash;
  s.run = facts.run;
  s.strategy = facts.strategy;
  s.workers = facts.workers;
  s.emulated = facts.emulated;
  s.strategy_name = facts.strategy_name;
  s.model = facts.model;
  s.host = host;
  s.network = facts.network;
  return s;
}

}  // namespace

RunSummary summarize_run(const RunFacts& facts, const std::vector<nlohmann::json>& records, const nlohmann::json& info,
                         const nlohmann::json& host) {
  const Tally tally(records);
  if (tally.iterations != info.at("iterations").get<long>())
    throw std::runtime_error("rank 0 recorded " + std::to_string(tally.iterations) + " of " +
                             std::to_string(info.at("iterations").get<long>()) + " iterations");
  const double total = Tally::sum(tally.seconds), compute_total = Tally::sum(tally.compute);
  const long items_per_worker = info.at("items_per_worker").get<long>();

  RunSummary s = identity(facts, host);
  s.servers = facts.servers;
  s.driver = facts.driver;
  s.batch_per_worker = facts.batch_per_worker;
  s.item_unit = info.at("item_unit");
  s.parameters = info.at("parameters");
  s.threads_per_worker = info.at("threads_per_worker");
  s.iterations = static_cast<long>(tally.seconds.size());
  s.warmup = info.at("warmup");
  s.items = items_per_worker * facts.workers * s.iterations;
  s.seconds = total;
  s.throughput = total > 0 ? s.items / total : 0.0;
  s.iteration_ms = median_of(tally.seconds) * 1e3;
  s.compute_ms = median_of(tally.compute) * 1e3;
  s.sync_ms = median_of(tally.sync) * 1e3;
  s.exposed_sync_ms = median_of(tally.exposed) * 1e3;
  s.sync_overhead = compute_total > 0 ? Tally::sum(tally.exposed) / compute_total : 0.0;
  for (const auto& [name, values] : tally.phases) s.phases_ms[name] = median_of(values) * 1e3;
  if (!facts.emulated) s.loss_last = tally.mean_of_last_losses(10);
  if (facts.emulated) s.emulated_ms = facts.emulated_ms;
  if (info.contains("endpoints")) s.endpoints = info["endpoints"];
  if (info.contains("weights_hash")) s.weights_hash = info["weights_hash"];
  if (info.contains("tasks")) {
    // The task model's driver records what scheduling cost each iteration: as a fraction
    // of compute, the paper's Fig. 8 measure.
    s.tasks = info["tasks"];
    const auto scheduling = tally.phases.find("scheduling");
    s.scheduling_overhead =
        compute_total > 0 && scheduling != tally.phases.end() ? Tally::sum(scheduling->second) / compute_total : 0.0;
  }
  if (!tally.checkpoints.empty())  // written between iterations, so not in the throughput
    s.checkpoints = {{"count", tally.checkpoints.size()},
                     {"median_ms", median_of(tally.checkpoints) * 1e3},
                     {"total_s", Tally::sum(tally.checkpoints)}};
  if (tally.dropping) {
    // With straggler dropping, items computed are not items learned from: a dropped task's
    // batch and a discarded iteration's batches never reach the weights.
    s.used_items = static_cast<double>(tally.used_replicas) * items_per_worker;
    s.effective_throughput = total > 0 ? *s.used_items / total : 0.0;
  }
  if (!tally.evaluations.empty()) {
    s.evaluations = tally.evaluations;
    s.hit_rate = tally.evaluations.back()["hit_rate"].get<double>();
    s.ndcg = tally.evaluations.back()["ndcg"].get<double>();
  }
  return s;
}

RunSummary failed_run(const RunFacts& facts, const std::string& error, const nlohmann::json& host) {
  RunSummary s = identity(facts, host);
  s.status = "failed";
  s.error = error;
  return s;
}

void write_results(const std::string& dir, const nlohmann::json& config, const std::vector<RunSummary>& summaries,
                   const std::vector<nlohmann::json>& records) {
  std::vector<nlohmann::json> lines, flat_summaries;
  for (const auto& summary : summaries) {
    lines.push_back(summary.to_json());
    nlohmann::json flat = lines.back();
    flat.erase("host");  // the same for every run; kept in the JSON lines
    flat.erase("evaluations");
    flat_summaries.push_back(std::move(flat));
  }
  write_file_set(dir, {{"config.json", config.dump(2) + "\n"},
                       {"summary.jsonl", to_jsonl(lines)},
                       {"summary.csv", to_csv(flat_summaries, {"run", "strategy", "workers", "status"})},
                       {"records.jsonl", to_jsonl(records)},
                       {"records.csv", to_csv(records, {"run", "strategy", "workers", "kind", "iteration"})}});
}

std::vector<RunSummary> read_summaries(const std::string& dir) {
  const std::string path = dir + "/summary.jsonl";
  std::ifstream in(path);
  if (!in) throw std::invalid_argument("cannot read " + path + " (is '" + dir + "' a results directory?)");
  std::vector<RunSummary> summaries;
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (line.empty()) continue;
    auto record = nlohmann::json::parse(line, nullptr, false);
    if (record.is_discarded() || !record.is_object() || !record.contains("strategy") || !record.contains("workers") ||
        !record.contains("status"))
      throw std::invalid_argument(path + ":" + std::to_string(number) + ": not a summary record");
    try {
      summaries.push_back(RunSummary::from_json(record));
    } catch (const nlohmann::json::exception& e) {
      throw std::invalid_argument(path + ":" + std::to_string(number) + ": not a summary record (" + e.what() + ")");
    }
  }
  return summaries;
}

namespace {

// Real compute whose ranks together want more threads than the host has cores.
bool shares_cores(const RunSummary& s) {
  if (s.emulated || !s.host.is_object() || !s.host.contains("cores")) return false;
  const long cores = s.host["cores"].get<long>();
  const long ranks = s.workers + s.servers + s.driver;
  return cores > 0 && (ranks > cores || long(s.workers) * std::max(1, s.threads_per_worker) > cores);
}

}  // namespace

std::string comparison_table(const std::vector<RunSummary>& summaries) {
  // Efficiency is against the strategy's smallest successful N (normally N=1):
  // throughput / (N / N0 x throughput at N0).
  std::map<std::string, std::pair<int, double>> base;  // strategy -> (N0, throughput)
  std::vector<std::string> order;
  bool ranked = false;
  int width = 14;  // of the strategy column
  std::string unit = "items";
  for (const auto& s : summaries) {
    width = std::max(width, static_cast<int>(s.strategy.size()));
    if (std::find(order.begin(), order.end(), s.strategy) == order.end()) order.push_back(s.strategy);
    if (s.ok() && (!base.count(s.strategy) || s.workers < base[s.strategy].first))
      base[s.strategy] = {s.workers, s.throughput};
    ranked = ranked || s.hit_rate.has_value();
    if (s.ok()) unit = s.item_unit;
  }
  std::ostringstream out;
  char line[1024];
  std::snprintf(line, sizeof line, "%-*s %4s %12s %8s %9s %9s %9s %9s %8s%s  %s\n", width, "strategy", "N",
                (unit + "/s").c_str(), "effic.", "iter ms", "compute", "sync", "exposed", "exp/cmp",
                ranked ? "   HR@10" : "", "sync phases, median ms");
  out << line;
  bool shared = false, above_linear = false, emulated = false;
  for (const auto& strategy : order)
    for (const auto& s : summaries) {
      if (s.strategy != strategy) continue;
      if (!s.ok()) {
        std::snprintf(line, sizeof line, "%-*s %4d  FAILED: %.200s\n", width, strategy.c_str(), s.workers,
                      s.error.c_str());
        out << line;
        continue;
      }
      char efficiency[16] = "      - ";
      if (const auto& [n0, t0] = base[strategy]; t0 > 0) {
        const double percent = 100 * s.throughput * n0 / (s.workers * t0);
        // '!' above 100% (the baseline run was disturbed), '*' where workers shared cores.
        const char mark = percent > 100.5 ? '!' : shares_cores(s) ? '*' : ' ';
        std::snprintf(efficiency, sizeof efficiency, "%6.1f%%%c", percent, mark);
        above_linear = above_linear || mark == '!';
        shared = shared || mark == '*';
      }
      std::string phases;
      for (const auto& [name, ms] : s.phases_ms) {
        char part[64];
        std::snprintf(part, sizeof part, "%s%s %.1f", phases.empty() ? "" : ", ", name.c_str(), ms);
        phases += part;
      }
      char hit_rate[16] = "";
      if (ranked && s.hit_rate)
        std::snprintf(hit_rate, sizeof hit_rate, "  %.4f", *s.hit_rate);
      else if (ranked)
        std::snprintf(hit_rate, sizeof hit_rate, "  %6s", "-");
      std::snprintf(line, sizeof line, "%-*s %4d %12.1f %8s %9.1f %9.1f %9.1f %9.1f %7.1f%%%s  %s%s\n", width,
                    strategy.c_str(), s.workers, s.throughput, efficiency, s.iteration_ms, s.compute_ms, s.sync_ms,
                    s.exposed_sync_ms, 100 * s.sync_overhead, hit_rate, phases.c_str(),
                    s.emulated ? " (emulated compute)" : "");
      out << line;
      emulated = emulated || s.emulated;
    }
  if (emulated)
    out << "emulated compute: each worker sleeps for this machine's calibrated compute time instead of computing,\n"
           "  so N may exceed the cores while the gradients are synchronized for real; efficiency is what N\n"
           "  machines like this one would reach over the run's network (loopback unless the config says netns).\n";
  if (shared)
    out << "* real compute on workers that share this host's cores: each of N workers computes with a share of\n"
           "  the machine, so efficiency says how N workers share one machine, not how they would scale on N\n"
           "  machines; emulated compute (\"compute\": {\"from_calibration\": true}) measures the latter.\n";
  if (above_linear)
    out << "! efficiency above 100%: the strategy's run at its smallest N was slower per worker than this one, so\n"
           "  that baseline was disturbed (outside load, or OpenMP threads spinning against each other); compare\n"
           "  iteration and sync times instead, or run again.\n";
  return out.str();
}

}  // namespace syncbed::experiments
