// Typed reads from parsed JSON whose errors name the field path and the reason
// ("config: strategies[1].segment: must be a size like \"1M\", got true"), so a bad
// config is refused, whole, before anything starts.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace syncbed {

class ConfigError : public std::invalid_argument {
 public:
  ConfigError(const std::string& path, const std::string& reason);
};

// A view of one JSON value and where it sits in the document.
class ConfigNode {
 public:
  ConfigNode(const nlohmann::json& value, std::string path) : value_(&value), path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  const nlohmann::json& json() const { return *value_; }
  [[noreturn]] void fail(const std::string& reason) const { throw ConfigError(path_, reason); }

  // Objects. `expect_keys` refuses a non-object and any key not in `known`.
  void expect_keys(const std::vector<std::string>& known) const;
  bool has(const std::string& key) const;
  ConfigNode required(const std::string& key) const;
  std::optional<ConfigNode> optional(const std::string& key) const;

  // Arrays: the elements, each with its index in the path.
  std::vector<ConfigNode> elements(std::size_t min_count = 0) const;

  // Scalars, range-checked; every reason says what was expected and what was found.
  std::string as_string() const;
  std::string as_choice(const std::vector<std::string>& choices) const;
  long long as_int(long long min, long long max) const;
  double as_number(double min, double max) const;
  bool as_bool() const;
  std::uint64_t as_size(std::uint64_t min, std::uint64_t max) const;  // 1048576 or "1M"

  // Shorthands for an optional member with a default.
  std::string get_string(const std::string& key, const std::string& fallback) const;
  long long get_int(const std::string& key, long long min, long long max, long long fallback) const;
  double get_number(const std::string& key, double min, double max, double fallback) const;
  bool get_bool(const std::string& key, bool fallback) const;

 private:
  std::string found() const;  // "got ..." for error messages

  const nlohmann::json* value_;
  std::string path_;
};

}  // namespace syncbed

namespace syncbed {

// Refuses (std::invalid_argument naming the path) anything that is not a regular file,
// so that a device such as /dev/zero is never read without end.
void require_regular_file(const std::string& path, const std::string& what);

// Reads a JSON document that a person wrote, refusing, with the file, the field and the
// reason: a file that is not regular or larger than max_bytes, nesting deeper than
// kMaxConfigDepth, a key given twice in one object, and numbers out of range.
inline constexpr int kMaxConfigDepth = 64;
nlohmann::json read_json_file(const std::string& path, std::size_t max_bytes = std::size_t{16} << 20);

// The same for JSON text from elsewhere; `source` names it in errors.
nlohmann::json parse_json_text(const std::string& text, const std::string& source);

}  // namespace syncbed
