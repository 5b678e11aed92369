#include "core/transport/tcp/messages.h"

#include <gtest/gtest.h>

namespace syncbed::net {
namespace {

TEST(Messages, RegistrationRoundTrips) {
  const Registration in{"tok", 9, {"10.1.2.3", 4242}};
  std::string error;
  const auto out = decode_registration(encode_registration(in), &error);
  ASSERT_TRUE(out) << error;
  EXPECT_EQ(*out, in);
}

TEST(Messages, EveryTruncationOfARegistrationIsRejected) {
  const auto bytes = encode_registration({"token", 4, {"127.0.0.1", 1234}});
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    std::string error;
    EXPECT_FALSE(decode_registration(std::span(bytes).first(n), &error)) << n;
    EXPECT_FALSE(error.empty());
  }
}

TEST(Messages, RegistrationRejectsTrailingBytesZeroWorldAndMissingAddress) {
  std::string error;
  auto bytes = encode_registration({"t", 4, {"h", 1}});
  bytes.push_back(std::byte{0});
  EXPECT_FALSE(decode_registration(bytes, &error));
  EXPECT_EQ(error, "trailing bytes after registration");
  EXPECT_FALSE(decode_registration(encode_registration({"t", 0, {"h", 1}}), &error));
  EXPECT_EQ(error, "world size out of range");
  EXPECT_FALSE(decode_registration(encode_registration({"t", 2, {"h", 0}}), &error));
  EXPECT_EQ(error, "registration lacks an address");
}

TEST(Messages, TableRoundTripsAndRejectsLiesAboutItsSize) {
  const std::vector<Endpoint> table{{"127.0.0.1", 1}, {"::1", 65535}, {"host-b", 80}};
  std::string error;
  const auto out = decode_table(encode_table(table), &error);
  ASSERT_TRUE(out) << error;
  EXPECT_EQ(*out, table);

  auto lying = encode_table(table);
  lying[0] = std::byte{0xff};  // claims 255 entries
  EXPECT_FALSE(decode_table(lying, &error));
  const std::vector<std::byte> huge{std::byte{0xff}, std::byte{0xff}, std::byte{0xff}, std::byte{0x7f}};
  EXPECT_FALSE(decode_table(huge, &error));
  EXPECT_EQ(error, "bad table size");
}

}  // namespace
}  // namespace syncbed::net
