// Implicit-feedback data for recommendation (NCF): users' interactions in time order, the
// leave-one-out split the NCF paper and MLPerf use (each user's latest interaction is held
// out for evaluation, with 999 sampled items the user never interacted with), and the
// stream of training samples (every training interaction plus 4 sampled negatives).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "models/interaction_batch.h"

namespace syncbed::models {

// Interactions grouped by user (dense ids 0..users-1), oldest first; items 0..items-1.
struct UserHistories {
  int users = 0, items = 0;
  std::vector<std::size_t> offsets{0};  // users + 1 entries
  std::vector<std::int32_t> sequence;   // items, user by user

  std::span<const std::int32_t> of(int user) const {
    return {sequence.data() + offsets[user], offsets[user + 1] - offsets[user]};
  }
  std::size_t interactions() const { return sequence.size(); }
};

struct LeaveOneOutData {
  int users = 0, items = 0;
  std::vector<std::size_t> train_offsets;  // users + 1
  std::vector<std::int32_t> train_items;   // each user's training items, sorted
  std::vector<std::int32_t> test_items;    // each user's held-out (latest) item
  int eval_negatives = 0;
  std::vector<std::int32_t> negatives;  // users x eval_negatives, distinct, never interacted with

  std::span<const std::int32_t> train_of(int user) const {
    return {train_items.data() + train_offsets[user], train_offsets[user + 1] - train_offsets[user]};
  }
  std::span<const std::int32_t> negatives_of(int user) const {
    return {negatives.data() + std::size_t(user) * eval_negatives, std::size_t(eval_negatives)};
  }
  bool interacted(int user, std::int32_t item) const;  // in training or held out
};

// Splits every user's history: the latest interaction is held out, the rest train.
// Each user needs at least 2 interactions (with no repeated item) and `eval_negatives`
// items it never interacted with; otherwise std::invalid_argument names the user.
// Negatives are drawn per user from a seed of (seed, user), in parallel.
LeaveOneOutData split_leave_one_out(const UserHistories& histories, int eval_negatives, std::uint64_t seed);

// The training samples of one epoch: every training interaction (label 1) followed by
// `negatives` items the user has no training interaction with (label 0), positives in a
// shuffled order. Sample s is a pure function of (seed, epoch, s), so batches can be cut
// anywhere and filled in parallel.
class TrainingSamples {
 public:
  TrainingSamples(const LeaveOneOutData& data, int negatives, std::uint64_t seed);
  void start_epoch(int epoch);
  std::size_t size() const { return positives_.size() * (1 + negatives_); }
  // Samples [begin, begin + count) of the current epoch.
  void fill(std::size_t begin, std::size_t count, InteractionBatch& batch) const;

 private:
  const LeaveOneOutData& data_;
  int negatives_;
  std::uint64_t seed_, epoch_seed_ = 0;
  std::vector<std::pair<std::int32_t, std::int32_t>> positives_;  // (user, item), user by user
  std::vector<std::uint32_t> order_;                              // positives in epoch order
};

}  // namespace syncbed::models
