// Result files that are never left half-written, and never destroy what is not a file.
#pragma once

#include <map>
#include <stdexcept>
#include <string>

namespace syncbed {

// A write that failed; errno() tells whether trying again can help (see is_permanent).
class FileWriteError : public std::runtime_error {
 public:
  FileWriteError(const std::string& what, int error) : std::runtime_error(what), error_(error) {}
  int error() const { return error_; }

 private:
  int error_;
};

// True for errors that a retry of the same write cannot cure: the disk or quota is
// full, or the file is over the process's size limit.
bool is_permanent_write_error(int error);

// Writes content to path so readers see either the old file or the complete new one:
// into a temporary file beside the target, then a rename over it. Only a regular file
// (or a path that does not exist yet) is replaced that way, through symlinks to its
// target; anything else (a device such as /dev/stdout, a FIFO) is written straight
// through, and "-" means standard output. Throws FileWriteError naming the path.
void write_file_atomically(const std::string& path, const std::string& content);

// Throws std::invalid_argument now if write_file_atomically(path, ...) cannot work later:
// the directory is missing or not writable. For checking an output option up front.
void check_writable(const std::string& path);

// Writes several files of one directory as a set: every file is first written in full
// under a temporary name, and only when all of them are written are they renamed into
// place. A write that fails (a full disk) leaves the previous set untouched.
void write_file_set(const std::string& dir, const std::map<std::string, std::string>& files);

}  // namespace syncbed
