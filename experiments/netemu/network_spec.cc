#include "experiments/netemu/network_spec.h"

#include <regex>
#include <stdexcept>

namespace syncbed::experiments {
namespace {

double scaled(const std::string& text, const std::regex& pattern, const std::string& expected,
              double (*unit)(const std::string&)) {
  std::smatch match;
  if (!std::regex_match(text, match, pattern))
    throw std::invalid_argument("must look like " + expected + ", got '" + text + "'");
  return std::stod(match[1].str()) * unit(match[2].str());
}

double rate_unit(const std::string& unit) {
  if (unit == "kbit") return 1e3;
  if (unit == "mbit") return 1e6;
  if (unit == "gbit") return 1e9;
  if (unit == "tbit") return 1e12;
  return 1;
}

double time_unit(const std::string& unit) {
  if (unit == "us") return 1e-6;
  if (unit == "ms") return 1e-3;
  return 1;  // "s"
}

}  // namespace

double parse_rate_bits(const std::string& text) {
  static const std::regex pattern(R"(([0-9]+(?:\.[0-9]+)?)([kmgt]?bit))");
  const double bits = scaled(text, pattern, "10gbit, 500mbit or 100kbit", rate_unit);
  if (bits < 8e3 || bits > 1e13) throw std::invalid_argument("must be between 8kbit and 10tbit, got '" + text + "'");
  return bits;
}

double parse_duration_s(const std::string& text) {
  if (text == "0") return 0;
  static const std::regex pattern(R"(([0-9]+(?:\.[0-9]+)?)(us|ms|s))");
  const double seconds = scaled(text, pattern, "50us, 1ms or 0", time_unit);
  if (seconds > 10) throw std::invalid_argument("must be at most 10s, got '" + text + "'");
  return seconds;
}

std::string NetworkSpec::kind_name() const {
  switch (kind) {
    case Kind::kNetns:
      return "netns";
    case Kind::kHosts:
      return "hosts";
    default:
      return "loopback";
  }
}

nlohmann::json NetworkSpec::to_json() const {
  if (kind == Kind::kLoopback) return {{"kind", kind_name()}};
  return {{"kind", kind_name()}, {"rate", rate}, {"delay", delay}, {"loss", loss}};
}

NetworkSpec parse_network(const ConfigNode& node) {
  NetworkSpec spec;
  if (node.json().is_string()) {
    node.as_choice({"loopback"});
    return spec;
  }
  node.expect_keys({"kind", "rate", "delay", "loss"});
  const std::string kind = node.required("kind").as_choice({"loopback", "netns", "hosts"});
  if (kind == "loopback") {
    for (const char* key : {"rate", "delay", "loss"})
      if (node.has(key)) node.required(key).fail("applies to kinds netns and hosts only");
    return spec;
  }
  spec.kind = kind == "netns" ? NetworkSpec::Kind::kNetns : NetworkSpec::Kind::kHosts;
  auto read = [&](const char* key, const std::string& fallback, auto parse) {
    const auto field = node.optional(key);
    const std::string text = field ? field->as_string() : fallback;
    try {
      return std::make_pair(text, parse(text));
    } catch (const std::invalid_argument& e) {
      node.required(key).fail(e.what());
    }
  };
  std::tie(spec.rate, spec.rate_bits) = read("rate", "", parse_rate_bits);
  std::tie(spec.delay, spec.delay_s) = read("delay", "0", parse_duration_s);
  std::tie(spec.loss, spec.loss_fraction) = read("loss", "0", [&](const std::string& text) {
    static const std::regex pattern(R"(([0-9]+(?:\.[0-9]+)?)%?)");
    if (!std::regex_match(text, pattern))
      throw std::invalid_argument("must be a percentage like 0.01%, got '" + text + "'");
    const double percent = std::stod(text);
    if (percent > 100) throw std::invalid_argument("must be at most 100%, got '" + text + "'");
    return percent / 100;
  });
  if (spec.kind == NetworkSpec::Kind::kHosts && spec.loss_fraction > 0)
    node.required("loss").fail("applies to kind netns only");
  return spec;
}

}  // namespace syncbed::experiments
