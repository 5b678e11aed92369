// The driver of BigDL's task model: it plans rounds (scheduler.h), sends each live
// executor its part, and collects one report per task. It measures what scheduling
// costs: per job, the time to launch, the latency until tasks start, and the time from
// the last task's end until the driver knows the job is complete. A lost executor
// (its connection fails, or it stays silent past the mesh's deadline) costs the tasks it
// held; they run again on the survivors from replicated blocks, so the result is the
// same as without the loss.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/transport/mesh.h"
#include "sync/tasks/drop_policy.h"
#include "sync/tasks/scheduler.h"

namespace syncbed::sync::tasks {

struct DriverOptions {
  int executors = 1;
  long iterations = 0;
  int group = 0;
  int max_attempts = 4;
  std::size_t parameters = 0;
  // No report at all for this long fails the run (a hung executor is also caught by
  // the mesh's silence deadline).
  std::chrono::milliseconds report_timeout{60'000};
  std::chrono::milliseconds wait_for_block{30'000};
  DropOptions drop;  // straggler drop (BigDL); off by default
};

// Seconds, as the driver saw one job: from when it could start (its round was sent and
// the previous job's tasks had ended) to the driver holding every report.
struct JobTiming {
  double wall = 0;
  double start_latency = 0;                // until the slowest-to-start task started
  double run = 0;                          // the longest task (fetch + compute + put)
  double completion = 0;                   // from the last task's end to its report at the driver
  double fetch = 0, compute = 0, put = 0;  // longest of each part
};

struct IterationTiming {
  long iteration = 0;
  double seconds = 0;  // since the previous iteration completed
  double launch = 0;   // the driver's share of sending the rounds that carried this iteration
  JobTiming job1, job2;
  double scheduling = 0;     // seconds - job1.run - job2.run: time not spent in tasks
  double loss = 0;           // mean over the partitions that finished
  double time_limit = 0;     // seconds, forward-backward's drop threshold (0: none)
  std::vector<int> dropped;  // partitions whose forward-backward task was dropped
  int replicas = 0;          // gradients in the update
  bool discarded = false;    // too few replicas finished: no update
};

struct DriverStats {
  long rounds = 0;
  long tasks = 0;
  long failed_tasks = 0;
  long executors_lost = 0;
  long dropped_tasks = 0;
  long discarded_iterations = 0;
  std::vector<double> recovery_seconds;  // per loss: detection to the next completed iteration
  std::size_t peak_store_bytes = 0;      // largest block store high-water mark
};

class Driver {
 public:
  Driver(net::Mesh& mesh, const DriverOptions& options);
  ~Driver();  // on failure, tells live executors to abort and waits for them to let go
  Driver(const Driver&) = delete;
  Driver& operator=(const Driver&) = delete;

  // Runs every iteration, calling on_iteration as each completes, and returns the final
  // weights, fetched from the executors' block stores.
  std::vector<float> run(const std::function<void(const IterationTiming&)>& on_iteration);
  const DriverStats& stats() const { return stats_; }

 private:
  // A task's report, or the loss of its executor, as the report threads queue it.
  struct ReportEvent {
    int executor = 0;
    bool lost = false;
    std::string error;
    TaskReport report;
    std::int64_t arrival_ns = 0;
  };
  struct Reports;
  struct Progress;
  struct RunState;
  void start_round(RunState& state);
  void send_round(const Round& round);
  ReportEvent next_report(const RunState& state);
  void handle_report(const ReportEvent& event, RunState& state);
  void emit_iterations(std::int64_t now_ns, RunState& state,
                       const std::function<void(const IterationTiming&)>& on_iteration);
  std::vector<float> final_weights();
  void finish(RoundMessage::End end);

  net::Mesh& mesh_;
  DriverOptions options_;
  Scheduler scheduler_;
  std::unique_ptr<Reports> reports_;
  DriverStats stats_;
  bool finished_ = false;
};

}  // namespace syncbed::sync::tasks
