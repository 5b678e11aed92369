#include "experiments/worker/worker_loop.h"

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
#include "core/trace.h"
#include "core/transport/tags.h"
#include "experiments/harness/checkpoint.h"
#include "experiments/worker/clock_offset.h"
#include "experiments/worker/fault_injector.h"
#include "experiments/worker/gather.h"
#include "experiments/worker/make_workload.h"
#include "experiments/worker/record_writer.h"
#include "experiments/worker/task_worker.h"
#include "models/dnnl_context.h"
#include "sync/overlap.h"
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

namespace {

// One long-running rank of a run: a worker that trains, or a server that only serves.
class WorkerRun {
 public:
  WorkerRun(const ExperimentConfig& config, const RunSpec& run, net::Mesh& mesh, const WorkerRunOptions& options)
      : config_(config),
        run_(run),
        mesh_(mesh),
        options_(options),
        rank_(mesh.rank()),
        serves_only_(rank_ >= run.workers),
        // A server needs the model's size only; a worker loads its share of the data too.
        workload_(make_workload(config, serves_only_ ? 0 : rank_, run.workers)),
        strategy_(make_strategy()),
        overlap_(run.strategy.options.overlap.enabled && !serves_only_
                     ? std::make_unique<sync::OverlappedStep>(*strategy_, strategy_options())
                     : nullptr),
        per_epoch_(config.epochs > 0 ? workload_->iterations_per_epoch() : 0),
        total_(per_epoch_ > 0 ? per_epoch_ * config.epochs : config.warmup + config.iterations),
        warmup_(std::min(config.warmup, total_ - 1)),
        records_(rank_ == 0 ? options.records_path : "") {
    if (config.checkpoint_every > 0 && !options.checkpoint_dir.empty())
      checkpoints_.emplace(options.checkpoint_dir, rank_);
    if (checkpoints_ && options.resume_step > 0)
      resume(*checkpoints_, options.resume_step, serves_only_ ? std::span<float>() : workload_->weights(), *strategy_);
  }

  void run() {
    if (strategy_->serves_only()) return serve();
    train();
    finish();
  }

 private:
  sync::SyncOptions strategy_options() const {
    sync::SyncOptions options = run_.strategy.options;
    options.parameters = workload_->weights().size();
    options.optimizer = config_.optimizer;
    return options;
  }
  std::unique_ptr<sync::ParameterSync> make_strategy() const {
    return sync::make_parameter_sync(run_.strategy.name, mesh_, strategy_options());
  }

  // Every checkpoint_every iterations, but not after the last: nothing is left to resume.
  bool checkpoint_due(long steps) const { return steps % config_.checkpoint_every == 0 && steps < total_; }

  // A server's rounds are the workers' steps: it checkpoints at the same counts.
  void serve() {
    std::function<void(std::uint64_t)> after_round;
    if (checkpoints_)
      after_round = [&](std::uint64_t rounds) {
        if (checkpoint_due(static_cast<long>(rounds)))
          checkpoints_->save(static_cast<long>(rounds), {}, strategy_->save_state());
      };
    trace::PhaseScope phase("serve");
    strategy_->serve([&](std::uint64_t rounds) {
      trace::set_iteration(static_cast<long>(rounds));
      if (after_round) after_round(rounds);
    });
  }

  void evaluate(int epoch, long iteration) {
    trace::Scope scope("evaluation", "evaluation");
    trace::PhaseScope phase("evaluation");
    Stopwatch watch;
    const RankingSums all = gather_ranking(mesh_, run_.workers, workload_->evaluate(rank_, run_.workers));
    records_.write(evaluation_record(epoch, iteration, all, watch.lap()).to_json());
  }

  void train() {
    records_.write(StartRecord{total_, per_epoch_}.to_json());
    const bool evaluates = per_epoch_ > 0 && workload_->evaluates_ranking();
    if (evaluates && options_.resume_step == 0) evaluate(0, 0);
    const FaultInjector faults(config_, run_, rank_, options_.attempt);
    for (long iteration = options_.resume_step; iteration < total_; ++iteration) {
      trace::set_iteration(iteration);
      faults.before_iteration(iteration);
      records_.write(step(iteration, faults).to_json());
      if (evaluates && (iteration + 1) % per_epoch_ == 0)
        evaluate(static_cast<int>((iteration + 1) / per_epoch_), iteration + 1);
      // After the iteration's records: whatever a resumed run skips is recorded already.
      if (checkpoints_ && checkpoint_due(iteration + 1)) checkpoint(iteration + 1);
    }
    strategy_->synchronize(workload_->weights());
    // A run bounded by iterations on ranked data still reports how well the model ranks.
    if (!evaluates && workload_->evaluates_ranking()) evaluate(epochs_begun(*workload_, total_), total_);
  }

