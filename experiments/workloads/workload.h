// What a worker trains: a model and this worker's part of the data, behind one face the
// worker loop drives. The loop never sees which model it is; it sees flat weights and
// gradients, items per iteration, and (for NCF on leave-one-out data) epochs and ranking.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "experiments/workloads/model_spec.h"
#include "models/parameter_block.h"

namespace syncbed::experiments {

// One layer's parameters in the flat vector, which holds the layers in forward order.
struct ParameterLayer {
  std::string name;
  std::size_t begin = 0, size = 0;
};
// The layers of a model's parameter block: its tensors grouped by the name before the
// last '.' ("conv1.weight" and "conv1.bias" are layer "conv1").
std::vector<ParameterLayer> layers_of(const models::ParameterBlock& block);

// Called while compute() runs, with `begin` once gradients()[begin, end) are final for
// this iteration. Backward finishes layers from the last to the first, so `begin` only
// decreases; the last call has begin 0.
using GradientsReady = std::function<void(std::size_t begin)>;

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
  // The same, reporting gradients as they become final (for overlap). A workload that
  // cannot tell reports all of them at the end.
  virtual double compute_overlapped(long iteration, const GradientsReady& ready) {
    const double loss = compute(iteration);
    ready(0);
    return loss;
  }
  // The model's layers, in forward order (none: the model does not tell).
  virtual std::vector<ParameterLayer> parameter_layers() const { return {}; }
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
