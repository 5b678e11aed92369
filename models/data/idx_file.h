// Reader for the IDX format of MNIST and Fashion-MNIST (big-endian header: two zero bytes,
// a type code, the number of dimensions, one 32-bit size per dimension, then the data).
// Files may be gzip-compressed, as Debian ships them, or plain.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace syncbed::models {

struct IdxArray {
  std::vector<std::uint32_t> dims;
  std::vector<std::uint8_t> values;  // unsigned bytes, row-major
};

// Reads an IDX file of unsigned bytes. Throws std::runtime_error naming the file and what
// is wrong (missing, not IDX, not unsigned bytes, truncated, trailing data).
IdxArray read_idx_bytes(const std::string& path);

}  // namespace syncbed::models
