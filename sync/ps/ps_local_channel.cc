#include "sync/ps/ps_local_channel.h"

#include <algorithm>

namespace syncbed::sync {

std::vector<float> PsLocalChannel::spare_buffer(std::span<const float> contents) {
  std::vector<float> buffer;
  if (!spares_.empty()) {
    buffer = std::move(spares_.back());
    spares_.pop_back();
  }
  buffer.assign(contents.begin(), contents.end());
  return buffer;
}

void PsLocalChannel::push(PsIntent intent, std::span<const float> data) {
  std::lock_guard lock(mutex_);
  pushes_.push_back({intent, spare_buffer(data)});
  changed_.notify_all();
}

bool PsLocalChannel::result_ready() {
  std::lock_guard lock(mutex_);
  return !results_.empty();
}

void PsLocalChannel::take_result(std::span<float> out) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return !results_.empty() || failure_; });
  if (results_.empty()) std::rethrow_exception(failure_);
  std::copy(results_.front().begin(), results_.front().end(), out.begin());
  spares_.push_back(std::move(results_.front()));
  results_.pop_front();
}

PsLocalChannel::Push PsLocalChannel::take_push() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return !pushes_.empty(); });
  Push next = std::move(pushes_.front());
  pushes_.pop_front();
  return next;
}

void PsLocalChannel::recycle(std::vector<float> buffer) {
  std::lock_guard lock(mutex_);
  spares_.push_back(std::move(buffer));
}

void PsLocalChannel::publish(std::span<const float> result) {
  std::lock_guard lock(mutex_);
  results_.push_back(spare_buffer(result));
  changed_.notify_all();
}

void PsLocalChannel::fail(std::exception_ptr error) {
  std::lock_guard lock(mutex_);
  failure_ = error;
  changed_.notify_all();
}

}  // namespace syncbed::sync
