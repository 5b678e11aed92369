#include "core/options.h"

#include <cmath>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace syncbed::cli {

Options::Options(std::string command, std::string summary, std::vector<OptionSpec> specs)
    : command_(std::move(command)), summary_(std::move(summary)), specs_(std::move(specs)) {}

const OptionSpec& Options::spec(const std::string& name) const {
  for (const auto& s : specs_)
    if (s.name == name) return s;
  throw std::logic_error("option --" + name + " is not declared for " + command_);
}

Options& Options::with_positional(std::string name, std::string help) {
  positional_name_ = std::move(name);
  positional_help_ = std::move(help);
  return *this;
}

bool Options::parse(const std::vector<std::string>& args) {
  raw_ = args;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << help();
      return false;
    }
    if (arg.rfind("--", 0) != 0) {
      if (positional_name_.empty() || !positional_.empty())
        throw std::invalid_argument(command_ + ": unexpected argument '" + arg + "'");
      positional_ = arg;
      continue;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> inline_value;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const OptionSpec* found = nullptr;
    for (const auto& s : specs_)
      if (s.name == name) found = &s;
    if (!found) throw std::invalid_argument(command_ + ": unknown option --" + name + " (see --help)");
    if (found->value_name.empty()) {
      if (inline_value) throw std::invalid_argument(command_ + ": --" + name + " takes no value");
      values_.insert_or_assign(name, std::string(1, '1'));  // plain = "1" trips GCC 12 -Wrestrict (PR105651)
    } else {
      if (!inline_value && i + 1 >= args.size())
        throw std::invalid_argument(command_ + ": --" + name + " needs a value " + found->value_name);
      values_[name] = inline_value ? *inline_value : args[++i];
      all_values_[name].push_back(values_[name]);
    }
  }
  if (!positional_name_.empty() && positional_.empty())
    throw std::invalid_argument(command_ + ": missing " + positional_name_ + " (see --help)");
  return true;
}

std::string Options::help() const {
  std::ostringstream out;
  out << "usage: syncbed " << command_ << (positional_name_.empty() ? "" : " " + positional_name_) << " [options]\n\n"
      << summary_ << "\n\n";
  if (!positional_name_.empty())
    out << "  " << std::left << std::setw(28) << positional_name_ << positional_help_ << "\n\n";
  out << "options:\n";
  for (const auto& s : specs_) {
    std::ostringstream left;
    left << "  --" << s.name;
    if (!s.value_name.empty()) left << ' ' << s.value_name;
    out << std::left << std::setw(30) << left.str() << s.help;
    if (!s.default_value.empty()) out << " (default " << s.default_value << ")";
    out << "\n";
  }
  out << std::left << std::setw(30) << "  --help"
      << "show this help\n";
  return out.str();
}

bool Options::has(const std::string& name) const {
  spec(name);
  return values_.count(name) > 0;
}

std::vector<std::string> Options::get_all(const std::string& name) const {
  spec(name);
  const auto it = all_values_.find(name);
  return it != all_values_.end() ? it->second : std::vector<std::string>{};
}

std::string Options::get(const std::string& name) const {
  const auto& s = spec(name);
  const auto it = values_.find(name);
  return it != values_.end() ? it->second : s.default_value;
}

namespace {

// `parse(text, &used)` (std::stoll, std::stod, ...) if it reads all of `text`, else nothing.
template <typename Parse>
auto parse_whole(const std::string& text, Parse parse) -> std::optional<decltype(parse(text, nullptr))> {
  std::size_t used = 0;
  try {
    const auto value = parse(text, &used);
    if (!text.empty() && used == text.size()) return value;
  } catch (const std::exception&) {
    // not a number, or out of the type's range: refused below like any other bad text
  }
  return std::nullopt;
}

}  // namespace

long long Options::get_int(const std::string& name, long long min, long long max) const {
  const std::string text = get(name);
  const auto value = parse_whole(text, [](const std::string& t, std::size_t* used) { return std::stoll(t, used); });
  if (!value) throw std::invalid_argument(command_ + ": --" + name + " must be an integer, got '" + text + "'");
  if (*value < min || *value > max)
    throw std::invalid_argument(command_ + ": --" + name + " must be in " + std::to_string(min) + ".." +
                                std::to_string(max) + ", got " + text);
  return *value;
}

double Options::get_double(const std::string& name, double min, double max) const {
  const std::string text = get(name);
  const auto value = parse_whole(text, [](const std::string& t, std::size_t* used) { return std::stod(t, used); });
  if (!value || !std::isfinite(*value))
    throw std::invalid_argument(command_ + ": --" + name + " must be a number, got '" + text + "'");
  if (*value < min || *value > max)
    throw std::invalid_argument(command_ + ": --" + name + " must be in " + format_number(min) + ".." +
                                format_number(max) + ", got " + text);
  return *value;
}

std::vector<std::uint64_t> Options::get_sizes(const std::string& name) const { return get_sizes(name, get(name)); }

std::vector<std::uint64_t> Options::get_sizes(const std::string& name, const std::string& when_absent) const {
  std::vector<std::uint64_t> sizes;
  std::stringstream list(has(name) ? get(name) : when_absent);
  std::string item;
  while (std::getline(list, item, ',')) {
    try {
      sizes.push_back(parse_size(item));
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(command_ + ": --" + name + ": " + e.what());
    }
  }
  if (sizes.empty()) throw std::invalid_argument(command_ + ": --" + name + " lists no sizes");
  return sizes;
}

std::vector<std::string> Options::args_without(const std::vector<std::string>& names) const {
  std::vector<std::string> kept;
  for (std::size_t i = 0; i < raw_.size(); ++i) {
    if (raw_[i].rfind("--", 0) != 0) {  // the positional argument
      kept.push_back(raw_[i]);
      continue;
    }
    std::string name = raw_[i].substr(2);
    const bool has_inline = name.find('=') != std::string::npos;
    name = name.substr(0, name.find('='));
    bool drop = false;
    for (const auto& n : names) drop = drop || n == name;
    if (!drop) {
      kept.push_back(raw_[i]);
      continue;
    }
    if (!has_inline && !spec(name).value_name.empty()) ++i;  // skip its value too
  }
  return kept;
}

}  // namespace syncbed::cli
