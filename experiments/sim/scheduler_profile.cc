#include "experiments/sim/scheduler_profile.h"

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace syncbed::experiments {

SchedulerFit SchedulerFit::of(std::map<int, double> ms_at) {
  if (ms_at.size() < 2) throw std::invalid_argument("a line needs costs at two machine counts at least");
  const double count = double(ms_at.size());
  double mean_n = 0, mean_ms = 0;
  for (const auto& [n, ms] : ms_at) mean_n += n / count, mean_ms += ms / count;
  double covariance = 0, variance = 0;
  for (const auto& [n, ms] : ms_at) {
    covariance += (n - mean_n) * (ms - mean_ms);
    variance += (n - mean_n) * (n - mean_n);
  }
  SchedulerFit fit;
  fit.ms_at = std::move(ms_at);
  fit.b_ms = covariance / variance;
  fit.a_ms = mean_ms - fit.b_ms * mean_n;
  double squares = 0;
  for (const auto& [n, ms] : fit.ms_at) squares += (ms - fit.ms(n)) * (ms - fit.ms(n));
  fit.rms_ms = std::sqrt(squares / count);
  return fit;
}

nlohmann::json SchedulerFit::to_json() const {
  nlohmann::json measured = nlohmann::json::object();
  for (const auto& [n, ms] : ms_at) measured[std::to_string(n)] = ms;
  return {{"ms_per_job", measured}, {"a_ms", a_ms}, {"b_ms", b_ms}, {"rms_ms", rms_ms}};
}

SchedulerFit SchedulerFit::from_json(const nlohmann::json& json) {
  std::map<int, double> ms_at;
  for (const auto& [n, ms] : json.at("ms_per_job").items()) ms_at[std::stoi(n)] = ms.get<double>();
  return of(std::move(ms_at));
}

SchedulerProfile SchedulerProfile::named(const std::string& name, int group,
                                         const std::optional<SchedulerFit>& measured) {
  if (name == "syncbed") {
    if (!measured)
      throw std::invalid_argument(
          "scheduler profile \"syncbed\" is measured on this machine: run `syncbed calibrate CONFIG --scheduler` "
          "first");
    if (group > 1)
      throw std::invalid_argument("scheduler profile \"syncbed\" is measured without grouping, not for group " +
                                  std::to_string(group));
    char label[160];
    std::snprintf(label, sizeof label, "syncbed's driver (measured here: %.2f + %.3f N ms, rms %.2f ms)",
                  measured->a_ms, measured->b_ms, measured->rms_ms);
    const int last = measured->ms_at.rbegin()->first;
    return {label, {{1, measured->ms(1)}, {last, measured->ms(last)}}};
  }
  if (name != "spark-2017")
    throw std::invalid_argument("unknown scheduler profile \"" + name + "\"; there are \"spark-2017\" and \"syncbed\"");
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
