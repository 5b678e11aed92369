// Per-layer time breakdown for `bench-model --profile`, and per-layer events on the
// timeline ("trace": "layers"). Leaf layers time their own primitives, so nothing is
// counted twice; with neither on a scope costs a pointer check and a relaxed load.
#pragma once

#include <chrono>
#include <map>
#include <ostream>
#include <string>

#include "core/trace.h"

namespace syncbed::models {

enum class Phase { kForward, kBackward, kUpdate };

class Profile {
 public:
  void add(const std::string& layer, const std::string& kind, Phase phase, double seconds);
  void add_total(double seconds, int steps);
  // A table per layer (forward, backward ms per step) and a summary per kind, with the
  // share of the step that no layer accounts for.
  void print(std::ostream& out) const;
  // Milliseconds per step of each kind of layer (all phases), "(not in any layer)" for
  // the rest of the step; empty before add_total.
  std::map<std::string, double> kind_ms_per_step() const;
  // Seconds recorded for `layer` in all phases (0 if none).
  double seconds(const std::string& layer) const;
  // Seconds recorded for `layer` in one phase, or for every layer in it.
  double seconds(const std::string& layer, Phase phase) const;
  double seconds(Phase phase) const;

 private:
  struct Times {
    std::string kind;
    double forward = 0, backward = 0, update = 0;
    int order = 0;
  };
  std::map<std::string, Times> layers_;
  double total_ = 0;
  int steps_ = 0;
};

Profile* active_profile();
void set_active_profile(Profile* profile);

class ProfileScope {
 public:
  ProfileScope(const std::string& layer, const char* kind, Phase phase)
      : profile_(active_profile()), traced_(trace::layers_enabled()), layer_(layer), kind_(kind), phase_(phase) {
    if (profile_ || traced_) start_ = std::chrono::steady_clock::now();
  }
  ~ProfileScope() {
    if (!profile_ && !traced_) return;
    const auto end = std::chrono::steady_clock::now();
    if (profile_) profile_->add(layer_, kind_, phase_, std::chrono::duration<double>(end - start_).count());
    // The pass is the "forward" or "backward" event the layer's event lies in.
    if (traced_) trace::record(layer_, "layer", start_, end);
  }
  ProfileScope(const ProfileScope&) = delete;
  ProfileScope& operator=(const ProfileScope&) = delete;

 private:
  Profile* profile_;
  bool traced_;
  const std::string& layer_;
  const char* kind_;
  Phase phase_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace syncbed::models
