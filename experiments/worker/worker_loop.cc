#include "experiments/worker/worker_loop.h"

#include <signal.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/clock.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/transport/tags.h"
#include "experiments/harness/checkpoint.h"
#include "experiments/worker/gather.h"
#include "experiments/worker/make_workload.h"
#include "experiments/worker/record_writer.h"
#include "experiments/worker/task_worker.h"
#include "models/dnnl_context.h"
#include "sync/registry.h"

namespace syncbed::experiments {
namespace {

// Distinct from every strategy's tags.
constexpr std::uint64_t kChecksumTag = net::make_tag(net::TagSpace::kWorkerLoop, 1);
constexpr std::uint64_t kRankingTag = net::make_tag(net::TagSpace::kWorkerLoop, 2);

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

std::vector<std::pair<std::string, double>> summed_phases(const sync::PhaseTimes& times) {
  std::map<std::string, double> sums;  // a phase may run several times in one step
  for (const auto& [name, seconds] : times.phases) sums[name] += seconds;
  return {sums.begin(), sums.end()};
}

// This rank's checkpoint after `step` back into the weights (a worker's) and the strategy.
void resume(const CheckpointDir& checkpoints, long step, std::span<float> weights, sync::ParameterSync& strategy) {
  const Checkpoint checkpoint = checkpoints.load(step);
  if (checkpoint.weights.size() != weights.size())
    throw std::runtime_error("checkpoint after step " + std::to_string(step) + " holds " +
                             std::to_string(checkpoint.weights.size()) + " weights, the model has " +
                             std::to_string(weights.size()));
  std::copy(checkpoint.weights.begin(), checkpoint.weights.end(), weights.begin());
  strategy.restore_state(checkpoint.state);
}

}  // namespace

int epochs_begun(const Workload& workload, long iterations) {
  const long per_epoch = std::max(1L, workload.iterations_per_epoch());
  return static_cast<int>((iterations + per_epoch - 1) / per_epoch);
}

EvaluationRecord evaluation_record(int epoch, long iteration, const RankingSums& all, double seconds) {
  return {epoch,
          iteration,
          static_cast<long>(all.users),
          all.users > 0 ? all.hits / all.users : 0,
          all.users > 0 ? all.ndcg / all.users : 0,
          seconds};
}

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
  if (run.strategy.runs_tasks()) return run_task_worker(config, run, mesh, options);
  const bool serves_only = rank >= workers;
  // A server needs the model's size only; a worker loads its share of the data too.
  auto workload = make_workload(config, serves_only ? 0 : rank, workers);
  sync::SyncOptions sync_options = run.strategy.options;
  sync_options.parameters = workload->weights().size();
  sync_options.optimizer = config.optimizer;
  auto strategy = sync::make_parameter_sync(run.strategy.name, mesh, sync_options);
  const long per_epoch = config.epochs > 0 ? workload->iterations_per_epoch() : 0;
  const long total = per_epoch > 0 ? per_epoch * config.epochs : config.warmup + config.iterations;
  // Every checkpoint_every iterations, but not after the last: nothing is left to resume.
  auto checkpoint_due = [&](long steps) { return steps % config.checkpoint_every == 0 && steps < total; };

  std::optional<CheckpointDir> checkpoints;
  if (config.checkpoint_every > 0 && !options.checkpoint_dir.empty()) checkpoints.emplace(options.checkpoint_dir, rank);
  if (checkpoints && options.resume_step > 0)
    resume(*checkpoints, options.resume_step, serves_only ? std::span<float>() : workload->weights(), *strategy);
  if (strategy->serves_only()) {
    // A server's rounds are the workers' steps: it checkpoints at the same counts.
    std::function<void(std::uint64_t)> after_round;
    if (checkpoints)
      after_round = [&](std::uint64_t rounds) {
        if (checkpoint_due(static_cast<long>(rounds)))
          checkpoints->save(static_cast<long>(rounds), {}, strategy->save_state());
      };
    strategy->serve(after_round);
    return;
  }

  RecordWriter records(rank == 0 ? options.records_path : "");
  const long warmup = std::min(config.warmup, total - 1);

  records.write(StartRecord{total, per_epoch}.to_json());
  auto evaluate = [&](int epoch, long iteration) {
    Stopwatch watch;
    const RankingSums all = gather_ranking(mesh, workers, workload->evaluate(rank, workers));
    records.write(evaluation_record(epoch, iteration, all, watch.lap()).to_json());
  };
  const bool evaluates = per_epoch > 0 && workload->evaluates_ranking();
  const long start = options.resume_step;
  if (evaluates && start == 0) evaluate(0, 0);

  const bool killer = options.attempt == 1 && config.kill.kills(run.index, rank);
  const bool straggler = config.straggler.slows(rank);  // fault injection
  for (long iteration = start; iteration < total; ++iteration) {
    if (killer && iteration == config.kill.iteration && config.kill.as_error)
      throw std::runtime_error("fault injection: rank " + std::to_string(rank) + " fails with an error at iteration " +
                               std::to_string(iteration));
    if (killer && iteration == config.kill.iteration) {
      log_line("fault injection: killing myself (rank " + std::to_string(rank) + ") at iteration " +
               std::to_string(iteration));
      raise(SIGKILL);
    }
    Stopwatch watch;
    const double loss = workload->compute(iteration);
    if (straggler)
      std::this_thread::sleep_for(std::chrono::duration<double>((config.straggler.slowdown - 1) * watch.elapsed()));
    const double compute_s = watch.lap();
    sync::PhaseTimes phases;
    strategy->step(workload->weights(), workload->gradients(), phases);
    const double sync_s = watch.lap();
    IterationRecord record;
    record.iteration = iteration;
    record.epoch = per_epoch > 0 ? static_cast<int>(iteration / per_epoch + 1) : 0;
    record.warmup = iteration < warmup;
    record.seconds = compute_s + sync_s;
    record.compute_s = compute_s;
    record.sync_s = sync_s;
    record.loss = loss;
    record.phases = summed_phases(phases);
    records.write(record.to_json());
    if (evaluates && (iteration + 1) % per_epoch == 0)
      evaluate(static_cast<int>((iteration + 1) / per_epoch), iteration + 1);
    // After the iteration's records: whatever a resumed run skips is recorded already.
    if (checkpoints && checkpoint_due(iteration + 1)) {
      Stopwatch checkpoint_watch;
      strategy->synchronize(workload->weights());  // ps with staleness: every step in
      checkpoints->save(iteration + 1, workload->weights(), strategy->save_state());
      records.write(CheckpointRecord{iteration + 1, checkpoint_watch.lap()}.to_json());
    }
  }
  strategy->synchronize(workload->weights());
  // A run bounded by iterations on ranked data still reports how well the model ranks.
  if (!evaluates && workload->evaluates_ranking()) evaluate(epochs_begun(*workload, total), total);
  check_identical_weights(mesh, workers, workload->weights());
  if (rank == 0 && !options.info_path.empty())
    write_file_atomically(options.info_path,
                          run_info(mesh, workload->weights(), *workload, total, warmup, per_epoch).dump(2) + "\n");
}

}  // namespace syncbed::experiments
