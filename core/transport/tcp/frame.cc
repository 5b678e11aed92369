#include "core/transport/tcp/frame.h"

#include <cstdio>

namespace syncbed::net {
namespace {

template <typename T>
void put_le(std::byte* out, T value) {
  for (std::size_t i = 0; i < sizeof(T); ++i) out[i] = static_cast<std::byte>((value >> (8 * i)) & 0xff);
}

template <typename T>
T get_le(const std::byte* in) {
  T value = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) value |= static_cast<T>(std::to_integer<T>(in[i])) << (8 * i);
  return value;
}

std::string hex32(std::uint32_t value) {
  char text[11];
  std::snprintf(text, sizeof text, "0x%08x", value);
  return text;
}

bool known_kind(std::uint16_t kind) {
  return kind >= static_cast<std::uint16_t>(FrameKind::kHello) &&
         kind <= static_cast<std::uint16_t>(FrameKind::kHeartbeat);
}

}  // namespace

const char* to_string(FrameKind kind) {
  switch (kind) {
    case FrameKind::kHello:
      return "hello";
    case FrameKind::kData:
      return "data";
    case FrameKind::kGoodbye:
      return "goodbye";
    case FrameKind::kRegister:
      return "register";
    case FrameKind::kTable:
      return "table";
    case FrameKind::kError:
      return "error";
    case FrameKind::kHeartbeat:
      return "heartbeat";
  }
  return "unknown";
}

HeaderBytes encode_header(const FrameHeader& header) {
  HeaderBytes out{};
  put_le<std::uint32_t>(&out[0], kFrameMagic);
  put_le<std::uint16_t>(&out[4], kWireVersion);
  put_le<std::uint16_t>(&out[6], static_cast<std::uint16_t>(header.kind));
  put_le<std::uint32_t>(&out[8], header.source);
  put_le<std::uint32_t>(&out[12], 0);
  put_le<std::uint64_t>(&out[16], header.tag);
  put_le<std::uint64_t>(&out[24], header.length);
  return out;
}

DecodeResult decode_header(std::span<const std::byte, kHeaderSize> bytes, const DecodeLimits& limits) {
  const std::byte* in = bytes.data();
  const auto magic = get_le<std::uint32_t>(in);
  if (magic != kFrameMagic) return {std::nullopt, "bad magic " + hex32(magic) + " (not a syncbed peer?)"};
  const auto version = get_le<std::uint16_t>(in + 4);
  if (version != kWireVersion)
    return {std::nullopt,
            "unsupported wire version " + std::to_string(version) + " (expected " + std::to_string(kWireVersion) + ")"};
  const auto kind = get_le<std::uint16_t>(in + 6);
  if (!known_kind(kind)) return {std::nullopt, "unknown frame kind " + std::to_string(kind)};
  if (get_le<std::uint32_t>(in + 12) != 0) return {std::nullopt, "reserved header field is not zero"};

  FrameHeader header;
  header.kind = static_cast<FrameKind>(kind);
  header.source = get_le<std::uint32_t>(in + 8);
  header.tag = get_le<std::uint64_t>(in + 16);
  header.length = get_le<std::uint64_t>(in + 24);

  const std::uint64_t limit = header.kind == FrameKind::kData ? limits.max_payload : kMaxControlPayload;
  if (header.length > limit)
    return {std::nullopt, "payload length " + std::to_string(header.length) + " exceeds the maximum " +
                              std::to_string(limit) + " for a " + to_string(header.kind) + " frame"};
  if (limits.expected_source != kAnyRank && header.source != limits.expected_source)
    return {std::nullopt, "frame claims source rank " + std::to_string(header.source) + " on the connection to rank " +
                              std::to_string(limits.expected_source)};
  return {header, {}};
}

}  // namespace syncbed::net
