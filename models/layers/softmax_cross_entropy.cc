#include "models/layers/softmax_cross_entropy.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "models/profile.h"

namespace syncbed::models {

double SoftmaxCrossEntropy::forward_backward(const memory& logits, std::span<const std::int32_t> labels) {
  static const std::string kName = "loss";
  ProfileScope scope(kName, "loss", Phase::kForward);
  const memory::dims d = logits.get_desc().dims();
  const long n = d[0], classes = d[1];
  if (static_cast<long>(labels.size()) != n) throw std::invalid_argument("loss: one label per example expected");
  if (logits.get_desc() != desc_) {
    desc_ = logits.get_desc();
    diff_ = memory(desc_, cpu_engine());
  }
  const float* x = static_cast<const float*>(logits.get_data_handle());
  float* g = static_cast<float*>(diff_.get_data_handle());
  double loss = 0;
  for (long i = 0; i < n; ++i) {
    const int label = labels[i];
    if (label < 0 || label >= classes)
      throw std::invalid_argument("loss: label " + std::to_string(label) + " outside 0.." +
                                  std::to_string(classes - 1));
    const float* row = x + i * classes;
    float* grow = g + i * classes;
    const float top = *std::max_element(row, row + classes);
    double sum = 0;
    for (long c = 0; c < classes; ++c) sum += std::exp(double(row[c] - top));
    for (long c = 0; c < classes; ++c) grow[c] = float(std::exp(double(row[c] - top)) / sum / n);
    grow[label] -= 1.0f / n;
    loss += std::log(sum) - (row[label] - top);
  }
  return loss / n;
}

}  // namespace syncbed::models
