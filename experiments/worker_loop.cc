#include "experiments/worker_loop.h"

#include <signal.h>

#include <array>
#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/clock.h"
#include "core/hash.h"
#include "core/log.h"
#include "experiments/gather.h"
#include "experiments/record_writer.h"
#include "experiments/task_worker.h"
#include "experiments/workload.h"
#include "models/dnnl_context.h"
#include "sync/parameter_sync.h"

namespace syncbed::experiments {
namespace {

// Distinct from every strategy's tags.
constexpr std::uint64_t kChecksumTag = 1ull << 51;
constexpr std::uint64_t kRankingTag = (1ull << 51) + 1;

// Rank 0 gets the sum of every worker's ranking slice (the others get their own).
RankingSums gather_ranking(net::Mesh& mesh, int workers, RankingSums mine) {
  const std::array<double, 3> values{mine.hits, mine.ndcg, mine.users};
  gather_at_rank0(mesh, workers, kRankingTag, std::span<const double>(values),
                  [&](int, std::span<const double> theirs) {
                    mine.hits += theirs[0];
                    mine.ndcg += theirs[1];
                    mine.users += theirs[2];
                  });
  return mine;
}

// Every worker's weights must be bitwise identical after the last step.
void check_identical_weights(net::Mesh& mesh, int workers, std::span<const float> weights) {
  const std::uint64_t mine = fnv1a64(std::as_bytes(weights));
  gather_at_rank0(mesh, workers, kChecksumTag, std::span<const std::uint64_t>(&mine, 1),
                  [&](int peer, std::span<const std::uint64_t> theirs) {
                    if (theirs[0] != mine)
                      throw std::runtime_error(
                          "the weights of rank " + std::to_string(peer) +
                          " differ from rank 0's after the last step: the strategy did not keep them identical");
                  });
}

nlohmann::json phases_json(const sync::PhaseTimes& times) {
  std::map<std::string, double> sums;  // a phase may run several times in one step
  for (const auto& [name, seconds] : times.phases) sums[name] += seconds;
  return sums;
}

}  // namespace

std::string weights_hash(std::span<const float> weights) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a64(std::as_bytes(weights))));
  return hex;
}

nlohmann::json run_info(const net::Mesh& mesh, std::span<const float> weights, const Workload& workload,
                        long iterations, long warmup, long iterations_per_epoch) {
  nlohmann::json endpoints = nlohmann::json::array();  // where the ranks listened: which hosts ran the job
  for (int r = 0; r < mesh.size(); ++r) endpoints.push_back(mesh.endpoint(r).to_string());
  return {{"parameters", weights.size()},
          {"weights_hash", weights_hash(weights)},
          {"endpoints", endpoints},
          {"items_per_worker", workload.items_per_iteration()},
          {"item_unit", workload.item_unit()},
          {"threads_per_worker", models::compute_threads()},
          {"iterations", iterations},
          {"warmup", warmup},
          {"iterations_per_epoch", iterations_per_epoch}};
}

void run_worker(const ExperimentConfig& config, const RunSpec& run, net::Mesh& mesh, const WorkerRunOptions& options) {
  const int rank = mesh.rank();
  const int workers = run.workers;
  if (mesh.size() != workers + run.strategy.extra_ranks())
    throw std::invalid_argument("run " + std::to_string(run.index) + " (" + run.title() + ") needs " +
                                std::to_string(workers + run.strategy.extra_ranks()) + " ranks, the job has " +
                                std::to_string(mesh.size()));
  models::set_compute_threads(options.threads > 0 ? options.threads : config.threads_for(workers));
  if (run.strategy.options.tasks()) return run_task_worker(config, run, mesh, options);
  const bool serves_only = rank >= workers;
  // A server needs the model's size only; a worker loads its share of the data too.
  auto workload = make_workload(config, serves_only ? 0 : rank, workers);
  sync::SyncOptions sync_options = run.strategy.options;
  sync_options.parameters = workload->weights().size();
  sync_options.optimizer = config.optimizer;
  auto strategy = sync::make_parameter_sync(run.strategy.name, mesh, sync_options);
  if (strategy->serves_only()) {
    strategy->serve();
    return;
  }

  RecordWriter records(rank == 0 ? options.records_path : "");
  const long per_epoch = config.epochs > 0 ? workload->iterations_per_epoch() : 0;
  const long total = per_epoch > 0 ? per_epoch * config.epochs : config.warmup + config.iterations;
  const long warmup = std::min(config.warmup, total - 1);

  records.write({{"kind", "start"}, {"iterations", total}, {"iterations_per_epoch", per_epoch}});
  auto evaluate = [&](int epoch, long iteration) {
    Stopwatch watch;
    const RankingSums all = gather_ranking(mesh, workers, workload->evaluate(rank, workers));
    records.write({{"kind", "evaluation"},
                   {"epoch", epoch},
                   {"iteration", iteration},
                   {"users", all.users},
                   {"hit_rate", all.users > 0 ? all.hits / all.users : 0},
                   {"ndcg", all.users > 0 ? all.ndcg / all.users : 0},
                   {"seconds", watch.lap()}});
  };
  const bool ranks = per_epoch > 0 && workload->ranks();
  if (ranks) evaluate(0, 0);

  const bool killer = config.kill.run == run.index && config.kill.rank == rank;
  for (long iteration = 0; iteration < total; ++iteration) {
    if (killer && iteration == config.kill.iteration) {
      log_line("fault injection: killing myself (rank " + std::to_string(rank) + ") at iteration " +
               std::to_string(iteration));
      raise(SIGKILL);
    }
    Stopwatch watch;
    const double loss = workload->compute(iteration);
    const double compute_s = watch.lap();
    sync::PhaseTimes phases;
    strategy->step(workload->weights(), workload->gradients(), phases);
    const double sync_s = watch.lap();
    nlohmann::json record{{"kind", "iteration"},
                          {"iteration", iteration},
                          {"warmup", iteration < warmup},
                          {"seconds", compute_s + sync_s},
                          {"compute_s", compute_s},
                          {"sync_s", sync_s},
                          {"phases", phases_json(phases)},
                          {"loss", loss}};
    if (per_epoch > 0) record["epoch"] = iteration / per_epoch + 1;
    records.write(record);
    if (ranks && (iteration + 1) % per_epoch == 0) evaluate(static_cast<int>((iteration + 1) / per_epoch), iteration + 1);
  }
  strategy->synchronize(workload->weights());
  check_identical_weights(mesh, workers, workload->weights());
  if (rank == 0 && !options.info_path.empty())
    write_file_atomically(options.info_path,
                          run_info(mesh, workload->weights(), *workload, total, warmup, per_epoch).dump(2) + "\n");
}

}  // namespace syncbed::experiments
