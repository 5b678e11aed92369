#include "core/config.h"

#include <cmath>

#include "core/join.h"
#include "core/units.h"

namespace syncbed {
namespace {

std::string type_name(const nlohmann::json& value) {
  if (value.is_number_integer()) return "an integer";
  if (value.is_number()) return "a number";
  if (value.is_string()) return "a string";
  if (value.is_boolean()) return "a boolean";
  if (value.is_array()) return "an array";
  if (value.is_object()) return "an object";
  return "null";
}

}  // namespace

ConfigError::ConfigError(const std::string& path, const std::string& reason)
    : std::invalid_argument("config: " + (path.empty() ? std::string("(top level)") : path) + ": " + reason) {}

std::string ConfigNode::found() const {
  if (value_->is_string() || value_->is_number() || value_->is_boolean()) return "got " + value_->dump();
  return "got " + type_name(*value_);
}

void ConfigNode::expect_keys(const std::vector<std::string>& known) const {
  if (!value_->is_object()) fail("must be an object, " + found());
  for (const auto& [key, unused] : value_->items()) {
    bool ok = false;
    for (const auto& k : known) ok = ok || k == key;
    if (!ok)
      ConfigNode(*value_, path_.empty() ? key : path_ + "." + key).fail("unknown key (known: " + join(known) + ")");
  }
}

bool ConfigNode::has(const std::string& key) const { return value_->is_object() && value_->contains(key); }

std::optional<ConfigNode> ConfigNode::optional(const std::string& key) const {
  if (!value_->is_object()) fail("must be an object, " + found());
  const auto it = value_->find(key);
  if (it == value_->end()) return std::nullopt;
  return ConfigNode(*it, path_.empty() ? key : path_ + "." + key);
}

ConfigNode ConfigNode::required(const std::string& key) const {
  auto node = optional(key);
  if (!node) ConfigNode(*value_, path_.empty() ? key : path_ + "." + key).fail("is required");
  return *node;
}

std::vector<ConfigNode> ConfigNode::elements(std::size_t min_count) const {
  if (!value_->is_array()) fail("must be an array, " + found());
  if (value_->size() < min_count) fail("needs at least " + std::to_string(min_count) + " element(s)");
  std::vector<ConfigNode> out;
  for (std::size_t i = 0; i < value_->size(); ++i)
    out.emplace_back((*value_)[i], path_ + "[" + std::to_string(i) + "]");
  return out;
}

std::string ConfigNode::as_string() const {
  if (!value_->is_string()) fail("must be a string, " + found());
  return value_->get<std::string>();
}

std::string ConfigNode::as_choice(const std::vector<std::string>& choices) const {
  const std::string value = as_string();
  for (const auto& c : choices)
    if (c == value) return value;
  fail("must be one of " + join(choices) + ", " + found());
}

long long ConfigNode::as_int(long long min, long long max) const {
  if (!value_->is_number_integer()) fail("must be an integer, " + found());
  const long long value = value_->is_number_unsigned() && value_->get<std::uint64_t>() > std::uint64_t(max)
                              ? max + 1
                              : value_->get<long long>();
  if (value < min || value > max)
    fail("must be between " + std::to_string(min) + " and " + std::to_string(max) + ", " + found());
  return value;
}

double ConfigNode::as_number(double min, double max) const {
  if (!value_->is_number()) fail("must be a number, " + found());
  const double value = value_->get<double>();
  if (!std::isfinite(value) || value < min || value > max)
    fail("must be between " + format_number(min) + " and " + format_number(max) + ", " + found());
  return value;
}

bool ConfigNode::as_bool() const {
  if (!value_->is_boolean()) fail("must be true or false, " + found());
  return value_->get<bool>();
}

std::uint64_t ConfigNode::as_size(std::uint64_t min, std::uint64_t max) const {
  std::uint64_t bytes = 0;
  if (value_->is_number_integer() && (value_->is_number_unsigned() || value_->get<long long>() >= 0)) {
    bytes = value_->get<std::uint64_t>();
  } else if (value_->is_string()) {
    try {
      bytes = parse_size(value_->get<std::string>());
    } catch (const std::invalid_argument& e) {
      fail(e.what());
    }
  } else {
    fail("must be a size in bytes like 1048576 or \"1M\", " + found());
  }
  if (bytes < min || bytes > max)
    fail("must be between " + format_size(min) + " and " + format_size(max) + ", " + found());
  return bytes;
}

std::string ConfigNode::get_string(const std::string& key, const std::string& fallback) const {
  const auto node = optional(key);
  return node ? node->as_string() : fallback;
}

long long ConfigNode::get_int(const std::string& key, long long min, long long max, long long fallback) const {
  const auto node = optional(key);
  return node ? node->as_int(min, max) : fallback;
}

double ConfigNode::get_number(const std::string& key, double min, double max, double fallback) const {
  const auto node = optional(key);
  return node ? node->as_number(min, max) : fallback;
}

bool ConfigNode::get_bool(const std::string& key, bool fallback) const {
  const auto node = optional(key);
  return node ? node->as_bool() : fallback;
}

}  // namespace syncbed
