#include "models/profile.h"

#include <algorithm>
#include <cstdio>
#include <vector>

namespace syncbed::models {

namespace {
Profile* g_active = nullptr;

std::string format_row(const std::string& name, double fwd, double bwd, double upd, double share) {
  char line[160];
  std::snprintf(line, sizeof line, "  %-28s %10.2f %10.2f %10.2f %7.1f%%\n", name.c_str(), fwd, bwd, upd, share);
  return line;
}
}  // namespace

Profile* active_profile() { return g_active; }
void set_active_profile(Profile* profile) { g_active = profile; }

void Profile::add(const std::string& layer, const std::string& kind, Phase phase, double seconds) {
  auto [it, inserted] = layers_.try_emplace(layer);
  if (inserted) {
    it->second.kind = kind;
    it->second.order = static_cast<int>(layers_.size());
  }
  (phase == Phase::kForward    ? it->second.forward
   : phase == Phase::kBackward ? it->second.backward
                               : it->second.update) += seconds;
}

void Profile::add_total(double seconds, int steps) {
  total_ += seconds;
  steps_ += steps;
}

void Profile::print(std::ostream& out) const {
  if (steps_ == 0) return;
  const double per_step = 1000.0 / steps_;
  const double step_ms = total_ * per_step;
  std::vector<std::pair<int, const std::string*>> ordered;
  for (const auto& [name, t] : layers_) ordered.emplace_back(t.order, &name);
  std::sort(ordered.begin(), ordered.end());

  out << "per layer, ms per step          forward   backward     update   share\n";
  std::map<std::string, Times> kinds;
  double accounted = 0;
  for (const auto& [order, name] : ordered) {
    const Times& t = layers_.at(*name);
    const double sum = t.forward + t.backward + t.update;
    accounted += sum;
    out << format_row(*name, t.forward * per_step, t.backward * per_step, t.update * per_step,
                      100.0 * sum * per_step / step_ms);
    Times& k = kinds[t.kind];
    k.forward += t.forward;
    k.backward += t.backward;
    k.update += t.update;
  }
  out << "per kind, ms per step\n";
  for (const auto& [kind, t] : kinds)
    out << format_row(kind, t.forward * per_step, t.backward * per_step, t.update * per_step,
                      100.0 * (t.forward + t.backward + t.update) * per_step / step_ms);
  const double rest = total_ - accounted;
  out << format_row("(not in any layer)", 0, 0, 0, 100.0 * rest * per_step / step_ms);
  char line[96];
  std::snprintf(line, sizeof line, "  step total %.2f ms\n", step_ms);
  out << line;
}

std::map<std::string, double> Profile::kind_ms_per_step() const {
  std::map<std::string, double> ms;
  if (steps_ == 0) return ms;
  double accounted = 0;
  for (const auto& [name, t] : layers_) {
    ms[t.kind] += (t.forward + t.backward + t.update) * 1000.0 / steps_;
    accounted += t.forward + t.backward + t.update;
  }
  ms["(not in any layer)"] = (total_ - accounted) * 1000.0 / steps_;
  return ms;
}

double Profile::seconds(const std::string& layer) const {
  const auto found = layers_.find(layer);
  return found == layers_.end() ? 0.0 : found->second.forward + found->second.backward + found->second.update;
}

namespace {
double in_phase(double forward, double backward, double update, Phase phase) {
  return phase == Phase::kForward ? forward : phase == Phase::kBackward ? backward : update;
}
}  // namespace

double Profile::seconds(const std::string& layer, Phase phase) const {
  const auto found = layers_.find(layer);
  if (found == layers_.end()) return 0.0;
  return in_phase(found->second.forward, found->second.backward, found->second.update, phase);
}

double Profile::seconds(Phase phase) const {
  double total = 0;
  for (const auto& [name, t] : layers_) total += in_phase(t.forward, t.backward, t.update, phase);
  return total;
}

}  // namespace syncbed::models
