#include "models/data/synthetic_feedback.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>

#include "models/data/splitmix.h"

namespace syncbed::models {

namespace {

// Per-entity random vectors whose coordinates have variance 1/sqrt(rank), so the dot
// product of two independent ones has variance 1.
std::vector<float> taste_vectors(int count, int rank, std::uint64_t seed) {
  std::vector<float> vectors(std::size_t(count) * rank);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, std::pow(float(rank), -0.25f));
  for (float& v : vectors) v = normal(rng);
  return vectors;
}

// Walker's alias method: draws an index with probability proportional to its weight in
// O(1), one 64-bit random number per draw.
class AliasTable {
 public:
  explicit AliasTable(const std::vector<double>& weights) : keep_(weights.size()), alias_(weights.size()) {
    const std::size_t n = weights.size();
    const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
    std::vector<double> scaled(n);
    std::vector<std::int32_t> small, large;
    for (std::size_t i = 0; i < n; ++i) {
      scaled[i] = weights[i] * n / total;
      (scaled[i] < 1 ? small : large).push_back(static_cast<std::int32_t>(i));
    }
    while (!small.empty() && !large.empty()) {
      const std::int32_t s = small.back(), l = large.back();
      small.pop_back();
      keep_[s] = scaled[s];
      alias_[s] = l;
      scaled[l] -= 1 - scaled[s];
      if (scaled[l] < 1) {
        large.pop_back();
        small.push_back(l);
      }
    }
    for (std::int32_t i : large) keep_[i] = 1;
    for (std::int32_t i : small) keep_[i] = 1;  // rounding leftovers
  }
  std::int32_t draw(std::uint64_t random) const {
    const std::size_t slot = (random >> 32) * keep_.size() >> 32;
    const double coin = double(random & 0xffffffffu) / 4294967296.0;
    return coin < keep_[slot] ? static_cast<std::int32_t>(slot) : alias_[slot];
  }

 private:
  std::vector<double> keep_;
  std::vector<std::int32_t> alias_;
};

}  // namespace

UserHistories generate_synthetic_feedback(const SyntheticFeedbackConfig& c) {
  if (c.users < 1 || c.items < 2 || c.min_interactions < 2 || c.taste_rank < 1)
    throw std::invalid_argument("synthetic feedback: needs users >= 1, items >= 2, min_interactions >= 2, rank >= 1");
  // A user never takes more than half the catalogue, so rejection sampling stays cheap and
  // evaluation negatives remain.
  if (c.items < min_synthetic_items(c))
    throw std::invalid_argument("synthetic feedback: needs at least " + std::to_string(min_synthetic_items(c)) +
                                " items (twice the " + std::to_string(c.min_interactions) +
                                " interactions every user has), got " + std::to_string(c.items));
  const int cap = c.items / 2;

  UserHistories h;
  h.users = c.users;
  h.items = c.items;
  std::mt19937_64 rng(splitmix(c.seed));
  std::lognormal_distribution<double> extra(std::log(c.extra_median), c.extra_sigma);
  h.offsets.resize(std::size_t(c.users) + 1, 0);
  for (int u = 0; u < c.users; ++u) {
    const int count = std::min<double>(cap, c.min_interactions + std::floor(extra(rng)));
    h.offsets[u + 1] = h.offsets[u] + count;
  }
  h.sequence.resize(h.offsets.back());

  // Popularity ranks are a random permutation of the items, so id says nothing.
  std::vector<std::int32_t> by_rank(c.items);
  std::iota(by_rank.begin(), by_rank.end(), 0);
  std::shuffle(by_rank.begin(), by_rank.end(), rng);
  std::vector<double> popularity(c.items);
  for (int r = 0; r < c.items; ++r) popularity[by_rank[r]] = std::pow(r + c.popularity_offset, -c.popularity_exponent);
  const AliasTable by_popularity(popularity);
  const std::vector<float> user_taste = taste_vectors(c.users, c.taste_rank, splitmix(c.seed + 1));
  const std::vector<float> item_taste = taste_vectors(c.items, c.taste_rank, splitmix(c.seed + 2));

#pragma omp parallel
  {
    std::vector<std::uint8_t> taken(c.items, 0);
#pragma omp for schedule(dynamic, 256)
    for (int u = 0; u < c.users; ++u) {
      std::mt19937_64 user_rng(splitmix(c.seed ^ splitmix(std::uint64_t(u) + 3)));
      std::uniform_real_distribution<double> uniform(0.0, 1.0);
      const float* taste = user_taste.data() + std::size_t(u) * c.taste_rank;
      std::int32_t* out = h.sequence.data() + h.offsets[u];
      const std::size_t count = h.offsets[u + 1] - h.offsets[u];
      // Taste may reject nearly every item for some user: after this many draws the
      // rest are filled in popularity order, so generation always ends.
      std::size_t draws_left = 256 * count + 4096;
      std::size_t k = 0;
      for (; k < count && draws_left > 0; --draws_left) {
        const std::int32_t item = by_popularity.draw(user_rng());
        if (taken[item]) continue;
        const float* other = item_taste.data() + std::size_t(item) * c.taste_rank;
        const double agreement = std::inner_product(taste, taste + c.taste_rank, other, 0.0);
        if (uniform(user_rng) >= 1.0 / (1.0 + std::exp(c.taste_strength * (c.taste_threshold - agreement)))) continue;
        taken[item] = 1;
        out[k++] = item;
      }
      for (int r = 0; k < count; ++r)
        if (!taken[by_rank[r]]) {
          taken[by_rank[r]] = 1;
          out[k++] = by_rank[r];
        }
      for (std::size_t k = 0; k < count; ++k) taken[out[k]] = 0;
    }
  }
  return h;
}

}  // namespace syncbed::models
