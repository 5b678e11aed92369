// What a config says about the model and its data, once parsed: the inputs of a workload.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace syncbed::experiments {

struct ModelSpec {
  std::string name;  // a registered model (workloads/registry.h)
  int batch = 0;     // per worker and iteration
  // inception_v1
  int image_size = 224;
  int classes = 1000;
  bool winograd = true;
};

struct DataSpec {
  std::string kind;                     // one of the model's data kinds, e.g. "synthetic", "movielens"
  std::string path;                     // for kinds read from files (fashion-mnist: directory; movielens: ratings.csv)
  int users = 138'493, items = 26'744;  // ncf on generated data
  int negatives = 4;                    // ncf: sampled negatives per training positive
  int eval_negatives = 999;             // ncf: per user in evaluation
  // Leave-one-out data exists, so the model trains in epochs and reports HR@10 / NDCG@10.
  bool ranked = false;
};

// Emulated compute: how long one iteration takes and how backward spends it.
struct EmulatedCompute {
  double total_ms = 0;
  double forward_ms = -1;  // < 0: a third of the total (backward costs about twice forward)
  // Per layer (ParameterLayer::name): its share of backward, from `syncbed calibrate`.
  // Empty: shares in proportion to the layers' parameters.
  std::map<std::string, double> layer_backward_ms;
};

// Everything a workload is built from.
struct WorkloadSpec {
  ModelSpec model;
  DataSpec data;
  std::uint64_t seed = 1;
  long iterations = 0;  // the run's timed iterations (an epoch is cut at this many); 0: unbounded
};

}  // namespace syncbed::experiments
