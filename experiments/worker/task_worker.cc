#include "experiments/worker/task_worker.h"

#include <cstring>
#include <map>
#include <memory>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/buffer.h"
#include "core/clock.h"
#include "experiments/worker/fault_injector.h"
#include "experiments/worker/make_workload.h"
#include "experiments/worker/record_writer.h"
#include "sync/tasks/driver.h"
#include "sync/tasks/executor.h"

namespace syncbed::experiments {
namespace {

// A model replica per data partition this executor has been asked to compute, built on
// first use: a partition moved here after a loss brings its own share of the data.
class WorkloadGradients : public sync::tasks::GradientSource {
 public:
  WorkloadGradients(const ExperimentConfig& config, int workers, int own_partition)
      : config_(config), workers_(workers) {
    Workload& own = workload(own_partition);
    initial_ = AlignedBuffer<float>(own.weights().size());
    if (initial_.size()) std::memcpy(initial_.data(), own.weights().data(), initial_.size() * sizeof(float));
  }
  std::span<float> weights(int partition) override { return workload(partition).weights(); }
  std::span<const float> gradients(int partition) override { return workload(partition).gradients(); }
  double compute(int partition, long iteration) override { return workload(partition).compute(iteration); }
  std::span<const float> initial_weights() override { return {initial_.data(), initial_.size()}; }
  std::size_t parameters() const { return initial_.size(); }

 private:
  Workload& workload(int partition) {
    auto& slot = partitions_[partition];
    if (!slot) slot = make_workload(config_, partition, workers_);
    return *slot;
  }

  const ExperimentConfig& config_;
  int workers_;
  std::map<int, std::unique_ptr<Workload>> partitions_;
  AlignedBuffer<float> initial_;
};

// Enough for the iterations a round keeps in flight, with room for an executor to take
// over a lost one's partitions.
std::size_t default_store_bytes(std::size_t parameters, int executors, int group) {
  const double per_iteration = 4.0 * static_cast<double>(parameters) * (1.0 + 6.0 / executors);
  return static_cast<std::size_t>(2 * (std::max(group, 1) + 2) * per_iteration) + (std::size_t{64} << 20);
}

sync::tasks::TaskRuntimeOptions runtime_options(const ExperimentConfig& config, const RunSpec& run,
                                                const net::Mesh& mesh, std::size_t parameters) {
  sync::tasks::TaskRuntimeOptions o;
  o.executors = run.workers;
  o.parameters = parameters;
  o.optimizer = config.optimizer;
  const auto& strategy = run.strategy.options.task_model;
  o.store_bytes = strategy.block_store_bytes ? strategy.block_store_bytes
                                             : default_store_bytes(parameters, run.workers, strategy.group);
  // A block waited for must come before the requester's own deadline on the mesh.
  o.wait_for_block = mesh.options().op_timeout / 2;
  o.drop = strategy.drop;
  o.slowdown = FaultInjector(config, run, mesh.rank()).slowdown();
  return o;
}

void run_executor(const ExperimentConfig& config, const RunSpec& run, net::Mesh& mesh) {
  WorkloadGradients source(config, run.workers, mesh.rank());
  auto options = runtime_options(config, run, mesh, source.parameters());
  const FaultInjector faults(config, run, mesh.rank());
  options.before_task = faults.before_task();
  sync::tasks::Executor(mesh, options, source).run();
}

nlohmann::json job_json(const sync::tasks::JobTiming& job) {
  return {{"wall_s", job.wall},
          {"start_latency_s", job.start_latency},
          {"run_s", job.run},
          {"completion_s", job.completion}};
}

void run_driver(const ExperimentConfig& config, const RunSpec& run, net::Mesh& mesh, const WorkerRunOptions& options) {
  // The driver computes nothing; the model tells it the sizes.
  auto workload = make_workload(config, 0, run.workers);
  const long total = config.warmup + config.iterations;
  const long warmup = std::min(config.warmup, total - 1);
  sync::tasks::DriverOptions o;
  o.executors = run.workers;
  o.iterations = total;
  o.group = run.strategy.options.task_model.group;
  o.parameters = workload->weights().size();
  o.report_timeout = mesh.options().op_timeout;
  o.wait_for_block = mesh.options().op_timeout / 2;
  o.drop = run.strategy.options.task_model.drop;

  RecordWriter records(options.records_path);
  records.write(StartRecord{total, 0}.to_json());
  sync::tasks::Driver driver(mesh, o);
  const FaultInjector faults(config, run, mesh.rank());
  const std::vector<float> weights = driver.run([&](const sync::tasks::IterationTiming& t) {
    faults.after_driver_iteration(t.iteration);
    IterationRecord record;
    record.iteration = t.iteration;
    record.warmup = t.iteration < warmup;
    record.seconds = t.seconds;
    record.compute_s = t.job1.compute;
    record.sync_s = record.exposed_sync_s = t.seconds - t.job1.compute;
    record.phases = {{"launch", t.launch},          {"scheduling", t.scheduling},      {"fetch_weights", t.job1.fetch},
                     {"put_gradients", t.job1.put}, {"fetch_gradients", t.job2.fetch}, {"update", t.job2.compute},
                     {"put_weights", t.job2.put}};
    record.jobs = {{"forward_backward", job_json(t.job1)}, {"parameter_sync", job_json(t.job2)}};
    if (t.replicas > 0) record.loss = t.loss;  // none: all dropped
    record.drop = DropRecord{t.time_limit, t.dropped, t.replicas, t.discarded};
    records.write(record.to_json());
  });
  if (workload->evaluates_ranking()) {  // ranked data: how well the trained model ranks, on every user
    Stopwatch watch;
    std::copy(weights.begin(), weights.end(), workload->weights().begin());
    records.write(
        evaluation_record(epochs_begun(*workload, total), total, workload->evaluate(0, 1), watch.lap()).to_json());
  }
  const auto& stats = driver.stats();
  if (options.info_path.empty()) return;
  nlohmann::json info = run_info(mesh, weights, *workload, total, warmup, 0);
  info["tasks"] = {{"rounds", stats.rounds},
                   {"tasks", stats.tasks},
                   {"failed_tasks", stats.failed_tasks},
                   {"executors_lost", stats.executors_lost},
                   {"dropped_tasks", stats.dropped_tasks},
                   {"discarded_iterations", stats.discarded_iterations},
                   {"recovery_s", stats.recovery_seconds},
                   {"peak_block_store_bytes", stats.peak_store_bytes}};
  write_file_atomically(options.info_path, info.dump(2) + "\n");
}

}  // namespace

void run_task_worker(const ExperimentConfig& config, const RunSpec& run, net::Mesh& mesh,
                     const WorkerRunOptions& options) {
  if (mesh.rank() == run.workers)
    run_driver(config, run, mesh, options);
  else
    run_executor(config, run, mesh);
}

}  // namespace syncbed::experiments
