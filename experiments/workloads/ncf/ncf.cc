#include "experiments/workloads/ncf/ncf.h"

#include <filesystem>

#include "models/data/synthetic_feedback.h"

namespace syncbed::experiments {
namespace {

void parse_ncf(const ConfigNode&, const ConfigNode& data, ModelSpec&, DataSpec& spec) {
  const bool movielens = spec.kind == "movielens";
  if (movielens && (!data.json().is_object() || !data.has("path")))
    ConfigNode(data.json(), data.path() + ".path").fail("is required for movielens (the ratings.csv file)");
  if (!data.json().is_object()) return;
  for (const char* key : {"users", "items"})
    if (data.has(key) && movielens) data.required(key).fail("applies to generated ncf data only");
  if (data.has("path") && !movielens) data.required("path").fail("applies to movielens data only");
  spec.path = data.get_string("path", "");
  spec.users = static_cast<int>(data.get_int("users", 2, 100'000'000, spec.users));
  spec.items = static_cast<int>(data.get_int("items", 2, 100'000'000, spec.items));
  spec.negatives = static_cast<int>(data.get_int("negatives", 0, 1000, spec.negatives));
  spec.eval_negatives = static_cast<int>(data.get_int("eval_negatives", 1, 1'000'000, spec.eval_negatives));
  const int fewest_items = models::min_synthetic_items({});
  if (spec.kind == "synthetic-ml20m" && spec.items < fewest_items)
    data.required("items").fail("synthetic-ml20m needs at least " + std::to_string(fewest_items) +
                                " items (every user has at least half that many interactions)");
  if (movielens) {
    try {
      if (std::filesystem::exists(spec.path)) require_regular_file(spec.path, "ratings file");
    } catch (const std::invalid_argument& e) {
      data.required("path").fail(e.what());
    }
  }
  if (spec.kind == "synthetic-ml20m" && spec.eval_negatives >= spec.items)
    data.required("eval_negatives").fail("must be fewer than the items (" + std::to_string(spec.items) + ")");
}

}  // namespace

ModelEntry ncf_entry() {
  OptimizerConfig adam;
  adam.kind = OptimizerConfig::Kind::kAdam;
  adam.learning_rate = 0.0005f;
  adam.momentum = 0.0f;
  return {"ncf",
          "samples",
          {"synthetic", "synthetic-ml20m", "movielens"},
          {"movielens", "synthetic-ml20m"},
          2048,
          1 << 24,
          adam,
          {},
          {"users", "items", "negatives", "eval_negatives"},
          parse_ncf,
          make_ncf_workload,
          ncf_bench_options(),
          bench_ncf,
          ncf_train_options(),
          train_ncf};
}

}  // namespace syncbed::experiments
