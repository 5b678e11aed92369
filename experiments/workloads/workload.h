// What a worker trains: a model and this worker's part of the data, behind one face the
// worker loop drives. The loop never sees which model it is; it sees flat weights and
// gradients, items per iteration, and (for NCF on leave-one-out data) epochs and ranking.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "experiments/workloads/model_spec.h"

namespace syncbed::experiments {

// A slice of users' HR@k / NDCG@k, as sums so workers' slices add up.
struct RankingSums {
  double hits = 0, ndcg = 0, users = 0;
};

class Workload {
 public:
  virtual ~Workload() = default;
  // Identical on every worker after construction (same seed).
  virtual std::span<float> weights() = 0;
  virtual std::span<float> gradients() = 0;
  // This worker's gradient for `iteration` (counted from 0 over the whole run, warm-up
  // included) into gradients(); returns the batch's mean loss.
  virtual double compute(long iteration) = 0;
  virtual int items_per_iteration() const = 0;  // on this worker
  virtual const char* item_unit() const = 0;    // "images", "samples"
  // Iterations in one epoch when the workload has epochs (0 otherwise).
  virtual long iterations_per_epoch() const { return 0; }
  // HR@10 / NDCG@10 of users in slice `part` of `parts`; only workloads on ranked data
  // (leave-one-out) have them.
  virtual bool evaluates_ranking() const { return false; }
  virtual RankingSums evaluate(int /*part*/, int /*parts*/) { return {}; }
};

}  // namespace syncbed::experiments