  // One iteration: compute (a straggler's slowed), then synchronize; with overlap, each
  // bucket is synchronized as soon as backward has finished it.
  IterationRecord step(long iteration, const FaultInjector& faults) {
    Stopwatch watch;
    double loss;
    if (overlap_) {
      overlap_->begin(workload_->weights(), workload_->gradients());
      loss = workload_->compute_overlapped(iteration, [&](std::size_t begin) { overlap_->ready_from(begin); });
    } else {
      loss = workload_->compute(iteration);
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(faults.extra_compute_s(watch.elapsed())));
    const double compute_s = trace::lap(watch, "compute", "compute");
    sync::PhaseTimes phases;
    if (overlap_)
      overlap_->finish(phases);
    else
      strategy_->step(workload_->weights(), workload_->gradients(), phases);
    const double exposed_s = trace::lap(watch, "sync", "sync");
    IterationRecord record;
    record.iteration = iteration;
    record.epoch = per_epoch_ > 0 ? static_cast<int>(iteration / per_epoch_ + 1) : 0;
    record.warmup = iteration < warmup_;
    record.seconds = compute_s + exposed_s;
    record.compute_s = compute_s;
    record.sync_s = exposed_s;
    record.exposed_sync_s = exposed_s;
    record.loss = loss;
    record.phases = summed_phases(phases);
    if (overlap_) add_buckets(record);
    return record;
  }

  // The communication thread's time and each bucket's timeline.
  void add_buckets(IterationRecord& record) const {
    record.sync_s = 0;
    record.buckets = nlohmann::json::array();
    for (const sync::BucketTiming& bucket : overlap_->timings()) {
      record.sync_s += bucket.end_s - bucket.start_s;
      record.buckets.push_back({{"begin", bucket.range.begin},
                                {"size", bucket.range.size},
                                {"ready_ms", bucket.ready_s * 1e3},
                                {"start_ms", bucket.start_s * 1e3},
                                {"end_ms", bucket.end_s * 1e3}});
    }
  }

  void checkpoint(long steps) {
    trace::Scope scope("checkpoint", "checkpoint");
    Stopwatch watch;
    strategy_->synchronize(workload_->weights());  // ps with staleness: every step in
    checkpoints_->save(steps, workload_->weights(), strategy_->save_state());
    records_.write(CheckpointRecord{steps, watch.lap()}.to_json());
  }

  // Every worker holds the same weights; rank 0 writes the run's facts.
  void finish() {
    check_identical_weights(mesh_, run_.workers, workload_->weights());
    if (rank_ == 0 && !options_.info_path.empty())
      write_file_atomically(
          options_.info_path,
          run_info(mesh_, workload_->weights(), *workload_, total_, warmup_, per_epoch_).dump(2) + "\n");
  }

  const ExperimentConfig& config_;
  const RunSpec& run_;
  net::Mesh& mesh_;
  const WorkerRunOptions& options_;
  const int rank_;
  const bool serves_only_;
  std::unique_ptr<Workload> workload_;
  std::unique_ptr<sync::ParameterSync> strategy_;
  std::unique_ptr<sync::OverlappedStep> overlap_;  // with overlap on: runs strategy_'s buckets
  const long per_epoch_, total_, warmup_;
  RecordWriter records_;
  std::optional<CheckpointDir> checkpoints_;
};

}  // namespace

void run_worker(const ExperimentConfig& config, const RunSpec& run, net::Mesh& mesh, const WorkerRunOptions& options) {
  if (mesh.size() != run.workers + run.strategy.extra_ranks())
    throw std::invalid_argument("run " + std::to_string(run.index) + " (" + run.title() + ") needs " +
                                std::to_string(run.workers + run.strategy.extra_ranks()) + " ranks, the job has " +
                                std::to_string(mesh.size()));
  models::set_compute_threads(options.threads > 0 ? options.threads : config.threads_for(run.workers));
  const bool traced = !options.trace_dir.empty();
  // The task model's rank N is its driver; a long-running run's ranks from N on are servers.
  const bool extra_rank = mesh.rank() >= run.workers, tasks = run.strategy.runs_tasks();
  ClockOffset offset;
  if (traced) {
    offset = measure_clock_offset(mesh);
    trace::enable({config.trace_keep, config.trace_keep, config.trace_messages, config.trace_layers});
    trace::name_thread(tasks ? (extra_rank ? "driver" : "executor") : (extra_rank ? "server" : "main"));
  }
  if (tasks)
    run_task_worker(config, run, mesh, options);
  else
    WorkerRun(config, run, mesh, options).run();
  // Written once the strategy is gone: its threads (a co-located server's) have finished
  // recording too.
  if (traced)
    write_rank_trace(options.trace_dir, mesh.rank(), offset,
                     {"run " + std::to_string(run.index) + " " + run.title(), mesh.size(), config.warmup},
                     tasks && extra_rank ? "driver" : "rank " + std::to_string(mesh.rank()));
}

}  // namespace syncbed::experiments
