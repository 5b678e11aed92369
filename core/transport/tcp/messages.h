// Payloads of the control frames (hello, register, table, error). Every decoder takes
// untrusted bytes and either returns a value or a reason; it never reads out of bounds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace syncbed::net {

struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
  std::string to_string() const { return host + ":" + std::to_string(port); }
  bool operator==(const Endpoint&) const = default;
};

struct Registration {
  std::string token;
  std::uint32_t world_size = 0;
  Endpoint listen;
  bool operator==(const Registration&) const = default;
};

using Bytes = std::vector<std::byte>;

Bytes encode_registration(const Registration& registration);
std::optional<Registration> decode_registration(std::span<const std::byte> payload, std::string* error);

// Rank i's listening endpoint is table[i].
Bytes encode_table(const std::vector<Endpoint>& table);
std::optional<std::vector<Endpoint>> decode_table(std::span<const std::byte> payload, std::string* error);

Bytes encode_text(const std::string& text);  // hello (token) and error (reason)
std::string decode_text(std::span<const std::byte> payload);

}  // namespace syncbed::net
