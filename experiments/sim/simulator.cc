#include "experiments/sim/simulator.h"

#include <algorithm>
#include <cmath>

#include "sync/registry.h"

namespace syncbed::experiments {
namespace {

// The fluid model of the cluster, priced for a strategy's cost model.
class FluidCluster : public sync::ClusterCosts {
 public:
  FluidCluster(const ClusterModel& cluster, int n, double parameters, bool bf16) : cluster_(cluster) {
    workers = n;
    this->parameters = parameters;
    wire_bytes = parameters * (bf16 ? 2 : 4);
    float_bytes = parameters * 4;
  }
  // Moving bytes costs CPU too: on one shared machine the whole cluster's traffic goes
  // through its cores, each pair of which moves stream_gbytes_per_s (sender + receiver).
  double traffic(double per_host_out, double per_host_in, double total_bytes) const override {
    double seconds = std::max(per_host_out, per_host_in) / cluster_.link_bytes_per_s;
    if (cluster_.shared_machine) {
      const double pairs = std::max(1.0, cluster_.machine.cores / 2.0);
      seconds = std::max(seconds, total_bytes / (cluster_.machine.stream_gbytes_per_s * 1e9 * pairs));
    }
    return seconds;
  }
  double latency_s() const override { return cluster_.latency_s; }
  double cpu(double seconds, int busy) const override {
    if (!cluster_.shared_machine) return seconds;
    return seconds * std::max(1.0, double(busy) / cluster_.machine.cores);
  }
  double sum_s(double bytes) const override { return bytes / (cluster_.machine.reduce_gbytes_per_s * 1e9); }
  double update_s(double params) const override { return params * cluster_.machine.optimizer_ns_per_parameter * 1e-9; }

 private:
  const ClusterModel& cluster_;
};

}  // namespace

double expected_max_of_normals(int n) {
  if (n <= 1) return 0;
  // E[max] = integral of x * n * phi(x) * Phi(x)^(n-1) dx, by the midpoint rule.
  const double step = 1e-3;
  double sum = 0;
  for (double x = -10; x < 10; x += step) {
    const double mid = x + step / 2;
    const double phi = std::exp(-mid * mid / 2) / std::sqrt(2 * M_PI);
    const double cdf = 0.5 * std::erfc(-mid / std::sqrt(2.0));
    sum += mid * n * phi * std::pow(cdf, n - 1) * step;
  }
  return sum;
}

// When backward has released [begin, end): the first release reaching down to begin.
double released_at(const ClusterModel& cluster, std::size_t begin) {
  for (const auto& [from, fraction] : cluster.releases)
    if (from <= begin) return fraction;
  return 1.0;
}

std::optional<SchedulerProfile> scheduler_of(const ClusterModel& cluster, const StrategySpec& strategy) {
  const std::string& name = strategy.scheduler.empty() ? cluster.scheduler : strategy.scheduler;
  if (name.empty()) return std::nullopt;
  return SchedulerProfile::named(name, strategy.options.task_model.group, cluster.measured_scheduler);
}

// BigDL's iteration is two jobs: each costs the scheduler's time per job, with Drizzle's
// grouping when the strategy groups iterations; long-running strategies schedule nothing.
double scheduling_s(const ClusterModel& cluster, const StrategySpec& strategy, int workers) {
  const auto& tasks = strategy.options.task_model;
  if (!tasks.enabled) return 0;
  const auto profile = scheduler_of(cluster, strategy);
  return profile ? 2.0 * profile->job_seconds(workers) : 2.0 * workers * cluster.driver_task_s;
}

SimulatedRun simulate_run(const ClusterModel& cluster, const StrategySpec& strategy, int workers,
                          std::size_t parameters, long items_per_worker) {
  const bool bf16 = strategy.options.compression == sync::Compression::kBf16;
  SimulatedRun run;
  run.strategy = strategy.label;
  run.workers = workers;
  const double batch_scale = cluster.compute_items ? double(items_per_worker) / double(cluster.compute_items) : 1.0;
  run.compute_s = (cluster.compute_s + expected_max_of_normals(workers) * cluster.compute_sd_s) * batch_scale;
  // Buckets one after another, each once released (without overlap: one, after compute).
  double done = 0;
  for (const ShardRange& bucket : sync::buckets(parameters, strategy.options.overlap)) {
    const FluidCluster priced(cluster, workers, static_cast<double>(bucket.size), bf16);
    double seconds = 0;
    for (const auto& [phase, s] : sync::find_strategy(strategy.name).costs(priced, strategy.options)) {
      run.phases_s[phase] += s;
      seconds += s;
    }
    const double ready =
        strategy.options.overlap.enabled ? released_at(cluster, bucket.begin) * run.compute_s : run.compute_s;
    done = std::max(done, ready) + seconds;
    run.sync_s += seconds;
  }
  if (strategy.options.task_model.enabled) {
    // Each task fetches its N blocks (weights in job 1, gradients in job 2) a few at a
    // time: every round after the first waits one more message latency. Nothing overlaps.
    const int rounds = (workers + cluster.fetch_concurrency - 1) / cluster.fetch_concurrency;
    const double waits = 2.0 * (rounds - 1) * cluster.latency_s;
    // BigDL 0.2.0: each node's N gradient puts one after another, after compute.
    const double puts = workers * cluster.serial_put_s;
    if (waits > 0) run.phases_s["fetch rounds"] = waits;
    if (puts > 0) run.phases_s["serial puts"] = puts;
    run.sync_s += waits + puts;
    done = std::max(done, run.compute_s) + waits + puts;
  }
  run.exposed_sync_s = std::max(0.0, done - run.compute_s);
  run.driver_s = scheduling_s(cluster, strategy, workers);
  run.iteration_s = run.compute_s + run.exposed_sync_s + run.driver_s;
  run.throughput = double(items_per_worker) * workers / run.iteration_s;
  return run;
}

}  // namespace syncbed::experiments
