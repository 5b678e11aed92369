#include "experiments/harness/results.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include "core/atomic_file.h"

namespace syncbed::experiments {
namespace {

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

nlohmann::json identity(const RunFacts& facts) {
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
  const nlohmann::json id = identity(facts);
  for (auto& record : records) {
    nlohmann::json tagged = id;
    tagged.update(record);
    record = std::move(tagged);
  }
}

nlohmann::json summarize_run(const RunFacts& facts, const std::vector<nlohmann::json>& records,
                             const nlohmann::json& info, const nlohmann::json& host) {
  std::vector<double> seconds, compute, sync, losses, checkpoints;
  std::map<std::string, std::vector<double>> phases;
  nlohmann::json evaluations = nlohmann::json::array();
  long iterations = 0;
  long used_replicas = 0;  // task model: the replicas whose gradients made an update
  bool drop_records = false;
  for (const auto& r : records) {
    if (r.at("kind") == "evaluation") {
      evaluations.push_back({{"epoch", r.at("epoch")},
                             {"hit_rate", r.at("hit_rate")},
                             {"ndcg", r.at("ndcg")},
                             {"seconds", r.at("seconds")}});
      continue;
    }
    if (r.at("kind") == "checkpoint") checkpoints.push_back(r.at("seconds"));
    if (r.at("kind") != "iteration") continue;
    ++iterations;
    if (r.at("warmup").get<bool>()) continue;
    seconds.push_back(r.at("seconds"));
    compute.push_back(r.at("compute_s"));
    sync.push_back(r.at("sync_s"));
    if (!r.at("loss").is_null()) losses.push_back(r.at("loss"));
    for (const auto& [name, s] : r.at("phases").items()) phases[name].push_back(s);
    if (const auto drop = r.find("drop"); drop != r.end()) {
      drop_records = true;
      if (!drop->at("discarded").get<bool>()) used_replicas += drop->at("replicas").get<long>();
    }
  }
  if (iterations != info.at("iterations").get<long>())
    throw std::runtime_error("rank 0 recorded " + std::to_string(iterations) + " of " +
                             std::to_string(info.at("iterations").get<long>()) + " iterations");
  double total = 0, compute_total = 0, sync_total = 0;
  for (std::size_t i = 0; i < seconds.size(); ++i) {
    total += seconds[i];
    compute_total += compute[i];
    sync_total += sync[i];
  }
  const long per_iteration = info.at("items_per_worker").get<long>() * facts.workers;
  const long items = per_iteration * static_cast<long>(seconds.size());
  nlohmann::json phase_medians = nlohmann::json::object();
  for (const auto& [name, values] : phases) phase_medians[name] = median(values) * 1e3;
  const std::size_t tail = std::min<std::size_t>(10, losses.size());
  double last_loss = 0;
  for (std::size_t i = losses.size() - tail; i < losses.size(); ++i) last_loss += losses[i] / tail;

  nlohmann::json summary = identity(facts);
  summary.update({{"kind", "summary"},
                  {"status", "ok"},
                  {"strategy_name", facts.strategy_name},
                  {"servers", facts.extra_ranks},
                  {"model", facts.model},
                  {"batch_per_worker", facts.batch_per_worker},
                  {"item_unit", info.at("item_unit")},
                  {"parameters", info.at("parameters")},
                  {"threads_per_worker", info.at("threads_per_worker")},
                  {"iterations", seconds.size()},
                  {"warmup", info.at("warmup")},
                  {"items", items},
                  {"seconds", total},
                  {"throughput", total > 0 ? items / total : 0.0},
                  {"iteration_ms", median(seconds) * 1e3},
                  {"compute_ms", median(compute) * 1e3},
                  {"sync_ms", median(sync) * 1e3},
                  {"sync_overhead", compute_total > 0 ? sync_total / compute_total : 0.0},
                  {"phases_ms", phase_medians},
                  {"loss_last", facts.emulated ? nlohmann::json() : nlohmann::json(last_loss)},
                  {"host", host}});
  if (facts.emulated) summary["emulated_ms"] = facts.emulated_ms;
  if (!facts.network.is_null()) summary["network"] = facts.network;
  if (info.contains("endpoints")) summary["endpoints"] = info["endpoints"];
  if (info.contains("weights_hash")) summary["weights_hash"] = info["weights_hash"];
  if (info.contains("tasks")) {
    // The task model's driver records what scheduling cost each iteration: as a fraction
    // of compute, the paper's Fig. 8 measure.
    summary["tasks"] = info["tasks"];
    double scheduling = 0;
    for (double s : phases["scheduling"]) scheduling += s;
    summary["scheduling_overhead"] = compute_total > 0 ? scheduling / compute_total : 0.0;
  }
  if (!checkpoints.empty()) {  // written between iterations, so not in the throughput
    double total_s = 0;
    for (double c : checkpoints) total_s += c;
    summary["checkpoints"] = {
        {"count", checkpoints.size()}, {"median_ms", median(checkpoints) * 1e3}, {"total_s", total_s}};
  }
  if (drop_records) {
    // With straggler dropping, items computed are not items learned from: a dropped task's
    // batch and a discarded iteration's batches never reach the weights.
    const double used_items = static_cast<double>(used_replicas) * info.at("items_per_worker").get<double>();
    summary["used_items"] = used_items;
    summary["effective_throughput"] = total > 0 ? used_items / total : 0.0;
  }
  if (!evaluations.empty()) {
    summary["evaluations"] = evaluations;
    summary["hit_rate"] = evaluations.back()["hit_rate"];
    summary["ndcg"] = evaluations.back()["ndcg"];
  }
  return summary;
}

nlohmann::json failed_run(const RunFacts& facts, const std::string& error, const nlohmann::json& host) {
  nlohmann::json summary = identity(facts);
  summary.update({{"kind", "summary"},
                  {"status", "failed"},
                  {"error", error},
                  {"strategy_name", facts.strategy_name},
                  {"model", facts.model},
                  {"host", host}});
  if (!facts.network.is_null()) summary["network"] = facts.network;
  return summary;
}

void write_results(const std::string& dir, const nlohmann::json& config, const std::vector<nlohmann::json>& summaries,
                   const std::vector<nlohmann::json>& records) {
  std::vector<nlohmann::json> flat_summaries;
  for (auto s : summaries) {
    s.erase("host");  // the same for every run; kept in the JSON lines
    s.erase("evaluations");
    flat_summaries.push_back(std::move(s));
  }
  write_file_set(dir, {{"config.json", config.dump(2) + "\n"},
                       {"summary.jsonl", to_jsonl(summaries)},
                       {"summary.csv", to_csv(flat_summaries, {"run", "strategy", "workers", "status"})},
                       {"records.jsonl", to_jsonl(records)},
                       {"records.csv", to_csv(records, {"run", "strategy", "workers", "kind", "iteration"})}});
}

std::vector<nlohmann::json> read_summaries(const std::string& dir) {
  const std::string path = dir + "/summary.jsonl";
  std::ifstream in(path);
  if (!in) throw std::invalid_argument("cannot read " + path + " (is '" + dir + "' a results directory?)");
  std::vector<nlohmann::json> summaries;
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (line.empty()) continue;
    auto record = nlohmann::json::parse(line, nullptr, false);
    if (record.is_discarded() || !record.is_object() || !record.contains("strategy") || !record.contains("workers") ||
        !record.contains("status"))
      throw std::invalid_argument(path + ":" + std::to_string(number) + ": not a summary record");
    summaries.push_back(std::move(record));
  }
  return summaries;
}

std::string comparison_table(const std::vector<nlohmann::json>& summaries) {
  // Efficiency is against the strategy's smallest successful N (normally N=1):
  // throughput / (N / N0 x throughput at N0).
  std::map<std::string, std::pair<int, double>> base;  // strategy -> (N0, throughput)
  std::vector<std::string> order;
  bool ranked = false;
  int width = 14;  // of the strategy column
  for (const auto& s : summaries) {
    const std::string strategy = s.at("strategy");
    width = std::max(width, static_cast<int>(strategy.size()));
    if (std::find(order.begin(), order.end(), strategy) == order.end()) order.push_back(strategy);
    const int workers = s.at("workers");
    if (s.at("status") == "ok" && (!base.count(strategy) || workers < base[strategy].first))
      base[strategy] = {workers, s.at("throughput").get<double>()};
    ranked = ranked || s.contains("hit_rate");
  }
  std::string unit = "items";
  for (const auto& s : summaries)
    if (s.contains("item_unit")) unit = s["item_unit"];
  std::ostringstream out;
  char line[1024];
  std::snprintf(line, sizeof line, "%-*s %4s %12s %7s %9s %9s %9s %8s%s  %s\n", width, "strategy", "N",
                (unit + "/s").c_str(), "effic.", "iter ms", "compute", "sync", "sync/cmp", ranked ? "   HR@10" : "",
                "sync phases, median ms");
  out << line;
  for (const auto& strategy : order)
    for (const auto& s : summaries) {
      if (s.at("strategy") != strategy) continue;
      const int workers = s.at("workers");
      if (s.at("status") != "ok") {
        std::snprintf(line, sizeof line, "%-*s %4d  FAILED: %.200s\n", width, strategy.c_str(), workers,
                      s.value("error", std::string("?")).c_str());
        out << line;
        continue;
      }
      const double throughput = s.at("throughput");
      char efficiency[16] = "      -";
      if (const auto& [n0, t0] = base[strategy]; t0 > 0)
        std::snprintf(efficiency, sizeof efficiency, "%6.1f%%", 100 * throughput * n0 / (workers * t0));
      std::string phases;
      for (const auto& [name, ms] : s.at("phases_ms").items()) {
        char part[64];
        std::snprintf(part, sizeof part, "%s%s %.1f", phases.empty() ? "" : ", ", name.c_str(), ms.get<double>());
        phases += part;
      }
      char hit_rate[16] = "";
      if (ranked && s.contains("hit_rate"))
        std::snprintf(hit_rate, sizeof hit_rate, "  %.4f", s["hit_rate"].get<double>());
      else if (ranked)
        std::snprintf(hit_rate, sizeof hit_rate, "  %6s", "-");
      std::snprintf(line, sizeof line, "%-*s %4d %12.1f %7s %9.1f %9.1f %9.1f %7.1f%%%s  %s%s\n", width,
                    strategy.c_str(), workers, throughput, efficiency, s.at("iteration_ms").get<double>(),
                    s.at("compute_ms").get<double>(), s.at("sync_ms").get<double>(),
                    100 * s.at("sync_overhead").get<double>(), hit_rate, phases.c_str(),
                    s.value("emulated", false) ? " (emulated compute)" : "");
      out << line;
    }
  return out.str();
}

}  // namespace syncbed::experiments
