// Overlap of synchronization with backward: a strategy's buckets (ParameterSync::
// sync_bucket) run on a communication thread of their own while the caller's backward
// pass goes on. The caller says how much of the gradient is final; each bucket starts as
// soon as it is, and finish() returns once the last is synchronized. Every rank runs the
// buckets in the same order, whatever order its backward finishes them in, so ranks
// never wait on each other in a cycle.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "sync/parameter_sync.h"

namespace syncbed::sync {

// When one bucket's synchronization ran, in seconds from the start of the step.
struct BucketTiming {
  ShardRange range;
  double ready_s = 0;  // its gradients were final
  double start_s = 0;  // the communication thread took it up
  double end_s = 0;    // its sync_bucket returned (ps: pushed; its weights arrive with the last)
};

class OverlappedStep {
 public:
  // `sync` must have been built with overlap on; it must outlive this object.
  OverlappedStep(ParameterSync& sync, const SyncOptions& options);
  ~OverlappedStep();
  OverlappedStep(const OverlappedStep&) = delete;
  OverlappedStep& operator=(const OverlappedStep&) = delete;

  // Starts a step (ParameterSync::begin_step); no bucket is synchronized before
  // ready_from() says its gradients are final.
  void begin(std::span<float> weights, std::span<float> grads);
  // The gradients from element `begin` to the end of the vector are final.
  void ready_from(std::size_t begin);
  // Every gradient is final: waits until the last bucket is synchronized and appends
  // each bucket's phases to `times`. Rethrows what the communication thread threw.
  void finish(PhaseTimes& times);
  // Of the last finished step.
  const std::vector<BucketTiming>& timings() const { return timings_; }
  // Buckets of the current step synchronized so far (safe from any thread).
  std::size_t buckets_done();

 private:
  void communicate();

  ParameterSync& sync_;
  const std::vector<ShardRange> buckets_;
  std::vector<PhaseTimes> phases_;  // per bucket, of the current step
  std::vector<BucketTiming> timings_;
  Stopwatch clock_;  // from begin()

  std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t ready_ = 0;  // buckets whose gradients are final
  std::size_t done_ = 0;   // buckets synchronized
  bool stepping_ = false;  // between begin() and finish()
  bool stop_ = false;
  std::exception_ptr error_;
  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace syncbed::sync
