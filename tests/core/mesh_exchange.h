// The all-pairs exchange shared by mesh_test (small payloads) and
// mesh_large_exchange_test (28 MiB payloads, which use every core and so run alone).
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <span>

#include "core/buffer.h"
#include "core/transport/mesh.h"

namespace syncbed::testing {

// Depends on sender, receiver and position, so a misrouted or shifted byte shows.
inline std::byte payload_byte(int from, int to, std::size_t i) {
  return static_cast<std::byte>((from * 31 + to * 17 + i * 7 + (i >> 9) * 3) & 0xff);
}

// Fills data with the bytes `from` sends `to`.
inline void fill_payload(std::span<std::byte> data, int from, int to) {
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = payload_byte(from, to, i);
}

// How many bytes of data differ from what `from` sent `to`.
inline std::size_t wrong_payload_bytes(std::span<const std::byte> data, int from, int to) {
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < data.size(); ++i) wrong += data[i] != payload_byte(from, to, i);
  return wrong;
}

// In round r every rank sends to rank+r and receives from rank-r, so over the rounds
// every ordered pair of ranks exchanges one message of `bytes` bytes.
inline void exchange_with_every_peer(net::Mesh& mesh, std::size_t bytes) {
  const int n = mesh.size();
  const int me = mesh.rank();
  AlignedBuffer<std::byte> out(bytes), in(bytes);
  for (int round = 1; round < n; ++round) {
    const int to = (me + round) % n;
    const int from = (me - round + n) % n;
    fill_payload(out.span(), me, to);
    auto recv = mesh.recv(from, round, in.span());
    auto send = mesh.send(to, round, std::span<const std::byte>(out.span()));
    recv.wait();
    send.wait();
    ASSERT_EQ(wrong_payload_bytes(in.span(), from, me), 0u)
        << "rank " << me << " from " << from << ", " << bytes << " bytes";
  }
}

}  // namespace syncbed::testing
