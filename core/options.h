// A small command-line parser: each subcommand declares its options once, and the
// same table drives parsing, validation messages and --help.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/units.h"

namespace syncbed::cli {

struct OptionSpec {
  std::string name;        // without the leading "--"
  std::string value_name;  // empty for a flag without a value
  std::string help;
  std::string default_value;  // shown in --help; empty if none
};

class Options {
 public:
  Options(std::string command, std::string summary, std::vector<OptionSpec> specs);
  // Also takes one positional argument, shown as `name` (e.g. "CONFIG") in the usage.
  Options& with_positional(std::string name, std::string help);

  // Throws std::invalid_argument naming the offending argument. Returns false when
  // --help was given (help was printed).
  bool parse(const std::vector<std::string>& args);
  std::string help() const;
  const std::string& command() const { return command_; }

  bool has(const std::string& name) const;
  std::string get(const std::string& name) const;                   // value, or the declared default
  std::vector<std::string> get_all(const std::string& name) const;  // every value of a repeated option
  const std::string& positional() const { return positional_; }
  long long get_int(const std::string& name, long long min, long long max) const;
  double get_double(const std::string& name, double min, double max) const;
  // "4K,64K,1M,28M" -> bytes; K, M, G are powers of 1024.
  std::vector<std::uint64_t> get_sizes(const std::string& name) const;
  // The same, of `when_absent` when the option was not given (a default that depends on others).
  std::vector<std::uint64_t> get_sizes(const std::string& name, const std::string& when_absent) const;
  // Arguments as given, minus the named options (used to re-exec workers).
  std::vector<std::string> args_without(const std::vector<std::string>& names) const;

 private:
  const OptionSpec& spec(const std::string& name) const;

  std::string command_;
  std::string summary_;
  std::vector<OptionSpec> specs_;
  std::map<std::string, std::string> values_;
  std::map<std::string, std::vector<std::string>> all_values_;
  std::string positional_name_, positional_help_, positional_;
  std::vector<std::string> raw_;
};

}  // namespace syncbed::cli
