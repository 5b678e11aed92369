// A strategy's checkpoint state as one byte string: counters and float arrays written in a
// fixed order and read back in the same order. A reader refuses an array whose length
// differs from the one it expects, or bytes left over, naming what it was reading, so a
// checkpoint from another model or layout is an error, not silently wrong weights.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/optimizer.h"

namespace syncbed {

class StateWriter {
 public:
  void count(std::uint64_t value);
  void floats(std::span<const float> values);  // its length, then the values
  void optimizer(const Optimizer& optimizer);  // its step count and state
  std::vector<std::byte> take() { return std::move(bytes_); }

 private:
  void append(const void* data, std::size_t size);
  std::vector<std::byte> bytes_;
};

class StateReader {
 public:
  // `what` names the state in errors, e.g. "ring state".
  StateReader(std::span<const std::byte> bytes, std::string what) : bytes_(bytes), what_(std::move(what)) {}
  std::uint64_t count(const char* name);
  void floats(std::span<float> into, const char* name);  // the stored length must be into.size()
  void optimizer(Optimizer& optimizer, const char* name);
  void finish() const;  // throws unless every byte was read

 private:
  void take(void* out, std::size_t size, const char* name);
  std::span<const std::byte> bytes_;
  std::string what_;
  std::size_t offset_ = 0;
};

}  // namespace syncbed
