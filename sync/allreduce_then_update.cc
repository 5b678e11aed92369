#include "sync/allreduce_then_update.h"

#include "core/clock.h"
#include "core/state_bytes.h"

namespace syncbed::sync {

AllreduceThenUpdate::AllreduceThenUpdate(std::string name, int workers, const SyncOptions& options)
    : name_(std::move(name)), workers_(workers), optimizer_(options.optimizer, options.parameters) {}

void AllreduceThenUpdate::step(std::span<float> weights, std::span<float> grads, PhaseTimes& times) {
  Stopwatch watch;
  sum(grads);
  times.add("allreduce", watch.lap());
  optimizer_.step(weights, grads);
  times.add("update", watch.lap());
}

void AllreduceThenUpdate::allreduce_sum(std::span<float> data, PhaseTimes& times) {
  Stopwatch watch;
  sum(data);
  times.add("allreduce", watch.lap());
}

std::vector<std::byte> AllreduceThenUpdate::save_state() {
  StateWriter out;
  out.optimizer(optimizer_);
  return out.take();
}

void AllreduceThenUpdate::restore_state(std::span<const std::byte> state) {
  StateReader in(state, name_ + " state");
  in.optimizer(optimizer_, "optimizer");
  in.finish();
}

}  // namespace syncbed::sync
