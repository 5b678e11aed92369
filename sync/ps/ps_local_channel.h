// The in-process path between a worker and the parameter server co-located with it
// (the mesh has no connection from a rank to itself). Pushes and results are copied,
// so neither side waits for the other to finish with a buffer; copies are recycled.
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <span>
#include <vector>

#include "sync/ps/ps_protocol.h"

namespace syncbed::sync {

class PsLocalChannel {
 public:
  struct Push {
    PsIntent intent;
    std::vector<float> data;
  };

  // Worker side.
  void push(PsIntent intent, std::span<const float> data);
  bool result_ready();
  // Blocks for the next result and copies it into out; rethrows the server's failure.
  void take_result(std::span<float> out);

  // Server side.
  Push take_push();  // blocks
  void recycle(std::vector<float> buffer);
  void publish(std::span<const float> result);
  void fail(std::exception_ptr error);

 private:
  std::vector<float> spare_buffer(std::span<const float> contents);  // caller holds mutex_

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Push> pushes_;
  std::deque<std::vector<float>> results_;
  std::vector<std::vector<float>> spares_;
  std::exception_ptr failure_;
};

}  // namespace syncbed::sync
