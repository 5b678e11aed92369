#pragma once

#include <string>

namespace syncbed {

// Writes content to path via a temporary file in the same directory and a rename, so
// readers see either the old file or the complete new one. Throws std::runtime_error.
void write_file_atomically(const std::string& path, const std::string& content);

}  // namespace syncbed
