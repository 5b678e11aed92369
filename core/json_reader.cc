#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "core/config.h"
#include "core/units.h"

namespace syncbed {
namespace {

// A first pass over the text with nlohmann's SAX parser (which keeps its own stack, so
// depth cannot overflow ours) that knows where it is, to refuse what json::parse
// would accept silently (duplicate keys: last wins) or report without a field.
class Checker : public nlohmann::json_sax<nlohmann::json> {
 public:
  std::string error;  // "field: reason" once refused

  bool null() override { return value(); }
  bool boolean(bool) override { return value(); }
  bool number_integer(number_integer_t) override { return value(); }
  bool number_unsigned(number_unsigned_t) override { return value(); }
  bool number_float(number_float_t, const string_t&) override { return value(); }
  bool string(string_t&) override { return value(); }
  bool binary(binary_t&) override { return value(); }
  bool start_object(std::size_t) override { return open(true); }
  bool start_array(std::size_t) override { return open(false); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }
  bool key(string_t& name) override {
    Level& level = levels_.back();
    level.key = name;
    if (!level.keys.insert(name).second) return refuse("is given twice in one object");
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    std::string what = e.what();
    if (what.rfind("[json.exception.", 0) == 0) what = what.substr(what.find("] ") + 2);
    // A syntax error has no field yet; a value out of range (a number overflowing a
    // double) does.
    if (e.id == 101) {
      error = "not valid JSON: " + what;
      return false;
    }
    return refuse(what);
  }

 private:
  struct Level {
    bool object = false;
    std::string key;
    long index = -1;
    std::set<std::string> keys;
  };

  std::string path() const {
    std::string out;
    for (const Level& level : levels_) {
      if (level.object && !level.key.empty()) {
        if (!out.empty()) out.push_back('.');
        out.append(level.key);
      } else if (!level.object && level.index >= 0) {
        out.push_back('[');
        out.append(std::to_string(level.index)).push_back(']');
      }
    }
    if (out.empty()) out.append("(top level)");
    return out;
  }
  bool refuse(const std::string& reason) {
    if (error.empty()) error = path() + ": " + reason;
    return false;
  }
  bool value() {
    if (!levels_.empty() && !levels_.back().object) ++levels_.back().index;
    return true;
  }
  bool open(bool object) {
    value();
    if (levels_.size() >= kMaxConfigDepth)
      return refuse("nested deeper than " + std::to_string(kMaxConfigDepth) + " levels");
    levels_.push_back({object, "", -1, {}});
    return true;
  }
  bool close() {
    levels_.pop_back();
    return true;
  }

  std::vector<Level> levels_;
};

}  // namespace

void require_regular_file(const std::string& path, const std::string& what) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0)
    throw std::invalid_argument("cannot read " + what + " '" + path + "': " + std::strerror(errno));
  if (!S_ISREG(info.st_mode))
    throw std::invalid_argument(what + " '" + path + "' is not a regular file" +
                                (S_ISDIR(info.st_mode) ? " (it is a directory)" : " (a device, FIFO or socket)"));
}

nlohmann::json parse_json_text(const std::string& text, const std::string& source) {
  Checker checker;
  if (!nlohmann::json::sax_parse(text, &checker)) throw std::invalid_argument(source + ": " + checker.error);
  return nlohmann::json::parse(text);
}

nlohmann::json read_json_file(const std::string& path, std::size_t max_bytes) {
  require_regular_file(path, "config file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("cannot read config file '" + path + "'");
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::size_t>(in.tellg());
  if (size > max_bytes)
    throw std::invalid_argument(path + ": " + std::to_string(size) + " bytes is too large for a config (at most " +
                                format_size(max_bytes) + ")");
  in.seekg(0);
  std::stringstream text;
  text << in.rdbuf();
  return parse_json_text(text.str(), path);
}

}  // namespace syncbed
