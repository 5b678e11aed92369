// What a cluster scheduler costs per job, as a function of the machines it schedules on:
// BigDL ran each iteration as two Spark jobs, and Spark's fixed cost per job grows with
// the cluster. The profiles are published measurements, digitized (see results/README.md,
// "Fig. 7 from grounded costs"), or syncbed's own driver measured on this machine; none is
// fitted to the figure it is used to reproduce.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace syncbed::experiments {

// A line a + b N through measured costs per job (least squares), with how far the
// measurements lie from it.
struct SchedulerFit {
  std::map<int, double> ms_at;  // machines (executors) -> measured ms per job
  double a_ms = 0;              // ms per job ...
  double b_ms = 0;              // ... plus this per machine
  double rms_ms = 0;            // root mean square of the residuals

  // Throws std::invalid_argument with fewer than two distinct machine counts.
  static SchedulerFit of(std::map<int, double> ms_at);
  double ms(int machines) const { return a_ms + b_ms * machines; }
  nlohmann::json to_json() const;
  static SchedulerFit from_json(const nlohmann::json& json);  // throws if a field is missing
};

class SchedulerProfile {
 public:
  // "spark-2017": the Drizzle project's single-stage benchmark on Amazon EC2
  // (amplab/drizzle-spark README, docs/img/drizzle-single-stage.png, digitized): time per
  // micro-batch of a near-empty stage, Spark without group scheduling (a task model's
  // "group" 0 or 1) and Drizzle with groups of 25 and 100.
  // "syncbed": syncbed's own driver and executors, `measured` by `syncbed calibrate
  // --scheduler` on this machine (without grouping only).
  // Throws std::invalid_argument for another name or group, or "syncbed" unmeasured.
  static SchedulerProfile named(const std::string& name, int group, const std::optional<SchedulerFit>& measured = {});

  // Seconds per job on `machines` machines: linear between the points, and past the last
  // one along the line through the last two (extrapolated(machines) says so).
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
