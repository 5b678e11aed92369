#include "experiments/workloads/inception_v1/inception_v1.h"

#include "models/data/fashion_mnist.h"

namespace syncbed::experiments {
namespace {

void parse_inception_v1(const ConfigNode& model, const ConfigNode& data, ModelSpec& spec, DataSpec& data_spec) {
  const bool fashion = data_spec.kind == "fashion-mnist";
  spec.image_size = static_cast<int>(model.get_int("image_size", 48, 1024, 224));
  spec.classes = static_cast<int>(model.get_int("classes", 2, 100'000, fashion ? 10 : 1000));
  if (fashion && spec.classes != 10) model.required("classes").fail("fashion-mnist has 10 classes");
  const auto conv = model.optional("conv");
  spec.winograd = !conv || conv->as_choice({"winograd", "direct"}) == "winograd";
  if (fashion) data_spec.path = models::kFashionMnistDir;
  if (!data.json().is_object()) return;
  if (data.has("path") && !fashion) data.required("path").fail("applies to fashion-mnist data only");
  data_spec.path = data.get_string("path", data_spec.path);
}

}  // namespace

ModelEntry inception_v1_entry() {
  OptimizerConfig sgd;
  sgd.learning_rate = 0.01f;
  sgd.momentum = 0.9f;
  return {"inception_v1",
          "images",
          {"synthetic", "fashion-mnist"},
          {},
          32,
          4096,
          sgd,
          {"image_size", "classes", "conv"},
          {},
          parse_inception_v1,
          make_inception_v1_workload,
          inception_v1_bench_options(),
          bench_inception_v1,
          inception_v1_train_options(),
          train_inception_v1};
}

}  // namespace syncbed::experiments
