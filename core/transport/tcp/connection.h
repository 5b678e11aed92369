// One established, authenticated TCP connection to a peer rank: the data plane.
// Every member function runs in the thread holding the mesh's progress engine
// (progress.h); algorithm threads reach it only through asio::post or
// Progress::run_exclusive (see mesh.cc).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/transport/request.h"
#include "core/transport/tcp/asio.h"
#include "core/transport/tcp/frame.h"

namespace syncbed::net {

struct ConnectionLimits {
  std::uint64_t max_payload = kDefaultMaxPayload;
  // Frames that arrive before their recv is posted wait here. When the queue holds
  // this many bytes the connection stops reading (TCP backpressure) until a recv
  // drains it; one frame is always admitted so a single large message cannot wedge.
  std::size_t max_parked_bytes = std::size_t{256} << 20;
  // A peer we hear nothing from (no byte, not even a heartbeat) for this long is
  // stalled or gone. Heartbeats go out on idle connections at a quarter of it.
  std::chrono::milliseconds peer_silence_timeout{30'000};
  // A large frame (> 16 KiB) that arrives while no recv at all is posted on its
  // connection is left in the kernel's socket buffer (reading pauses) until a recv is
  // posted, or for this long: its recv then reads it straight into place. Parking it
  // would copy it twice, on the rank that is behind (a sharded round's early peers send
  // the next round to a rank still finishing this one), which then falls further behind.
  // After the wait it is parked, so a sender that waits for its send still completes.
  std::chrono::milliseconds early_frame_wait{50};
  // A thread reading a large payload (> 16 KiB) is woken once this many of its bytes (or
  // all that is left of it, if fewer) have arrived, not at every loopback packet of 64
  // KiB (SO_RCVLOWAT): fewer wake-ups and reads per frame. 0: woken at every packet.
  std::size_t read_low_water = std::size_t{1} << 20;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // first_failure is shared by all connections of a mesh: the first one to fail writes
  // its error there, and later failures quote it, so a cascade still names the root cause.
  Connection(tcp::socket socket, int self_rank, int peer_rank, std::string peer_address, ConnectionLimits limits,
             std::shared_ptr<std::string> first_failure);

  void start();
  void post_send(std::shared_ptr<Operation> op);
  void post_recv(std::shared_ptr<Operation> op);
  // Withdraws an operation its owner no longer waits for. A queued one is simply
  // removed. A send being written, or a receive whose payload is arriving, is left to
  // finish and true is returned: the caller must wait for it before freeing the buffer.
  bool cancel(Operation& op);
  // Closes the socket and fails every pending and future operation on this peer.
  void fail(const std::string& operation, const std::string& reason);
  // Orderly close: flush queued sends, say goodbye, wait for the peer's goodbye (or
  // loss), then close. With an error_reason (this process is closing because of a
  // failure elsewhere) the peer gets an error frame carrying it instead, so it learns
  // the root cause; what it still sends is then discarded until it closes its end.
  // on_closed runs once, when done.
  void begin_close(std::function<void()> on_closed, std::string error_reason = {});

  int peer_rank() const { return peer_rank_; }
  const std::string& peer_address() const { return peer_address_; }

 private:
  struct Parked {
    std::vector<std::byte> storage;  // may be larger than the frame when reused
    std::size_t length = 0;
  };
  Parked take_buffer(std::size_t length);
  void recycle(Parked parked);

  void read_header();
  // Fills destination with the next `length` bytes of the stream (read-ahead bytes first),
  // then calls on_read (continue_reading when all were read ahead, else the read's
  // handler), unless the connection has failed meanwhile.
  // on_read may capture `this`: read_exactly keeps the connection alive until it runs.
  template <typename Handler>
  void read_exactly(std::byte* destination, std::size_t length, Handler on_read);
  // Runs the next step of reading (bytes already read ahead) now: a handler posted
  // instead would cost a trip through the io_context, and with it a poll of every
  // socket, per small frame. Posted once kMaxNestedReads steps are nested, so a run of
  // read-ahead frames does not nest one call per frame.
  template <typename Handler>
  void continue_reading(Handler next);
  void on_header();
  void dispatch_data();
  bool any_recv_posted() const;
  void hold_early_frame();
  void park_frame();
  void read_control_payload();
  void match(std::uint64_t tag);
  void write_next();
  void write_farewell();
  void maybe_finish_close();
  void drain_after_error();
  void discard_payload(std::uint64_t remaining);
  void on_read_error(const error_code& ec);
  // Sets the socket's receive low-water mark (SO_RCVLOWAT) unless it is already `bytes`.
  void set_receive_low_water(std::size_t bytes);
  void arm_heartbeat();
  void on_heartbeat_timer();
  OperationError error_for(const std::string& operation, const std::string& reason) const;

  tcp::socket socket_;
  const int self_rank_;
  const int peer_rank_;
  const std::string peer_address_;
  const ConnectionLimits limits_;

  asio::steady_timer heartbeat_timer_;
  Clock::time_point last_heard_{};
  Clock::time_point last_sent_{};
  HeaderBytes heartbeat_bytes_{};

  HeaderBytes header_bytes_{};
  // Bytes read from the socket before anything asked for them: [begin, end) is unread.
  std::unique_ptr<std::byte[]> read_ahead_;
  std::size_t read_ahead_begin_ = 0, read_ahead_end_ = 0;
  FrameHeader header_;
  static constexpr int kMaxNestedReads = 16;
  int nested_reads_ = 0;
  std::size_t receive_low_water_ = 1;     // the kernel's default; above 1 only during a large read
  bool read_paused_ = false;              // header_ holds a data frame we have no room or no recv for yet
  std::uint64_t frames_read_ = 0;         // headers decoded so far: which frame a timer was for
  asio::steady_timer early_frame_timer_;  // ends the hold of hold_early_frame
  std::vector<std::byte> control_payload_;

  std::unordered_map<std::uint64_t, std::deque<std::shared_ptr<Operation>>> posted_recvs_;
  std::unordered_map<std::uint64_t, std::deque<Parked>> parked_;
  std::size_t parked_bytes_ = 0;
  std::vector<std::vector<std::byte>> spare_buffers_;  // reused to avoid first-touch cost

  // Frames queued while one write is out go together in the next (write_next), up to
  // these limits; asio passes at most 64 buffers (32 frames) to one system call.
  static constexpr std::size_t kMaxBatchFrames = 32;
  static constexpr std::size_t kMaxBatchBytes = std::size_t{64} << 10;
  std::deque<std::shared_ptr<Operation>> send_queue_;
  std::size_t frames_in_flight_ = 0;  // the first this many of send_queue_ are being written
  std::vector<asio::const_buffer> send_gather_;
  bool writing_ = false;

  std::shared_ptr<Operation> receiving_;  // recv whose payload is being read right now
  std::optional<OperationError> failure_;
  std::shared_ptr<std::string> first_failure_;
  std::string close_reason_;  // non-empty: say it in an error frame instead of goodbye
  bool remote_said_goodbye_ = false;
  bool closing_ = false;
  bool goodbye_sent_ = false;
  bool draining_ = false;  // the error frame is sent: what arrives is read and dropped
  std::vector<std::byte> discard_buffer_;
  std::function<void()> on_closed_;
  HeaderBytes farewell_header_{};
  std::vector<std::byte> farewell_payload_;
};

}  // namespace syncbed::net
