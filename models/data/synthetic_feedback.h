// Seeded synthetic implicit feedback in the shape of MovieLens ml-20m (138,493 users,
// 26,744 items, about 20 million interactions, at least 20 per user), with structure a
// recommender can learn: item popularity follows a power law, and every user and item has
// a hidden low-rank taste vector; a user interacts more readily with items whose vector
// agrees with its own. Each user's interactions come in random (time) order, so the
// held-out latest one is drawn from the same preferences as the training ones.
#pragma once

#include <cstdint>

#include "models/data/implicit_feedback.h"

namespace syncbed::models {

struct SyntheticFeedbackConfig {
  int users = 138'493;
  int items = 26'744;
  int min_interactions = 20;
  // Interactions per user = min + lognormal(median, sigma): ml-20m has a median of 68
  // and a mean of 144 per user.
  double extra_median = 48, extra_sigma = 1.38;
  // Popularity of the item of popularity rank r: (r + offset)^-exponent.
  double popularity_exponent = 1.0, popularity_offset = 100;
  int taste_rank = 16;
  // How strongly taste decides: a candidate drawn by popularity is kept with probability
  // sigmoid(strength * (agreement - threshold)), agreement ~ N(0, 1).
  double taste_strength = 4.0, taste_threshold = 1.0;
  std::uint64_t seed = 1;
};

// Generates the histories (in parallel; the result depends only on the config).
// The smallest catalogue the generator can fill: every user takes at most half of it.
inline int min_synthetic_items(const SyntheticFeedbackConfig& c) { return 2 * c.min_interactions; }

UserHistories generate_synthetic_feedback(const SyntheticFeedbackConfig& config);

}  // namespace syncbed::models
