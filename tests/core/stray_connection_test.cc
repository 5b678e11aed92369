// Connections that are not part of the job (garbage, oversize lengths, wrong token) are
// refused by the coordinator and by the ranks' mesh listeners, and the job completes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <thread>

#include "core/transport/tcp/frame.h"
#include "core/transport/tcp/messages.h"
#include "tests/mesh_harness.h"

namespace syncbed::net {
namespace {

using namespace std::chrono_literals;

// A blocking client socket that sends raw bytes and reports how the server answered.
class RawClient {
 public:
  explicit RawClient(const Endpoint& to) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval timeout{15, 0};  // above the servers' 10 s handshake deadline
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(to.port);
    ::inet_pton(AF_INET, to.host.c_str(), &addr.sin_addr);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawClient() { ::close(fd_); }

  void send(const std::vector<std::byte>& bytes) { (void)!::write(fd_, bytes.data(), bytes.size()); }

  // Reads until the server closes; returns what it sent. Times out -> "<timeout>".
  std::string read_until_closed() {
    std::string got;
    char buffer[4096];
    for (;;) {
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n == 0) return got;
      if (n < 0) return errno == EAGAIN ? "<timeout>" : got;
      got.append(buffer, n);
    }
  }
  bool connected() const { return connected_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

std::vector<std::byte> frame(FrameKind kind, std::uint32_t source, std::uint64_t claimed_length,
                             const std::vector<std::byte>& payload) {
  const auto header = encode_header({kind, source, 0, claimed_length});
  std::vector<std::byte> bytes(header.size() + payload.size());
  std::memcpy(bytes.data(), header.data(), header.size());
  if (!payload.empty()) std::memcpy(bytes.data() + header.size(), payload.data(), payload.size());
  return bytes;
}

std::vector<std::byte> garbage() {
  std::vector<std::byte> bytes(64);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::byte>(i * 37 + 11);
  return bytes;
}

// Sends each kind of stray to `where` and checks it is refused: closed, and for a
// wrong token told why.
void attack(const Endpoint& where, FrameKind handshake_kind, const std::vector<std::byte>& wrong_token_payload) {
  {
    RawClient client(where);
    ASSERT_TRUE(client.connected()) << where.to_string();
    client.send(garbage());
    EXPECT_EQ(client.read_until_closed(), "") << "garbage to " << where.to_string();
  }
  {
    RawClient client(where);
    client.send(frame(handshake_kind, 1, std::uint64_t{1} << 40, {}));
    EXPECT_EQ(client.read_until_closed(), "") << "oversize length to " << where.to_string();
  }
  {
    RawClient client(where);
    client.send(frame(handshake_kind, 1, wrong_token_payload.size(), wrong_token_payload));
    const std::string answer = client.read_until_closed();
    EXPECT_NE(answer.find("wrong job token"), std::string::npos)
        << "wrong token to " << where.to_string() << ": " << answer;
  }
}

TEST(StrayConnections, CoordinatorRefusesThemAndTheJobCompletes) {
  Coordinator coordinator({"127.0.0.1", 0}, 2, testing::kTestToken, 30s);
  const Endpoint where{"127.0.0.1", coordinator.port()};
  attack(where, FrameKind::kRegister, encode_registration({"not-the-token", 2, {"127.0.0.1", 999}}));

  std::vector<std::thread> ranks;
  std::atomic<int> completed = 0;
  for (int rank = 0; rank < 2; ++rank)
    ranks.emplace_back([&, rank] {
      auto mesh = Mesh::connect(testing::rank_info(rank, 2, coordinator.port()));
      std::uint32_t value = 41 + rank, got = 0;
      auto recv = mesh->recv(1 - rank, 1, std::span<std::uint32_t>(&got, 1));
      mesh->send(1 - rank, 1, std::span<const std::uint32_t>(&value, 1)).wait();
      recv.wait();
      if (got == static_cast<std::uint32_t>(42 - rank)) ++completed;
    });
  for (auto& t : ranks) t.join();
  coordinator.wait();
  EXPECT_EQ(completed, 2);
}

// Two jobs on one port with the same token (none set, or the same command): a rank claimed
// twice cannot be told apart, so the rendezvous fails for everyone, saying why, instead
// of one job silently taking the other's rank.
TEST(StrayConnections, ARankClaimedTwiceFailsTheRendezvousForEveryone) {
  Coordinator coordinator({"127.0.0.1", 0}, 3, testing::kTestToken, 30s);
  const Endpoint where{"127.0.0.1", coordinator.port()};
  auto registration = [&](std::uint16_t port) {
    const auto payload = encode_registration({testing::kTestToken, 3, {"127.0.0.1", port}});
    return frame(FrameKind::kRegister, 1, payload.size(), payload);
  };
  RawClient first(where), second(where);
  first.send(registration(1001));
  std::this_thread::sleep_for(200ms);  // registered before the second claim
  second.send(registration(1002));
  const std::string reason = "rank 1 was claimed twice (by 127.0.0.1:1001 and 127.0.0.1:1002)";
  EXPECT_NE(second.read_until_closed().find(reason), std::string::npos);
  EXPECT_NE(first.read_until_closed().find(reason), std::string::npos);
  EXPECT_NE(coordinator.failure().find(reason), std::string::npos) << coordinator.failure();
  try {
    coordinator.wait();
    FAIL() << "the rendezvous went on";
  } catch (const TransportError& e) {
    EXPECT_NE(std::string(e.what()).find("two jobs share this coordinator's port"), std::string::npos) << e.what();
  }
}

TEST(StrayConnections, MeshListenersRefuseThemAndTheJobCompletes) {
  // Rank 2 attacks the listeners of ranks 0 and 1 after the table arrives and before
  // it dials them itself, so both listeners are still accepting.
  constexpr int kWorld = 3;
  testing::run_ranks(
      kWorld,
      [](Mesh& mesh) {
        const int n = mesh.size();
        std::uint32_t out = 100 + mesh.rank(), in = 0;
        auto recv = mesh.recv((mesh.rank() + n - 1) % n, 1, std::span<std::uint32_t>(&in, 1));
        mesh.send((mesh.rank() + 1) % n, 1, std::span<const std::uint32_t>(&out, 1)).wait();
        recv.wait();
        EXPECT_EQ(in, 100u + (mesh.rank() + n - 1) % n);
      },
      [](int rank) {
        MeshOptions options;
        if (rank == 2)
          options.on_table = [](const std::vector<Endpoint>& table) {
            for (int target = 0; target < 2; ++target)
              attack(table[target], FrameKind::kHello, encode_text("not-the-token"));
          };
        return options;
      });
}

}  // namespace
}  // namespace syncbed::net
