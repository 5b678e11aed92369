// Byte sizes and numbers as people write them: "28M" <-> 29360128, 0.03.
#pragma once

#include <cstdint>
#include <string>

namespace syncbed {

// "4096", "4K", "28M", "1G" (powers of 1024) -> bytes. Throws std::invalid_argument.
std::uint64_t parse_size(const std::string& text);
std::string format_size(std::uint64_t bytes);  // 4096 -> "4K"
std::string format_number(double value);       // shortest natural form: 0.03, 1e-05

}  // namespace syncbed
