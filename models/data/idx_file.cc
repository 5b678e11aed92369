#include "models/data/idx_file.h"

#include <zlib.h>

#include <memory>
#include <stdexcept>

namespace syncbed::models {

namespace {

constexpr std::uint8_t kUnsignedByte = 0x08;
constexpr std::uint64_t kMaxValues = std::uint64_t(1) << 32;  // 4 GiB: far beyond any IDX dataset

struct GzCloser {
  void operator()(gzFile_s* file) const { gzclose(file); }
};

std::uint32_t big_endian(const std::uint8_t* b) {
  return std::uint32_t(b[0]) << 24 | std::uint32_t(b[1]) << 16 | std::uint32_t(b[2]) << 8 | b[3];
}

}  // namespace

IdxArray read_idx_bytes(const std::string& path) {
  auto fail = [&](const std::string& why) { return std::runtime_error(path + ": " + why); };
  // gzread also reads uncompressed files transparently.
  std::unique_ptr<gzFile_s, GzCloser> file(gzopen(path.c_str(), "rb"));
  if (!file) throw fail("cannot open");
  auto read_exactly = [&](void* out, std::size_t bytes) {
    auto* p = static_cast<std::uint8_t*>(out);
    while (bytes > 0) {
      const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(bytes, 1u << 30));
      const int got = gzread(file.get(), p, chunk);
      if (got < 0) throw fail("read error (corrupt gzip data?)");
      if (got == 0) return false;
      p += got;
      bytes -= static_cast<std::size_t>(got);
    }
    return true;
  };

  std::uint8_t magic[4];
  if (!read_exactly(magic, 4)) throw fail("too short for an IDX header");
  if (magic[0] != 0 || magic[1] != 0 || magic[3] == 0) throw fail("not an IDX file (bad magic number)");
  if (magic[2] != kUnsignedByte)
    throw fail("IDX values are not unsigned bytes (type code " + std::to_string(magic[2]) + ")");
  IdxArray array;
  std::uint64_t count = 1;
  for (int d = 0; d < magic[3]; ++d) {
    std::uint8_t size[4];
    if (!read_exactly(size, 4)) throw fail("truncated IDX header");
    array.dims.push_back(big_endian(size));
    count *= array.dims.back();
    if (count > kMaxValues) throw fail("IDX dimensions are implausibly large");
  }
  array.values.resize(count);
  if (!read_exactly(array.values.data(), count)) throw fail("truncated: fewer values than the header declares");
  std::uint8_t extra;
  if (read_exactly(&extra, 1)) throw fail("trailing data after the declared values");
  return array;
}

}  // namespace syncbed::models
