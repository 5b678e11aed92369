// An executor of BigDL's task model: it runs the tasks the driver sends, round by round,
// and keeps nothing between tasks but its block store (served to the other ranks). Within
// a round it runs its tasks in order; a task whose input is not there yet waits for it
// (group scheduling pre-declares dependencies this way). When a task fails, the rest of
// the round is skipped and the store refuses waits, so dependent tasks elsewhere fail
// fast instead of waiting; the driver decides what runs again.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <span>

#include "core/buffer.h"
#include "core/optimizer.h"
#include "core/transport/mesh.h"
#include "sync/tasks/block_store.h"
#include "sync/tasks/drop_policy.h"
#include "sync/tasks/task.h"

namespace syncbed::sync::tasks {

// What forward-backward tasks compute: a model replica for each data partition this
// executor is asked to run. Supplied by the experiment (sync/ knows no models).
class GradientSource {
 public:
  virtual ~GradientSource() = default;
  // The task fetches the weights into weights(p), then compute(p, i) fills gradients(p)
  // with partition p's gradient for iteration i and returns the batch's loss.
  virtual std::span<float> weights(int partition) = 0;
  virtual std::span<const float> gradients(int partition) = 0;
  virtual double compute(int partition, long iteration) = 0;
  // The model's initial weights, identical on every executor (init tasks slice them).
  virtual std::span<const float> initial_weights() = 0;
};

struct TaskRuntimeOptions {
  int executors = 1;  // ranks 0..executors-1; the driver is rank `executors`
  std::size_t parameters = 0;
  OptimizerConfig optimizer;
  std::size_t store_bytes = std::size_t{1} << 30;
  std::chrono::milliseconds wait_for_block{30'000};  // below the mesh's op timeout
  DropOptions drop;                                  // parameter-sync discards an iteration with too few replicas
  // Fault injection: runs before each task (a test may kill the process there).
  std::function<void(const TaskKey&)> before_task;
  // Fault injection: a straggler's forward-backward takes this many times as long.
  double slowdown = 1.0;
};

class Executor {
 public:
  Executor(net::Mesh& mesh, const TaskRuntimeOptions& options, GradientSource& source);
  // Until the driver says stop. Throws when the driver is lost, naming it.
  void run();
  const BlockStore& store() const { return store_; }

 private:
  struct Timing {
    std::int64_t fetch_ns = 0, compute_ns = 0, put_ns = 0;
    double loss = 0;
    bool dropped = false;       // forward-backward: cancelled at its time limit
    std::int64_t replicas = 0;  // parameter-sync: gradients summed
  };
  Timing run_task(const TaskSpec& task, class BlockClient& client);
  Timing init(const TaskSpec& task, BlockClient& client);
  Timing forward_backward(const TaskSpec& task, BlockClient& client);
  Timing parameter_sync(const TaskSpec& task, BlockClient& client);
  bool straggle(std::int64_t compute_ns, std::int64_t limit_ns);
  void put_with_replica(const TaskSpec& task, const BlockId& id, Block data, BlockClient& client);
  void report(const TaskReport& report);

  net::Mesh& mesh_;
  TaskRuntimeOptions options_;
  GradientSource& source_;
  BlockStore store_;
  int driver_;
  AlignedBuffer<float> incoming_;  // scratch for parameter-sync's gradient pieces, reused
};

}  // namespace syncbed::sync::tasks
