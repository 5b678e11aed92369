// What a cluster scheduler costs per job, as a function of the machines it schedules on:
// BigDL ran each iteration as two Spark jobs, and Spark's fixed cost per job grows with
// the cluster. The profiles are published measurements, digitized (see results/README.md,
// "Fig. 7 from grounded costs"), not fitted to the figure they are used to reproduce.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace syncbed::experiments {

class SchedulerProfile {
 public:
  // "spark-2017": the Drizzle project's single-stage benchmark on Amazon EC2
  // (amplab/drizzle-spark README, docs/img/drizzle-single-stage.png, digitized): time per
  // micro-batch of a near-empty stage, Spark without group scheduling (a task model's
  // "group" 0 or 1) and Drizzle with groups of 25 and 100. Throws std::invalid_argument
  // for another name or group, naming what there is.
  static SchedulerProfile named(const std::string& name, int group);

  // Seconds per job on `machines` machines: linear between the digitized points, and
  // past the last one along the line through the last two (extrapolated(machines) says so).
  double job_seconds(int machines) const;
  bool extrapolated(int machines) const { return machines > points_.back().first; }
  const std::string& label() const { return label_; }

 private:
  SchedulerProfile(std::string label, std::vector<std::pair<int, double>> points)
      : label_(std::move(label)), points_(std::move(points)) {}

  std::string label_;
  std::vector<std::pair<int, double>> points_;  // machines -> ms per job, ascending
};

}  // namespace syncbed::experiments
