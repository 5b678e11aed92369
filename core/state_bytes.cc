#include "core/state_bytes.h"

#include <cstring>
#include <stdexcept>

namespace syncbed {

void StateWriter::append(const void* data, std::size_t size) {
  const auto* bytes = static_cast<const std::byte*>(data);
  bytes_.insert(bytes_.end(), bytes, bytes + size);
}

void StateWriter::count(std::uint64_t value) { append(&value, sizeof value); }

void StateWriter::floats(std::span<const float> values) {
  count(values.size());
  append(values.data(), values.size_bytes());
}

void StateWriter::optimizer(const Optimizer& optimizer) {
  count(static_cast<std::uint64_t>(optimizer.steps()));
  std::vector<float> state(optimizer.state_size());
  optimizer.save_state(state);
  floats(state);
}

void StateReader::take(void* out, std::size_t size, const char* name) {
  if (bytes_.size() - offset_ < size)
    throw std::runtime_error(what_ + ": truncated at " + name + " (" + std::to_string(bytes_.size()) + " bytes)");
  if (size) std::memcpy(out, bytes_.data() + offset_, size);
  offset_ += size;
}

std::uint64_t StateReader::count(const char* name) {
  std::uint64_t value = 0;
  take(&value, sizeof value, name);
  return value;
}

void StateReader::floats(std::span<float> into, const char* name) {
  const std::uint64_t length = count(name);
  if (length != into.size())
    throw std::runtime_error(what_ + ": " + name + " has " + std::to_string(length) + " values, expected " +
                             std::to_string(into.size()) + " (a checkpoint of another model or layout?)");
  take(into.data(), into.size_bytes(), name);
}

void StateReader::optimizer(Optimizer& optimizer, const char* name) {
  const auto steps = static_cast<long>(count(name));
  std::vector<float> state(optimizer.state_size());
  floats(state, name);
  optimizer.load_state(state, steps);
}

void StateReader::finish() const {
  if (offset_ != bytes_.size())
    throw std::runtime_error(what_ + ": " + std::to_string(bytes_.size() - offset_) +
                             " bytes left over (a checkpoint of another strategy or layout?)");
}

}  // namespace syncbed
