#include "core/transport/mesh.h"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <latch>
#include <map>
#include <thread>

#include "core/buffer.h"
#include "core/trace.h"
#include "core/transport/tcp/progress.h"
#include "tests/core/mesh_exchange.h"
#include "tests/mesh_harness.h"

namespace syncbed::net {
namespace {

using syncbed::testing::fill_payload;
using syncbed::testing::run_ranks;
using syncbed::testing::wrong_payload_bytes;
using namespace std::chrono_literals;

class MeshExchange : public ::testing::TestWithParam<std::tuple<int, std::size_t>> {};

TEST_P(MeshExchange, EveryPairExchangesVerifiedPayloads) {
  const auto [world, bytes] = GetParam();
  run_ranks(world, [bytes = bytes](Mesh& mesh) { syncbed::testing::exchange_with_every_peer(mesh, bytes); });
}

// 28 MiB messages: mesh_large_exchange_test.cc.
INSTANTIATE_TEST_SUITE_P(WorldsAndSizes, MeshExchange,
                         ::testing::Combine(::testing::Range(1, 10),
                                            ::testing::Values(std::size_t{0}, std::size_t{1}, std::size_t{4095},
                                                              std::size_t{1} << 20)),
                         [](const auto& info) {
                           return "world" + std::to_string(std::get<0>(info.param)) + "_bytes" +
                                  std::to_string(std::get<1>(info.param));
                         });

// Busy polling while every rank has a core; yielding the core between polls once ranks
// outnumber cores (every mesh test with more than two ranks runs that way here).
TEST(Polling, RanksThatOutnumberTheCoresYieldTheCoreBetweenPolls) {
  const Polling own_core = polling_for(2, 2), shared_core = polling_for(4, 2);
  EXPECT_EQ(own_core.before_sleeping, 50us);
  EXPECT_FALSE(own_core.yield_between_polls);
  EXPECT_EQ(shared_core.before_sleeping, 50us);
  EXPECT_TRUE(shared_core.yield_between_polls);
}

TEST(Mesh, SameTagMessagesArriveInOrderWhetherParkedOrNot) {
  constexpr int kMessages = 300;
  run_ranks(2, [](Mesh& mesh) {
    if (mesh.rank() == 0) {
      std::vector<std::uint32_t> values(kMessages);
      std::vector<Request> sends;
      for (int i = 0; i < kMessages; ++i) {
        values[i] = 1000 + i;
        sends.push_back(mesh.send(1, 9, std::span<const std::uint32_t>(&values[i], 1)));
      }
      for (auto& s : sends) s.wait();
      return;
    }
    std::vector<std::uint32_t> got(kMessages);
    std::vector<Request> recvs;
    for (int i = 0; i < kMessages / 2; ++i) recvs.push_back(mesh.recv(0, 9, std::span<std::uint32_t>(&got[i], 1)));
    std::this_thread::sleep_for(100ms);  // the rest arrive before their recvs: parked
    for (int i = kMessages / 2; i < kMessages; ++i)
      recvs.push_back(mesh.recv(0, 9, std::span<std::uint32_t>(&got[i], 1)));
    for (auto& r : recvs) r.wait();
    for (int i = 0; i < kMessages; ++i) ASSERT_EQ(got[i], 1000u + i) << "message " << i;
  });
}

// Queued sends leave in batched gather-writes (up to 32 frames or 64 KiB): sizes on
// both sides of the limits, empty ones among them, must each arrive whole and in order.
TEST(Mesh, QueuedSendsOfMixedSizesArriveWholeAndInOrder) {
  constexpr std::size_t kSizes[] = {0, 1, 7, 4095, 65536, 70000, 3};
  constexpr int kMessages = 210;
  const auto size_of = [&](int i) { return kSizes[i % std::size(kSizes)]; };
  run_ranks(2, [&](Mesh& mesh) {
    std::vector<AlignedBuffer<std::byte>> buffers;
    for (int i = 0; i < kMessages; ++i) buffers.emplace_back(size_of(i));
    std::vector<Request> requests;
    if (mesh.rank() == 0) {
      for (int i = 0; i < kMessages; ++i) {
        fill_payload(buffers[i].span(), i, 1);
        requests.push_back(mesh.send(1, 4, std::span<const std::byte>(buffers[i].span())));
      }
      for (auto& r : requests) r.wait();
      return;
    }
    for (int i = 0; i < kMessages; ++i) requests.push_back(mesh.recv(0, 4, buffers[i].span()));
    for (auto& r : requests) r.wait();
    for (int i = 0; i < kMessages; ++i) {
      ASSERT_EQ(wrong_payload_bytes(buffers[i].span(), i, 1), 0u)
          << "message " << i << " of " << buffers[i].size() << " bytes";
    }
  });
}

TEST(Mesh, TheParkedQueueIsBoundedAndBackpressureStallsTheSender) {
  constexpr std::size_t kChunk = 256 << 10;
  constexpr int kChunks = 200;  // 50 MiB on tag 1 against a 1 MiB parking limit
  std::latch receiver_may_start(1);
  run_ranks(
      2,
      [&](Mesh& mesh) {
        if (mesh.rank() == 0) {
          AlignedBuffer<std::byte> data(kChunk * kChunks);
          for (int c = 0; c < kChunks; ++c) fill_payload(data.span().subspan(c * kChunk, kChunk), c, 1);
          std::vector<Request> sends;
          for (int c = 0; c < kChunks; ++c)
            sends.push_back(mesh.send(1, 1, std::span<const std::byte>(data.data() + c * kChunk, kChunk)));
          const std::uint64_t last = 77;
          sends.push_back(mesh.send(1, 2, std::span<const std::uint64_t>(&last, 1)));
          std::this_thread::sleep_for(500ms);
          // With nobody receiving, only the parking limit plus the kernel's socket
          // buffers (a few MiB on loopback) can have been accepted.
          int completed = 0;
          for (auto& s : sends) completed += s.ready();
          EXPECT_LT(completed, kChunks / 2) << "the parked queue did not push back";
          receiver_may_start.count_down();
          for (auto& s : sends) s.wait();
          return;
        }
        receiver_may_start.wait();
        // Tag 2 was sent last: receiving it first forces every tag-1 frame through the queue.
        std::uint64_t last = 0;
        auto last_request = mesh.recv(0, 2, std::span<std::uint64_t>(&last, 1));
        AlignedBuffer<std::byte> chunk(kChunk);
        for (int c = 0; c < kChunks; ++c) {
          mesh.recv(0, 1, chunk.span()).wait();
          ASSERT_EQ(wrong_payload_bytes(chunk.span(), c, 1), 0u) << "chunk " << c;
        }
        last_request.wait();
        EXPECT_EQ(last, 77u);
      },
      [](int) {
        MeshOptions options;
        options.max_parked_bytes = 1 << 20;
        return options;
      });
}

// 32 MiB is far more than loopback's socket buffers hold while nobody reads.
constexpr std::size_t kBeyondSocketBuffers = std::size_t{32} << 20;

// Rank 0 sends kBeyondSocketBuffers numbered bytes and runs before_recv(send); only then
// does rank 1 post its recv, and every byte must arrive.
void send_before_any_recv(std::chrono::milliseconds early_frame_wait,
                          const std::function<void(Request&)>& before_recv) {
  std::latch recv_may_start(1);
  run_ranks(
      2,
      [&](Mesh& mesh) {
        AlignedBuffer<std::byte> data(kBeyondSocketBuffers);
        if (mesh.rank() == 0) {
          fill_payload(data.span(), 0, 1);
          auto send = mesh.send(1, 1, std::span<const std::byte>(data.span()));
          before_recv(send);
          recv_may_start.count_down();
          send.wait();
          return;
        }
        recv_may_start.wait();
        mesh.recv(0, 1, data.span()).wait();
        EXPECT_EQ(wrong_payload_bytes(data.span(), 0, 1), 0u);
      },
      [&](int) {
        MeshOptions options;
        options.early_frame_wait = early_frame_wait;
        options.op_timeout = 20'000ms;
        return options;
      });
}

// It stays in the kernel (so the sender's send is not done) until its recv is posted,
// which then reads it straight into place instead of copying it out of a parked buffer.
TEST(Mesh, ALargeFrameThatArrivesBeforeAnyRecvWaitsInTheKernelForIt) {
  send_before_any_recv(600'000ms, [](Request& send) {
    std::this_thread::sleep_for(300ms);
    EXPECT_FALSE(send.ready()) << "the frame was read before any recv was posted (parked)";
  });
}

// After early_frame_wait it is parked, so a sender that waits for its send before the
// receiver posts anything still completes.
TEST(Mesh, ALargeFrameNobodyReceivesIsParkedAfterTheWait) {
  send_before_any_recv(100ms, [](Request& send) { send.wait(); });
}

// A large payload's reader sleeps until read_low_water of its bytes have arrived. It must
// never wait for more than the frame has left, nor keep the mark for the frames after
// it: each frame here is the last thing its sender sends until the echo comes back, so
// a mark set too high would leave the frame unread until the deadline.
TEST(Mesh, EveryFrameArrivesWhileLargeOnesAreReadWithALowWaterMark) {
  const std::vector<std::size_t> sizes{(3u << 20) + 5, 100u << 10, 20, (1u << 20) - 1, (16u << 10) + 1, 1, 5u << 20};
  run_ranks(
      2,
      [&](Mesh& mesh) {
        std::byte echo{};
        for (std::uint64_t tag = 0; tag < sizes.size(); ++tag) {
          AlignedBuffer<std::byte> data(sizes[tag]);
          if (mesh.rank() == 0) {
            fill_payload(data.span(), 0, 1 + static_cast<int>(tag));
            mesh.send(1, tag, std::span<const std::byte>(data.span())).wait();
            mesh.recv(1, tag, std::span<std::byte>(&echo, 1)).wait();
            continue;
          }
          mesh.recv(0, tag, data.span()).wait();
          EXPECT_EQ(wrong_payload_bytes(data.span(), 0, 1 + static_cast<int>(tag)), 0u) << sizes[tag] << " bytes";
          mesh.send(0, tag, std::span<const std::byte>(&echo, 1)).wait();
        }
      },
      [](int) {
        MeshOptions options;
        options.read_low_water = std::size_t{1} << 20;
        options.op_timeout = 20'000ms;
        return options;
      });
}

TEST(Mesh, ALaterTagCanBeReceivedFirst) {
  run_ranks(2, [](Mesh& mesh) {
    std::uint32_t a = 1, b = 2;
    if (mesh.rank() == 0) {
      auto s1 = mesh.send(1, 100, std::span<const std::uint32_t>(&a, 1));
      auto s2 = mesh.send(1, 200, std::span<const std::uint32_t>(&b, 1));
      s1.wait();
      s2.wait();
      return;
    }
    std::uint32_t got_b = 0, got_a = 0;
    mesh.recv(0, 200, std::span<std::uint32_t>(&got_b, 1)).wait();
    mesh.recv(0, 100, std::span<std::uint32_t>(&got_a, 1)).wait();
    EXPECT_EQ(got_a, 1u);
    EXPECT_EQ(got_b, 2u);
  });
}

TEST(Mesh, SizeMismatchFailsThatRecvOnlyAndTheConnectionCarriesOn) {
  run_ranks(2, [](Mesh& mesh) {
    if (mesh.rank() == 0) {
      const std::uint8_t ten[10] = {};
      const std::uint32_t next = 99;
      mesh.send(1, 1, std::span<const std::uint8_t>(ten, 10)).wait();
      mesh.send(1, 2, std::span<const std::uint32_t>(&next, 1)).wait();
      std::uint8_t done = 0;
      mesh.recv(1, 3, std::span<std::uint8_t>(&done, 1)).wait();
      return;
    }
    std::uint8_t eight[8];
    try {
      mesh.recv(0, 1, std::span<std::uint8_t>(eight, 8)).wait();
      ADD_FAILURE() << "a 10-byte message was accepted into 8 bytes";
    } catch (const TransportError& e) {
      EXPECT_NE(std::string(e.what()).find("size mismatch: the peer sent 10 bytes"), std::string::npos) << e.what();
      EXPECT_EQ(e.peer_rank(), 0);
    }
    std::uint32_t next = 0;
    mesh.recv(0, 2, std::span<std::uint32_t>(&next, 1)).wait();
    EXPECT_EQ(next, 99u);
    const std::uint8_t done = 1;
    mesh.send(0, 3, std::span<const std::uint8_t>(&done, 1)).wait();
  });
}

TEST(Mesh, AStalledPeerFailsTheWaitAndEveryOtherOperationOnIt) {
  std::latch rank1_done(1);
  run_ranks(2, [&](Mesh& mesh) {
    if (mesh.rank() == 0) {
      rank1_done.wait();  // alive but silent
      return;
    }
    std::uint32_t a = 0, b = 0;
    auto never = mesh.recv(0, 5, std::span<std::uint32_t>(&a, 1));
    auto other = mesh.recv(0, 6, std::span<std::uint32_t>(&b, 1));
    const auto start = std::chrono::steady_clock::now();
    try {
      never.wait_for(300ms);
      ADD_FAILURE() << "a recv nobody sends completed";
    } catch (const TransportError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("rank 0 (127.0.0.1:"), std::string::npos) << what;
      EXPECT_NE(what.find("recv tag 5 (4 bytes): timed out"), std::string::npos) << what;
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    EXPECT_THROW(other.wait_for(1ms), TransportError);  // already failed: no second timeout
    EXPECT_THROW(mesh.send(0, 7, std::span<const std::uint32_t>(&a, 1)).wait(), TransportError);
    rank1_done.count_down();
  });
}

// A Request kept in a container is often assigned, not constructed (sharded's receives
// are): the assigned one must still report its stalls (it once lost its stall_warn).
TEST(Mesh, AnAssignedRequestStillReportsItsStall) {
  std::latch rank1_done(1);
  run_ranks(
      2,
      [&](Mesh& mesh) {
        if (mesh.rank() == 0) {
          rank1_done.wait();  // alive but silent
          return;
        }
        std::uint32_t value = 0;
        std::vector<Request> receives(1);
        receives[0] = mesh.recv(0, 5, std::span<std::uint32_t>(&value, 1));
        ::testing::internal::CaptureStderr();
        EXPECT_THROW(receives[0].wait_for(500ms), TransportError);
        const std::string err = ::testing::internal::GetCapturedStderr();
        EXPECT_NE(err.find("stall: waiting 0.1 s to receive from rank 0: tag ?/0.0.5, 4 bytes"), std::string::npos)
            << err;
        rank1_done.count_down();
      },
      [](int) {
        MeshOptions options;
        options.stall_warn = 100ms;
        return options;
      });
}

TEST(Mesh, APeerThatClosesFailsPendingRecvsPromptly) {
  run_ranks(3, [](Mesh& mesh) {
    if (mesh.rank() == 2) return;  // closes its mesh at once
    std::uint32_t value = 0;
    const auto start = std::chrono::steady_clock::now();
    try {
      mesh.recv(2, 1, std::span<std::uint32_t>(&value, 1)).wait_for(20s);
      ADD_FAILURE() << "recv from a closed peer completed";
    } catch (const TransportError& e) {
      EXPECT_EQ(e.peer_rank(), 2);
      EXPECT_NE(std::string(e.what()).find("closed the connection"), std::string::npos) << e.what();
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  });
}

TEST(Mesh, RefusesToAddressItselfOrUnknownRanks) {
  run_ranks(2, [](Mesh& mesh) {
    std::uint32_t v = 0;
    EXPECT_THROW(mesh.send(mesh.rank(), 1, std::span<const std::uint32_t>(&v, 1)), TransportError);
    EXPECT_THROW(mesh.recv(5, 1, std::span<std::uint32_t>(&v, 1)), TransportError);
    EXPECT_THROW(mesh.recv(-1, 1, std::span<std::uint32_t>(&v, 1)), TransportError);
  });
}

TEST(Mesh, RendezvousTimeoutNamesTheMissingRanks) {
  Coordinator coordinator({"127.0.0.1", 0}, 3, testing::kTestToken, 800ms);
  MeshOptions options;
  options.rendezvous_timeout = 5s;
  try {
    Mesh::connect(testing::rank_info(1, 3, coordinator.port()), options);
    FAIL() << "a mesh formed without ranks 0 and 2";
  } catch (const TransportError& e) {
    EXPECT_NE(std::string(e.what()).find("rank(s) 0, 2 never registered"), std::string::npos) << e.what();
  }
  EXPECT_THROW(coordinator.wait(), TransportError);
}

TEST(Mesh, UnreachableCoordinatorIsReportedWithinTheDeadline) {
  MeshOptions options;
  options.rendezvous_timeout = 500ms;
  const auto start = std::chrono::steady_clock::now();
  try {
    Mesh::connect(testing::rank_info(1, 2, 1), options);  // nothing listens on port 1
    FAIL();
  } catch (const TransportError& e) {
    EXPECT_NE(std::string(e.what()).find("could not reach the coordinator at 127.0.0.1:1"), std::string::npos)
        << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

}  // namespace
}  // namespace syncbed::net

namespace syncbed::net {
namespace {

TEST(Mesh, HeartbeatsKeepAnIdleButLivePeerConnected) {
  testing::run_ranks(
      2,
      [](Mesh& mesh) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // three silence timeouts, no traffic
        std::uint32_t out = 5 + mesh.rank(), in = 0;
        auto recv = mesh.recv(1 - mesh.rank(), 1, std::span<std::uint32_t>(&in, 1));
        mesh.send(1 - mesh.rank(), 1, std::span<const std::uint32_t>(&out, 1)).wait();
        recv.wait();
        EXPECT_EQ(in, 6u - mesh.rank());
      },
      [](int) {
        MeshOptions options;
        options.peer_silence_timeout = std::chrono::milliseconds(400);
        return options;
      });
}

}  // namespace
}  // namespace syncbed::net

namespace syncbed::net {
namespace {

TEST(Mesh, DroppingAnUnfinishedRequestCancelsItAndLeavesItsBufferAlone) {
  std::latch dropped(1);
  testing::run_ranks(2, [&](Mesh& mesh) {
    if (mesh.rank() == 0) {
      dropped.wait();
      const std::uint32_t value = 4242;
      mesh.send(1, 3, std::span<const std::uint32_t>(&value, 1)).wait();
      return;
    }
    {
      auto buffer = std::make_unique<std::uint32_t>(0);
      Request abandoned = mesh.recv(0, 3, std::span<std::uint32_t>(buffer.get(), 1));
      // Destroyed here, before the frame exists; the buffer goes with it (ASan would
      // report a later write into it).
    }
    dropped.count_down();
    std::uint32_t value = 0;
    mesh.recv(0, 3, std::span<std::uint32_t>(&value, 1)).wait();
    EXPECT_EQ(value, 4242u);  // the cancelled recv did not consume the message
  });
}

// A receive dropped while its payload streams in waits for the rest of that frame
// instead of cutting the stream: the connection carries on, and the next message arrives.
TEST(Mesh, DroppingAReceiveMidPayloadLeavesTheConnectionUsable) {
#ifdef SYNCBED_SANITIZED
  constexpr std::size_t kFloats = std::size_t{16} << 20;
#else
  constexpr std::size_t kFloats = std::size_t{64} << 20;  // 256 MiB: ~0.1 s on loopback
#endif
  std::latch sending(1);
  testing::run_ranks(2, [&](Mesh& mesh) {
    if (mesh.rank() == 0) {
      std::vector<float> big(kFloats, 1.0f);
      const std::uint32_t after = 77;
      auto first = mesh.send(1, 1, std::span<const float>(big));
      sending.count_down();
      first.wait();
      mesh.send(1, 2, std::span<const std::uint32_t>(&after, 1)).wait();
      return;
    }
    {
      std::vector<float> buffer(kFloats);
      Request dropped = mesh.recv(0, 1, std::span<float>(buffer));
      sending.wait();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // most likely mid-payload now
    }
    std::uint32_t value = 0;
    mesh.recv(0, 2, std::span<std::uint32_t>(&value, 1)).wait();
    EXPECT_EQ(value, 77u);
  });
}

}  // namespace
}  // namespace syncbed::net

// With message tracing on (core/trace.h), every completed send and receive is recorded
// with its peer, tag, size and a sequence number the two sides agree on.
TEST(MeshTrace, MessagesAreRecordedWithMatchingSequences) {
  syncbed::trace::enable({50, 50, true});
  syncbed::testing::run_ranks(2, [](syncbed::net::Mesh& mesh) {
    std::vector<float> data(1000, 1.0f);
    for (int i = 0; i < 3; ++i) {
      if (mesh.rank() == 0)
        mesh.send(1, 7, std::span<const float>(data)).wait();
      else
        mesh.recv(0, 7, std::span<float>(data)).wait();
    }
  });
  const auto messages = syncbed::trace::messages();
  syncbed::trace::disable();
  ASSERT_EQ(messages.size(), 6u);
  std::map<std::pair<bool, std::uint64_t>, int> seen;  // (send, sequence) -> count
  for (const auto& m : messages) {
    EXPECT_EQ(m.source, 0);
    EXPECT_EQ(m.destination, 1);
    EXPECT_EQ(m.tag, 7u);
    EXPECT_EQ(m.bytes, 4000u);
    EXPECT_LE(m.posted_ns, m.completed_ns);
    ++seen[{m.send, m.sequence}];
  }
  for (std::uint64_t s = 0; s < 3; ++s) {
    EXPECT_EQ((seen[{true, s}]), 1);
    EXPECT_EQ((seen[{false, s}]), 1);
  }
}
