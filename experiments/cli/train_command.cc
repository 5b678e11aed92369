// `syncbed train`: single-process training of a registered model on real or generated
// data until a quality metric can be read off (Inception-v1 on Fashion-MNIST: test
// accuracy; NCF on MovieLens or synthetic ml-20m-shaped data: HR@10 and NDCG@10 per
// epoch). The model's own options and loop are its registry row's.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/options.h"
#include "experiments/cli/commands.h"
#include "experiments/workloads/registry.h"
#include "models/dnnl_context.h"

namespace syncbed::cli {
namespace {

std::vector<OptionSpec> train_options() {
  std::string names, data, batches, rates;
  for (const auto& entry : experiments::model_entries()) {
    names += (names.empty() ? "" : " or ") + entry.name;
    std::string kinds;
    for (const auto& kind : entry.data_kinds)
      if (kind != "synthetic") kinds += (kinds.empty() ? "" : " or ") + kind;
    data += (data.empty() ? "" : "; ") + entry.name + ": " + kinds;
    batches += (batches.empty() ? "" : ", ") + std::to_string(entry.default_batch) + " for " + entry.name;
  }
  std::vector<OptionSpec> specs{{"model", "NAME", names, experiments::model_entries().front().name},
                                {"data", "NAME", data + " (default: the first)", ""},
                                {"batch", "N", "examples per step (default: " + batches + ")", ""},
                                {"lr", "X", "learning rate (default: the model's own)", ""}};
  for (const auto& entry : experiments::model_entries())
    for (const auto& spec : entry.train_options)
      if (std::none_of(specs.begin(), specs.end(), [&](const OptionSpec& s) { return s.name == spec.name; }))
        specs.push_back(spec);
  specs.push_back({"threads", "T", "compute threads (0 = OpenMP default)", "0"});
  specs.push_back({"seed", "S", "seed of the initialisation, data and sampling", "1"});
  specs.push_back(
      {"json", "FILE", "also write the result and curve as JSON (a file is replaced atomically; - prints it)", ""});
  return specs;
}

}  // namespace

int train_command(const std::vector<std::string>& args) {
  Options options("train",
                  "Train one model in one process on real or generated data and report its quality: Inception-v1 on "
                  "Fashion-MNIST (test accuracy), NCF on MovieLens ratings.csv or synthetic ml-20m-shaped data (HR@10 "
                  "and NDCG@10 with leave-one-out, before training and after every epoch).",
                  train_options());
  if (!options.parse(args)) return 0;
  const experiments::ModelEntry* model = &experiments::model_from_options(options);
  if (!options.get("json").empty()) check_writable(options.get("json"));  // now, not after the run
  const int batch = experiments::batch_from_options(options, *model);
  models::set_compute_threads(static_cast<int>(options.get_int("threads", 0, 1024)));
  nlohmann::json result = model->train(options, batch);
  result["threads"] = models::compute_threads();
  if (!options.get("json").empty()) write_file_atomically(options.get("json"), result.dump(2) + "\n");
  return 0;
}

}  // namespace syncbed::cli
