#include "core/transport/tcp/frame.h"

#include <gtest/gtest.h>

#include <cstring>

namespace syncbed::net {
namespace {

HeaderBytes valid_header(std::uint64_t length = 16) {
  return encode_header({FrameKind::kData, 3, 0x1122334455667788ull, length});
}

void put_u32(HeaderBytes& h, std::size_t offset, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) h[offset + i] = static_cast<std::byte>((v >> (8 * i)) & 0xff);
}

TEST(Frame, RoundTripsEveryField) {
  const FrameHeader in{FrameKind::kData, 7, 0xdeadbeefcafef00dull, 123456789};
  const auto decoded = decode_header(encode_header(in), {});
  ASSERT_TRUE(decoded.header) << decoded.error;
  EXPECT_EQ(decoded.header->kind, in.kind);
  EXPECT_EQ(decoded.header->source, in.source);
  EXPECT_EQ(decoded.header->tag, in.tag);
  EXPECT_EQ(decoded.header->length, in.length);
}

TEST(Frame, IsLittleEndianOnTheWire) {
  const auto bytes = encode_header({FrameKind::kGoodbye, 0x01020304, 0, 0x0a0b});
  EXPECT_EQ(bytes[0], std::byte{'S'});
  EXPECT_EQ(bytes[3], std::byte{'B'});
  EXPECT_EQ(bytes[6], std::byte{3});
  EXPECT_EQ(bytes[8], std::byte{0x04});
  EXPECT_EQ(bytes[24], std::byte{0x0b});
  EXPECT_EQ(bytes[25], std::byte{0x0a});
}

TEST(Frame, RejectsWrongMagic) {
  auto h = valid_header();
  put_u32(h, 0, 0x12345678);
  const auto r = decode_header(h, {});
  EXPECT_FALSE(r.header);
  EXPECT_NE(r.error.find("bad magic 0x12345678"), std::string::npos) << r.error;
}

TEST(Frame, RejectsWrongVersion) {
  auto h = valid_header();
  h[4] = std::byte{9};
  const auto r = decode_header(h, {});
  EXPECT_FALSE(r.header);
  EXPECT_NE(r.error.find("unsupported wire version 9"), std::string::npos) << r.error;
}

TEST(Frame, RejectsUnknownKinds) {
  for (std::uint8_t kind : {0, 8, 255}) {
    auto h = valid_header();
    h[6] = std::byte{kind};
    const auto r = decode_header(h, {});
    EXPECT_FALSE(r.header);
    EXPECT_NE(r.error.find("unknown frame kind " + std::to_string(kind)), std::string::npos) << r.error;
  }
}

TEST(Frame, RejectsNonzeroReservedField) {
  auto h = valid_header();
  h[13] = std::byte{1};
  EXPECT_NE(decode_header(h, {}).error.find("reserved"), std::string::npos);
}

TEST(Frame, RejectsDataLongerThanTheConfiguredMaximum) {
  EXPECT_TRUE(decode_header(valid_header(1000), {1000, kAnyRank}).header);
  const auto r = decode_header(valid_header(1001), {1000, kAnyRank});
  EXPECT_FALSE(r.header);
  EXPECT_NE(r.error.find("payload length 1001 exceeds the maximum 1000"), std::string::npos) << r.error;
  EXPECT_FALSE(decode_header(valid_header(~0ull), {}).header);
}

TEST(Frame, ControlFramesHaveTheirOwnSmallLimit) {
  const auto big_hello = encode_header({FrameKind::kHello, 0, 0, kMaxControlPayload + 1});
  const auto r = decode_header(big_hello, {std::uint64_t{1} << 40, kAnyRank});
  EXPECT_FALSE(r.header);
  EXPECT_NE(r.error.find("hello frame"), std::string::npos) << r.error;
}

TEST(Frame, RejectsASourceThatIsNotTheConnectionsPeer) {
  EXPECT_TRUE(decode_header(valid_header(), {kDefaultMaxPayload, 3}).header);
  const auto r = decode_header(valid_header(), {kDefaultMaxPayload, 4});
  EXPECT_FALSE(r.header);
  EXPECT_NE(r.error.find("claims source rank 3 on the connection to rank 4"), std::string::npos) << r.error;
}

}  // namespace
}  // namespace syncbed::net
