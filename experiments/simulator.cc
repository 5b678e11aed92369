#include "experiments/simulator.h"

#include <algorithm>
#include <cmath>

namespace syncbed::experiments {
namespace {

struct Context {
  const ClusterModel& cluster;
  int n;               // workers
  double parameters;
  double wire_bytes;   // the gradient or weights as sent (bf16 halves them)
  double float_bytes;  // as summed

  double link(double bytes_out, double bytes_in) const {
    return std::max(bytes_out, bytes_in) / cluster.link_bytes_per_s;
  }
  // Moving bytes costs CPU too: on one shared machine the whole cluster's traffic goes
  // through its cores, each pair of which moves stream_gbytes_per_s (sender + receiver).
  double traffic(double per_host_out, double per_host_in, double total_bytes) const {
    double seconds = link(per_host_out, per_host_in);
    if (cluster.shared_machine) {
      const double pairs = std::max(1.0, cluster.machine.cores / 2.0);
      seconds = std::max(seconds, total_bytes / (cluster.machine.stream_gbytes_per_s * 1e9 * pairs));
    }
    return seconds;
  }
  // CPU work that `busy` hosts do at the same time.
  double cpu(double seconds, int busy) const {
    if (!cluster.shared_machine) return seconds;
    return seconds * std::max(1.0, double(busy) / cluster.machine.cores);
  }
  double sum_s(double bytes) const { return bytes / (cluster.machine.reduce_gbytes_per_s * 1e9); }
  double update_s(double params) const { return params * cluster.machine.optimizer_ns_per_parameter * 1e-9; }
};

// Shuffle every gradient shard to its owner, sum, update the shard, broadcast it back.
void sharded(const Context& c, SimulatedRun& run) {
  const double share = (c.n - 1.0) / c.n;
  const double exchange = c.n > 1 ? c.traffic(share * c.wire_bytes, share * c.wire_bytes, c.n * share * c.wire_bytes) + c.cluster.latency_s
                                  : 0;
  run.phases_s["shuffle"] = exchange;
  run.phases_s["aggregate"] = c.cpu(c.sum_s(share * c.float_bytes), c.n);
  run.phases_s["update"] = c.cpu(c.update_s(c.parameters / c.n), c.n);
  run.phases_s["broadcast"] = exchange;
}

// Reduce-scatter then allgather around the ring: 2(N-1) steps of 1/N of the vector, each
// waiting for the previous one's message; then every worker runs the whole optimizer.
void ring(const Context& c, SimulatedRun& run) {
  const double steps = 2.0 * (c.n - 1);
  const double chunk = c.wire_bytes / c.n;
  run.phases_s["allreduce"] =
      c.n > 1 ? steps * (c.traffic(chunk, chunk, c.n * chunk) + c.cluster.latency_s) +
                    c.cpu(c.sum_s((c.n - 1.0) / c.n * c.float_bytes), c.n)
              : 0;
  run.phases_s["update"] = c.cpu(c.update_s(c.parameters), c.n);
}

// Workers push each server its key range, servers sum and update, workers pull the
// results. Co-located servers live on workers 0..k-1; separate ones on hosts of their own.
void parameter_server(const Context& c, const sync::SyncOptions& options, SimulatedRun& run) {
  const int k = options.ps_servers > 0 ? options.ps_servers : c.n;
  const bool separate = options.ps_separate_servers;
  const double piece = c.wire_bytes / k;
  // A worker sends a piece to every server but its own; a server receives one from
  // every worker but itself. A host that is both does both over one link.
  const double worker_out = piece * (separate ? k : k - 1);
  const double server_in = piece * (separate ? c.n : c.n - 1);
  const double busiest = std::max(worker_out, server_in);
  const double total = c.n * worker_out;
  const double move = (c.n > 1 || separate) ? c.traffic(busiest, busiest, total) + c.cluster.latency_s : 0;
  run.phases_s["push"] = move;
  run.phases_s["server"] = c.cpu(c.sum_s((c.n - 1.0) * c.float_bytes / k) + c.update_s(c.parameters / k), k);
  run.phases_s["pull"] = move;
}

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

SimulatedRun simulate_run(const ClusterModel& cluster, const StrategySpec& strategy, int workers,
                          std::size_t parameters, long items_per_worker) {
  const double params = static_cast<double>(parameters);
  const bool bf16 = strategy.options.compression == "bf16";
  const Context context{cluster, workers, params, params * (bf16 ? 2 : 4), params * 4};
  SimulatedRun run;
  run.strategy = strategy.label;
  run.workers = workers;
  if (strategy.name == "sharded")
    sharded(context, run);
  else if (strategy.name == "ring")
    ring(context, run);
  else
    parameter_server(context, strategy.options, run);
  for (const auto& [phase, seconds] : run.phases_s) run.sync_s += seconds;
  run.compute_s = cluster.compute_s + expected_max_of_normals(workers) * cluster.compute_sd_s;
  run.driver_s = 2.0 * workers * cluster.driver_task_s;
  run.iteration_s = run.compute_s + run.sync_s + run.driver_s;
  run.throughput = double(items_per_worker) * workers / run.iteration_s;
  return run;
}

}  // namespace syncbed::experiments
