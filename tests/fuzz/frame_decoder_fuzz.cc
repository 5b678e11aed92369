// libFuzzer target: everything the transport parses from untrusted bytes. The input is
// read as a stream of frames, the way a connection reads it: header, then payload,
// which goes to the decoder for the frame's kind.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "core/transport/tcp/frame.h"
#include "core/transport/tcp/messages.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace syncbed::net;
  const auto* bytes = reinterpret_cast<const std::byte*>(data);
  std::size_t pos = 0;
  // The first byte picks the limits, so both connection states are explored.
  const DecodeLimits limits = size > 0 && data[0] % 2 ? DecodeLimits{4096, 3} : DecodeLimits{};
  while (size - pos >= kHeaderSize) {
    std::array<std::byte, kHeaderSize> header_bytes;
    std::memcpy(header_bytes.data(), bytes + pos, kHeaderSize);
    pos += kHeaderSize;
    const auto decoded = decode_header(header_bytes, limits);
    if (!decoded.header) return 0;  // a connection closes here
    if (decoded.header->length > size - pos) return 0;
    const std::span<const std::byte> payload(bytes + pos, decoded.header->length);
    pos += decoded.header->length;
    std::string error;
    switch (decoded.header->kind) {
      case FrameKind::kRegister: {
        if (auto r = decode_registration(payload, &error)) {
          auto again = decode_registration(encode_registration(*r), &error);
          if (!again || !(*again == *r)) __builtin_trap();  // must round-trip
        }
        break;
      }
      case FrameKind::kTable: {
        if (auto t = decode_table(payload, &error)) {
          auto again = decode_table(encode_table(*t), &error);
          if (!again || *again != *t) __builtin_trap();
        }
        break;
      }
      default:
        (void)decode_text(payload);
    }
  }
  return 0;
}
