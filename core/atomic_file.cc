#include "core/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

namespace syncbed {
namespace {

std::string failure(const std::string& path, int error) { return "cannot write " + path + ": " + std::strerror(error); }

// Writes all of content to fd; returns 0 or the errno of the failure.
int write_all(int fd, const std::string& content) {
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    done += static_cast<std::size_t>(n);
  }
  return 0;
}

// The path whose directory entry a rename replaces: a symlink's final target, so that
// the link itself survives. Empty when the path exists but is not a regular file.
std::string replaceable_target(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return path;  // does not exist (yet): create it
  if (!S_ISREG(info.st_mode)) return "";
  char resolved[PATH_MAX];
  return ::realpath(path.c_str(), resolved) ? std::string(resolved) : path;
}

void write_through(const std::string& path, const std::string& content) {
  const int fd = path == "-" ? ::dup(STDOUT_FILENO) : ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) throw FileWriteError(failure(path, errno), errno);
  const int error = write_all(fd, content);
  ::close(fd);
  if (error) throw FileWriteError(failure(path, error), error);
}

// Writes content to a fresh temporary file beside target; returns its name.
std::string write_temporary(const std::string& target, const std::string& content) {
  std::string temp = target + ".tmp.XXXXXX";
  const int fd = ::mkstemp(temp.data());
  if (fd < 0) throw FileWriteError(failure(target, errno), errno);
  int error = write_all(fd, content);
  if (!error && ::fsync(fd) != 0) error = errno;
  if (!error && ::fchmod(fd, 0644) != 0) error = errno;
  if (::close(fd) != 0 && !error) error = errno;
  if (error) {
    ::unlink(temp.c_str());
    throw FileWriteError(failure(target, error), error);
  }
  return temp;
}

void rename_into_place(const std::string& temp, const std::string& target) {
  if (std::rename(temp.c_str(), target.c_str()) != 0) {
    const int error = errno;
    ::unlink(temp.c_str());
    throw FileWriteError(failure(target, error), error);
  }
}

}  // namespace

bool is_permanent_write_error(int error) { return error == ENOSPC || error == EDQUOT || error == EFBIG; }

void write_file_atomically(const std::string& path, const std::string& content) {
  const std::string target = path == "-" ? "" : replaceable_target(path);
  if (target.empty()) return write_through(path, content);
  rename_into_place(write_temporary(target, content), target);
}

void check_writable(const std::string& path) {
  if (path == "-") return;
  struct stat info {};
  if (::stat(path.c_str(), &info) == 0) {
    if (S_ISDIR(info.st_mode)) throw std::invalid_argument(failure(path, EISDIR));
    if (!S_ISREG(info.st_mode)) {  // written straight through: it must open for writing
      const int fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd < 0 && errno != ENXIO)
        throw std::invalid_argument(failure(path, errno));  // ENXIO: a FIFO's reader comes later
      if (fd >= 0) ::close(fd);
      return;
    }
  }
  const std::string parent = std::filesystem::path(replaceable_target(path)).parent_path().string();
  const std::string dir = parent.empty() ? std::string(".") : parent;
  if (::access(dir.c_str(), W_OK | X_OK) != 0) throw std::invalid_argument(failure(path, errno));
}

void write_file_set(const std::string& dir, const std::map<std::string, std::string>& files) {
  std::vector<std::pair<std::string, std::string>> written;  // temporary -> target
  try {
    for (const auto& [name, content] : files) {
      const std::string target = dir + "/" + name;
      written.emplace_back(write_temporary(target, content), target);
    }
  } catch (...) {
    for (const auto& [temp, target] : written) ::unlink(temp.c_str());
    throw;
  }
  for (std::size_t i = 0; i < written.size(); ++i) {
    try {
      rename_into_place(written[i].first, written[i].second);
    } catch (...) {
      for (std::size_t j = i + 1; j < written.size(); ++j) ::unlink(written[j].first.c_str());
      throw;
    }
  }
}

}  // namespace syncbed
