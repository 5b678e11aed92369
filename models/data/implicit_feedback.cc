#include "models/data/implicit_feedback.h"

#include <algorithm>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>

#include "models/data/splitmix.h"

namespace syncbed::models {

namespace {

bool contains(std::span<const std::int32_t> sorted, std::int32_t item) {
  return std::binary_search(sorted.begin(), sorted.end(), item);
}

}  // namespace

bool LeaveOneOutData::interacted(int user, std::int32_t item) const {
  return test_items[user] == item || contains(train_of(user), item);
}

LeaveOneOutData split_leave_one_out(const UserHistories& histories, int eval_negatives, std::uint64_t seed) {
  if (eval_negatives < 0) throw std::invalid_argument("eval negatives must not be negative");
  LeaveOneOutData data;
  data.users = histories.users;
  data.items = histories.items;
  data.eval_negatives = eval_negatives;
  data.train_offsets.assign(1, 0);
  data.train_items.reserve(histories.interactions() - histories.users);
  data.test_items.resize(histories.users);
  for (int u = 0; u < histories.users; ++u) {
    const auto history = histories.of(u);
    if (history.size() < 2)
      throw std::invalid_argument("user " + std::to_string(u) + " has " + std::to_string(history.size()) +
                                  " interaction(s); leave-one-out needs at least 2");
    data.test_items[u] = history.back();
    const std::size_t begin = data.train_items.size();
    data.train_items.insert(data.train_items.end(), history.begin(), history.end() - 1);
    std::sort(data.train_items.begin() + begin, data.train_items.end());
    const auto train = std::span(data.train_items).subspan(begin);
    if (std::adjacent_find(train.begin(), train.end()) != train.end() || contains(train, history.back()))
      throw std::invalid_argument("user " + std::to_string(u) + " interacts with the same item more than once");
    if (std::size_t(histories.items) < history.size() + eval_negatives)
      throw std::invalid_argument(
          "user " + std::to_string(u) + " has only " + std::to_string(histories.items - history.size()) +
          " items it never interacted with; " + std::to_string(eval_negatives) + " evaluation negatives are needed");
    data.train_offsets.push_back(data.train_items.size());
  }

  data.negatives.resize(std::size_t(histories.users) * eval_negatives);
#pragma omp parallel
  {
    std::vector<std::uint8_t> chosen(histories.items, 0);
#pragma omp for schedule(dynamic, 256)
    for (int u = 0; u < histories.users; ++u) {
      std::mt19937_64 rng(splitmix(seed ^ splitmix(std::uint64_t(u))));
      std::uniform_int_distribution<std::int32_t> any_item(0, histories.items - 1);
      std::int32_t* out = data.negatives.data() + std::size_t(u) * eval_negatives;
      for (int k = 0; k < eval_negatives;) {
        const std::int32_t item = any_item(rng);
        if (chosen[item] || data.interacted(u, item)) continue;
        chosen[item] = 1;
        out[k++] = item;
      }
      for (int k = 0; k < eval_negatives; ++k) chosen[out[k]] = 0;
    }
  }
  return data;
}

TrainingSamples::TrainingSamples(const LeaveOneOutData& data, int negatives, std::uint64_t seed)
    : data_(data), negatives_(negatives), seed_(seed) {
  if (negatives < 0) throw std::invalid_argument("negatives per positive must not be negative");
  positives_.reserve(data.train_items.size());
  for (int u = 0; u < data.users; ++u)
    for (std::int32_t item : data.train_of(u)) positives_.emplace_back(u, item);
}

void TrainingSamples::start_epoch(int epoch) {
  epoch_seed_ = splitmix(seed_ ^ splitmix(std::uint64_t(epoch) + 1));
  order_.resize(positives_.size());
  std::iota(order_.begin(), order_.end(), 0u);
  std::mt19937_64 rng(epoch_seed_);
  std::shuffle(order_.begin(), order_.end(), rng);
}

void TrainingSamples::fill(std::size_t begin, std::size_t count, InteractionBatch& batch) const {
  if (order_.empty() && !positives_.empty()) throw std::logic_error("training samples: start_epoch() first");
  if (begin + count > size()) throw std::out_of_range("training samples: batch beyond the end of the epoch");
  batch.users.resize(count);
  batch.items.resize(count);
  batch.labels.resize(count);
  const std::size_t group = 1 + negatives_;
#pragma omp parallel for schedule(static)
  for (std::size_t k = 0; k < count; ++k) {
    const std::size_t s = begin + k;
    const auto [user, item] = positives_[order_[s / group]];
    batch.users[k] = user;
    if (s % group == 0) {
      batch.items[k] = item;
      batch.labels[k] = 1.0f;
      continue;
    }
    // Rejection sampling: uniform items until one is not among the user's training items.
    std::uint64_t state = epoch_seed_ ^ splitmix(s);
    std::int32_t negative;
    do {
      state = splitmix(state);
      negative = static_cast<std::int32_t>((state >> 11) % std::uint64_t(data_.items));
    } while (contains(data_.train_of(user), negative));
    batch.items[k] = negative;
    batch.labels[k] = 0.0f;
  }
}

}  // namespace syncbed::models
