// `syncbed simulate`: one training iteration of each strategy at any N (up to 1024),
// computed from a fluid model of the cluster rather than run. Every host has a
// full-duplex link of `link_bytes_per_s` into a non-blocking switch; a phase in which
// hosts exchange data lasts as long as its busiest port (the most bytes any host sends
// or receives: N senders into one receiver share that receiver's port, which is how
// incast costs time here), plus one message latency per dependent step. CPU work (sums,
// the optimizer) runs at the rates `syncbed calibrate` measured on this machine; on an
// emulated cluster all hosts share this machine's cores. The slowest of N hosts'
// compute times sets the pace (expected maximum of N normal samples). With overlap each
// bucket is priced on its own and starts once backward has released it and the bucket
// before it is done; only what runs past the end of compute is exposed.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "experiments/harness/experiment_config.h"
#include "experiments/sim/machine_probe.h"
#include "experiments/sim/scheduler_profile.h"

namespace syncbed::experiments {

struct ClusterModel {
  double link_bytes_per_s = 0;  // per host and direction
  double latency_s = 0;         // one way per dependent message: link delay + the transport's own
  MachineProbe machine;
  bool shared_machine = false;  // netns: every host runs on this machine's cores
  double compute_s = 0;         // mean per iteration and worker, for compute_items items
  double compute_sd_s = 0;      // spread between hosts and iterations
  long compute_items = 0;       // the batch compute_s is for, others scaling linearly (0: any)
  double driver_task_s = 0;     // a fit: BigDL's driver per task, two jobs of N tasks per iteration
  // The task model's scheduler (scheduler_profile.h, e.g. "spark-2017"; a strategy's own
  // "scheduler" comes first): each of its two jobs per iteration costs the profile's time
  // per job; empty: driver_task_s. "syncbed" is the fit `syncbed calibrate --scheduler` made.
  std::string scheduler;
  std::optional<SchedulerFit> measured_scheduler;
  double serial_put_s = 0;    // BigDL 0.2.0: per gradient block, N of them one after another per node
  int fetch_concurrency = 4;  // the task model's block fetches in flight per task (BigDL's syncPoolSize)
  // When backward releases the gradients from `begin` on, as a fraction of compute time,
  // last layer first (release_schedule); empty: all at the end of compute.
  std::vector<std::pair<std::size_t, double>> releases;
};

struct SimulatedRun {
  std::string strategy;
  int workers = 0;
  double compute_s = 0;       // the slowest worker's, expected
  double sync_s = 0;          // communication, overlapped or not
  double exposed_sync_s = 0;  // the part past the end of compute
  double driver_s = 0;        // the task model's scheduling, per iteration
  double iteration_s = 0;
  double throughput = 0;  // items per second
  std::map<std::string, double> phases_s;
};

// The profile that prices a task-model strategy's jobs, none when neither the strategy nor
// the config names one; throws std::invalid_argument when the named profile has no curve
// for the strategy's grouping (or "syncbed" was not measured).
std::optional<SchedulerProfile> scheduler_of(const ClusterModel& cluster, const StrategySpec& strategy);

SimulatedRun simulate_run(const ClusterModel& cluster, const StrategySpec& strategy, int workers,
                          std::size_t parameters, long items_per_worker);

// E[max of n standard normal samples]: 0 for n = 1, 0.85 for 3, 3.24 for 1000.
double expected_max_of_normals(int n);

}  // namespace syncbed::experiments
