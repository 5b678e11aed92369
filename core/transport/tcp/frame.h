// Wire format: a fixed 32-byte little-endian header followed by the payload.
//
//   offset  size  field
//   0       4     magic   "SYNB" (0x424e5953 read as little-endian u32)
//   4       2     version (kWireVersion)
//   6       2     kind    (FrameKind)
//   8       4     source rank (sender's rank; coordinator and strangers use kAnyRank)
//   12      4     reserved, must be 0
//   16      8     tag
//   24      8     payload length in bytes
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace syncbed::net {

inline constexpr std::uint32_t kFrameMagic = 0x424e5953;  // "SYNB"
inline constexpr std::uint16_t kWireVersion = 1;
inline constexpr std::size_t kHeaderSize = 32;
inline constexpr std::uint32_t kAnyRank = 0xffffffffu;
// Control frames (handshake, rendezvous, errors) are small; a larger claimed length
// is refused before anything is allocated.
inline constexpr std::uint64_t kMaxControlPayload = 64 * 1024;
inline constexpr std::uint64_t kDefaultMaxPayload = std::uint64_t{1} << 30;

enum class FrameKind : std::uint16_t {
  kHello = 1,      // mesh handshake: payload = job token
  kData = 2,       // tagged application message
  kGoodbye = 3,    // orderly close: no more frames follow
  kRegister = 4,   // worker -> coordinator: token, world size, address, port
  kTable = 5,      // coordinator -> worker: every rank's address and port
  kError = 6,      // either direction: UTF-8 reason, then the sender closes
  kHeartbeat = 7,  // sent on an idle connection so the peer knows we are alive
};

const char* to_string(FrameKind kind);

struct FrameHeader {
  FrameKind kind = FrameKind::kData;
  std::uint32_t source = kAnyRank;
  std::uint64_t tag = 0;
  std::uint64_t length = 0;
};

using HeaderBytes = std::array<std::byte, kHeaderSize>;

HeaderBytes encode_header(const FrameHeader& header);

struct DecodeLimits {
  std::uint64_t max_payload = kDefaultMaxPayload;
  // The rank this connection is known to carry frames from, or kAnyRank before the
  // handshake has told us.
  std::uint32_t expected_source = kAnyRank;
};

// Parses and validates a header. Returns the reason on rejection (wrong magic or
// version, unknown kind, nonzero reserved field, length above the limit, or a source
// rank that is not the connection's peer).
struct DecodeResult {
  std::optional<FrameHeader> header;
  std::string error;
};
DecodeResult decode_header(std::span<const std::byte, kHeaderSize> bytes, const DecodeLimits& limits);

}  // namespace syncbed::net
