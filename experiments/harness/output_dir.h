// A sweep's output directory: locked against another syncbed run writing into it, with a
// scratch directory that syncbed itself created (and only that is ever removed).
#pragma once

#include <string>

namespace syncbed::experiments {

class OutputDir {
 public:
  // Creates `path` if needed and locks it (flock on path/.syncbed.lock); throws
  // std::runtime_error naming the other run's pid if it is in use.
  explicit OutputDir(std::string path);
  ~OutputDir();  // removes the scratch directory, releases the lock
  OutputDir(const OutputDir&) = delete;
  OutputDir& operator=(const OutputDir&) = delete;

  const std::string& path() const { return path_; }
  // A fresh directory under path, made by mkdtemp on first use: per-run scratch goes here.
  const std::string& scratch();

 private:
  std::string path_;
  std::string scratch_;
  int lock_fd_ = -1;
};

// A results name is one path component of safe characters: letters, digits, '.', '_',
// '-', not starting with '.', at most 100 characters. Returns why not, or "".
std::string why_not_a_plain_name(const std::string& name);

}  // namespace syncbed::experiments
