// NCF / NeuMF as in MLPerf v0.5: a GMF branch (user and item embeddings of 64,
// multiplied elementwise) and an MLP branch (embeddings of 128 + 128, then
// 256-256-128-64 with ReLU), concatenated (64 + 64) into one logit; sigmoid BCE loss.
// 31,832,577 parameters at ml-20m's 138,493 users x 26,744 items.
//
// A batch touches few embedding rows, so forward_backward() writes (and later clears)
// only those rows of the gradient buffer and reports them in touched(): a lazy optimizer
// updates just these ranges, the dense reference updates everything.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "core/buffer.h"
#include "core/optimizer.h"
#include "models/interaction_batch.h"
#include "models/parameter_block.h"

namespace syncbed::models {

struct NcfConfig {
  int users = 138'493;
  int items = 26'744;
  int mf_dim = 64;
  int mlp_embedding = 128;                // per side; the MLP input is twice this
  std::vector<int> mlp = {256, 128, 64};  // layer widths after the 256-wide input
  std::uint64_t seed = 1;
};

struct ParameterRange {
  std::size_t offset, count;
};

class Ncf {
 public:
  explicit Ncf(const NcfConfig& config);

  std::span<float> parameters() { return params_.weights(); }
  std::span<float> gradients() { return params_.gradients(); }
  const ParameterBlock& parameter_block() const { return params_; }
  const NcfConfig& config() const { return config_; }

  // Mean binary cross-entropy of the batch; fills the gradient of the touched rows and of
  // every dense parameter, and zeroes the rows the previous call touched.
  double forward_backward(const InteractionBatch& batch);
  // The same, calling ready(begin) when gradients()[begin, end) are final: once the head
  // and the MLP are done (their parameters follow the embeddings), then with 0 once the
  // embedding rows are.
  double forward_backward(const InteractionBatch& batch, const std::function<void(std::size_t)>& ready);
  // Mean loss without a backward pass.
  double loss(const InteractionBatch& batch);
  // Logits (before the sigmoid) of the batch's (user, item) pairs; labels are ignored.
  std::span<const float> predict(const InteractionBatch& batch);
  // Ranges of parameters whose gradient the last forward_backward() wrote, sorted.
  const std::vector<ParameterRange>& touched() const { return touched_; }

  // One optimizer step over the touched ranges only (lazy Adam/SGD: untouched rows keep
  // their weights and optimizer state); the optimizer must cover all parameters. The
  // gradient is consumed: each range is zeroed once applied.
  void lazy_update(Optimizer& optimizer);

 private:
  friend class NcfRanker;  // reads the weights to precompute per-item terms
  struct Dense {
    ParameterView weight, bias;
    int in, out;
  };
  void forward(const InteractionBatch& batch);
  void check_batch(const InteractionBatch& batch) const;
  void check_labels(const InteractionBatch& batch) const;
  void clear_touched_rows();
  struct RowGroups {
    std::vector<std::int32_t> order;  // sample indices sorted by id
    std::vector<std::size_t> starts;  // where each id's samples begin in `order`, plus the end
  };
  static RowGroups group_by_id(std::span<const std::int32_t> ids);
  // Writes each id's summed gradient row into `table`'s gradients and records the rows.
  void scatter_rows(const ParameterView& table, int width, std::span<const std::int32_t> ids, const RowGroups& groups,
                    const float* rows, int row_stride, std::vector<ParameterRange>& ranges);

  NcfConfig config_;
  ParameterBlock params_;
  ParameterView mf_user_, mf_item_, mlp_user_, mlp_item_;
  std::vector<Dense> layers_;  // MLP layers, then the head (in = mf_dim + last MLP width)
  std::vector<ParameterRange> touched_;
  bool touched_cleared_ = false;  // lazy_update() already zeroed the touched rows

  // Activations of the last forward pass, row-major batch x width.
  int batch_ = 0;
  std::vector<float> gmf_, mlp_in_;
  std::vector<std::vector<float>> hidden_;  // outputs of each MLP layer (after ReLU)
  std::vector<float> logits_;
  std::vector<float> ones_, grad_logits_, grad_a_, grad_b_, grad_gmf_, user_rows_, item_rows_;
};

}  // namespace syncbed::models
