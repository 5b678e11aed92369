#include "experiments/worker/fault_injector.h"

#include <csignal>
#include <stdexcept>

#include "core/log.h"

namespace syncbed::experiments {

FaultInjector::FaultInjector(const ExperimentConfig& config, const RunSpec& run, int rank, int attempt)
    : kill_(config.kill),
      armed_(attempt == 1 && config.kill.kills(run.index, rank)),
      rank_(rank),
      slowdown_(config.straggler.slows(rank) ? config.straggler.slowdown : 1) {}

void FaultInjector::die(const std::string& what) const {
  if (kill_.how == KillFault::How::kStop) {
    log_line("fault injection: stopping myself (SIGSTOP) instead of " + what);
    raise(SIGSTOP);  // until the launcher kills us; a SIGCONT ends the process here
  } else {
    log_line("fault injection: " + what);
  }
  raise(SIGKILL);
  std::abort();  // SIGKILL cannot be caught; this only satisfies [[noreturn]]
}

void FaultInjector::before_iteration(long iteration) const {
  if (!armed_ || iteration != kill_.iteration) return;
  if (kill_.how == KillFault::How::kError)
    throw std::runtime_error("fault injection: rank " + std::to_string(rank_) + " fails with an error at iteration " +
                             std::to_string(iteration));
  die("killing myself (rank " + std::to_string(rank_) + ") at iteration " + std::to_string(iteration));
}

void FaultInjector::after_driver_iteration(long iteration) const {
  if (armed_ && iteration == kill_.iteration) die("killing the driver after iteration " + std::to_string(iteration));
}

std::function<void(const sync::tasks::TaskKey&)> FaultInjector::before_task() const {
  if (!armed_) return {};
  const auto kind = kill_.job == 2 ? sync::tasks::TaskKind::kParameterSync : sync::tasks::TaskKind::kForwardBackward;
  return [this, kind](const sync::tasks::TaskKey& key) {
    if (key.kind == kind && key.iteration == kill_.iteration) die("killing myself during " + key.describe());
  };
}

}  // namespace syncbed::experiments
