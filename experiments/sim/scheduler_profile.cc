#include "experiments/sim/scheduler_profile.h"

#include <stdexcept>

namespace syncbed::experiments {

SchedulerProfile SchedulerProfile::named(const std::string& name, int group) {
  if (name != "spark-2017")
    throw std::invalid_argument("unknown scheduler profile \"" + name + "\"; there is \"spark-2017\"");
  // Digitized from the Drizzle single-stage chart: 4, 8, 16, 32, 64 and 128 machines.
  if (group <= 1)  // the task model's 0: one driver round per job, as Spark
    return {"Spark 2.x (Drizzle single-stage benchmark)", {{4, 15}, {8, 21}, {16, 32}, {32, 55}, {64, 98}, {128, 191}}};
  // Drizzle's curves are read at their ends only: a straight line between them.
  if (group == 25) return {"Drizzle, group 25 (Drizzle single-stage benchmark)", {{4, 3.1}, {128, 9.4}}};
  if (group == 100) return {"Drizzle, group 100 (Drizzle single-stage benchmark)", {{4, 2.2}, {128, 4.2}}};
  throw std::invalid_argument("scheduler profile \"spark-2017\" has groups 1 (Spark), 25 and 100 (Drizzle), not " +
                              std::to_string(group));
}

double SchedulerProfile::job_seconds(int machines) const {
  std::size_t upper = 1;  // the segment [upper - 1, upper] that holds `machines`, or the last one
  while (upper + 1 < points_.size() && points_[upper].first < machines) ++upper;
  const auto [n0, ms0] = points_[upper - 1];
  const auto [n1, ms1] = points_[upper];
  const double ms = machines <= n0 ? ms0 : ms0 + (ms1 - ms0) * (machines - n0) / double(n1 - n0);
  return ms * 1e-3;
}

}  // namespace syncbed::experiments
