// Finite-difference gradient checks for float32 layers. Each checked coordinate is
// perturbed by +-eps and +-eps/2; when the two central differences disagree the
// objective has a kink inside the interval (a ReLU or max-pool switch) and the
// coordinate is skipped, otherwise the wider (more accurate in float32) estimate is
// compared with the analytic gradient.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace syncbed::models::testing {

struct GradientCheck {
  int checked = 0, skipped = 0;
  double max_relative_error = 0;   // per coordinate, floored at 5% of the largest gradient
  double norm_relative_error = 0;  // ||analytic - numeric|| / ||numeric||: the 1e-3 criterion
};

// `objective` evaluates the scalar at the current values. `coordinates` point at the
// floats to perturb; `analytic` holds their gradients. `pattern`, when given, returns
// the activation pattern of the last evaluation: a step that changes it crossed a kink.
inline GradientCheck check_gradients(const std::function<double()>& objective, const std::vector<float*>& coordinates,
                                     const std::vector<double>& analytic, float eps,
                                     const std::function<std::uint64_t()>& pattern = {}) {
  GradientCheck result;
  std::vector<double> a, n;
  for (std::size_t i = 0; i < coordinates.size(); ++i) {
    float* x = coordinates[i];
    const float saved = *x;
    bool crossed = false;
    std::uint64_t base = 0;
    if (pattern) {
      objective();
      base = pattern();
    }
    auto at = [&](float delta) {
      *x = saved + delta;
      const double value = objective();
      if (pattern && pattern() != base) crossed = true;
      *x = saved;
      return value;
    };
    const double wide = (at(eps) - at(-eps)) / (2.0 * eps);
    const double narrow = (at(eps / 2) - at(-eps / 2)) / double(eps);
    if (crossed || std::abs(wide - narrow) > 1e-3 * std::max({std::abs(wide), std::abs(narrow), 1e-2})) {
      ++result.skipped;
      continue;
    }
    ++result.checked;
    a.push_back(analytic[i]);
    n.push_back(wide);
  }
  double diff2 = 0, num2 = 0, scale = 0;
  for (std::size_t i = 0; i < a.size(); ++i) scale = std::max(scale, std::abs(n[i]));
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff2 += (a[i] - n[i]) * (a[i] - n[i]);
    num2 += n[i] * n[i];
    const double magnitude = std::max({std::abs(a[i]), std::abs(n[i]), 5e-2 * scale});
    result.max_relative_error = std::max(result.max_relative_error, std::abs(a[i] - n[i]) / magnitude);
  }
  result.norm_relative_error = num2 > 0 ? std::sqrt(diff2 / num2) : std::sqrt(diff2);
  return result;
}

// At most `count` distinct indices below `size`, seeded.
inline std::vector<std::size_t> sample_indices(std::size_t size, std::size_t count, unsigned seed) {
  std::vector<std::size_t> all(size);
  for (std::size_t i = 0; i < size; ++i) all[i] = i;
  std::mt19937 rng(seed);
  std::shuffle(all.begin(), all.end(), rng);
  all.resize(std::min(size, count));
  return all;
}

// Float32 rounding leaves single coordinates with small gradients noisier than the
// whole, hence the looser per-coordinate bound.
inline void expect_good(const GradientCheck& check, const std::string& what, double tolerance = 1e-3,
                        int min_checked = 10, double max_skipped_share = 0.5) {
  EXPECT_GE(check.checked, min_checked) << what << ": too few coordinates away from kinks";
  EXPECT_LE(check.skipped, max_skipped_share * (check.checked + check.skipped)) << what << ": too many kinks";
  EXPECT_LE(check.norm_relative_error, tolerance) << what;
  EXPECT_LE(check.max_relative_error, 10 * tolerance) << what;
}

}  // namespace syncbed::models::testing
