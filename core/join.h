// Words joined for a message: join({"a", "b"}) == "a, b".
#pragma once

#include <string>
#include <vector>

namespace syncbed {

inline std::string join(const std::vector<std::string>& words, const std::string& separator = ", ") {
  std::string out;
  for (const auto& word : words) out += (out.empty() ? "" : separator) + word;
  return out;
}

}  // namespace syncbed
