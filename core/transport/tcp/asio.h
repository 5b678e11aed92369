// The one header through which syncbed includes Boost.Asio.
#pragma once

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>, which
// breaks under GCC 12 in C++20 mode; include it first.
#include <utility>

#include <boost/asio.hpp>

namespace syncbed::net {
namespace asio = boost::asio;
using tcp = boost::asio::ip::tcp;
using error_code = boost::system::error_code;

// asio's transfer_all moves at most 64 KiB per read_some/write_some; large frames
// go much faster when the kernel may take or give as much as it has at once.
// Optionally stamps *progress at every step, so a long transfer counts as activity.
struct TransferAllLargeChunks {
  std::chrono::steady_clock::time_point* progress = nullptr;
  std::size_t operator()(const error_code& ec, std::size_t) const {
    if (progress) *progress = std::chrono::steady_clock::now();
    return ec ? 0 : std::size_t{16} << 20;
  }
};
}  // namespace syncbed::net
