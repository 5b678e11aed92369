#include "experiments/harness/output_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace syncbed::experiments {
namespace fs = std::filesystem;

OutputDir::OutputDir(std::string path) : path_(std::move(path)) {
  fs::create_directories(path_);
  const std::string lock = path_ + "/.syncbed.lock";
  lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) throw std::runtime_error("cannot open " + lock + ": " + std::strerror(errno));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    char holder[32] = {};
    const ssize_t n = ::pread(lock_fd_, holder, sizeof holder - 1, 0);
    ::close(lock_fd_);
    lock_fd_ = -1;
    throw std::runtime_error(path_ + " is in use by another syncbed run" +
                             (n > 0 ? " (pid " + std::string(holder, n) + ")" : std::string()) +
                             "; wait for it to finish, or give this one another \"output\"");
  }
  const std::string pid = std::to_string(::getpid());
  // The pid only improves another run's message; the lock does not depend on it.
  const bool noted = ::ftruncate(lock_fd_, 0) == 0 && ::pwrite(lock_fd_, pid.data(), pid.size(), 0) > 0;
  (void)noted;
}

OutputDir::~OutputDir() {
  std::error_code ignored;
  if (!scratch_.empty()) fs::remove_all(scratch_, ignored);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the lock; the file stays, harmless
}

const std::string& OutputDir::scratch() {
  if (scratch_.empty()) {
    std::string name = path_ + "/.syncbed-scratch-XXXXXX";
    if (!::mkdtemp(name.data())) throw std::runtime_error("cannot create " + name + ": " + std::strerror(errno));
    scratch_ = name;
  }
  return scratch_;
}

std::string why_not_a_plain_name(const std::string& name) {
  if (name.empty()) return "must not be empty";
  if (name.size() > 100) return "must be at most 100 characters";
  if (name[0] == '.') return "must not start with '.'";
  for (const char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
      return std::string("must be a plain file name (letters, digits, '.', '_', '-'), but has '") + c + "'";
  return "";
}

}  // namespace syncbed::experiments
