#include "core/transport/tcp/connection.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/log.h"
#include "core/transport/error.h"
#include "core/transport/tcp/control_io.h"
#include "core/transport/tcp/messages.h"

namespace syncbed::net {
namespace {
constexpr std::size_t kMaxSpareBuffers = 4;
// Reading a header asks the socket for up to this much more: a stream of small frames
// then arrives in one system call instead of two per frame.
constexpr std::size_t kReadAheadBytes = 64 << 10;
// After a larger frame the next header is read alone, so that a stream of large frames
// lands straight in its buffers instead of being copied out of the read-ahead.
constexpr std::size_t kSmallFrameBytes = 16 << 10;
}  // namespace

Connection::Connection(tcp::socket socket, int self_rank, int peer_rank, std::string peer_address,
                       ConnectionLimits limits, std::shared_ptr<std::string> first_failure)
    : socket_(std::move(socket)),
      self_rank_(self_rank),
      peer_rank_(peer_rank),
      peer_address_(std::move(peer_address)),
      limits_(limits),
      heartbeat_timer_(socket_.get_executor()),
      read_ahead_(new std::byte[kReadAheadBytes]),  // uninitialized: pages are touched only as bytes arrive
      early_frame_timer_(socket_.get_executor()),
      first_failure_(std::move(first_failure)) {
  heartbeat_bytes_ = encode_header({FrameKind::kHeartbeat, static_cast<std::uint32_t>(self_rank_), 0, 0});
}

void Connection::start() {
  last_heard_ = last_sent_ = Clock::now();
  read_header();
  arm_heartbeat();
}

// ---- liveness ----

void Connection::arm_heartbeat() {
  heartbeat_timer_.expires_after(limits_.peer_silence_timeout / 4);
  heartbeat_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (!ec && !self->failure_) self->on_heartbeat_timer();
  });
}

void Connection::on_heartbeat_timer() {
  const auto now = Clock::now();
  // While reading is paused (backpressure, or an early frame held) the silence is ours, not the peer's.
  if (read_paused_) last_heard_ = now;
  if (!remote_said_goodbye_ && now - last_heard_ > limits_.peer_silence_timeout)
    return fail("heartbeat",
                "nothing received for " +
                    seconds_text(std::chrono::duration_cast<std::chrono::milliseconds>(now - last_heard_)) +
                    "; the peer is stalled or lost");
  if (!writing_ && !closing_ && now - last_sent_ >= limits_.peer_silence_timeout / 4) {
    writing_ = true;
    asio::async_write(socket_, asio::buffer(heartbeat_bytes_),
                      [self = shared_from_this()](const error_code& ec, std::size_t) {
                        if (self->failure_) return;
                        if (ec) return self->fail("send heartbeat", "connection lost: " + ec.message());
                        self->last_sent_ = Clock::now();
                        self->write_next();
                      });
  }
  arm_heartbeat();
}

OperationError Connection::error_for(const std::string& operation, const std::string& reason) const {
  return {peer_rank_, TransportError::describe(peer_rank_, peer_address_, operation, reason)};
}

// ---- receiving ----

void Connection::read_header() {
  const std::size_t ahead = read_ahead_end_ - read_ahead_begin_;
  if (ahead >= header_bytes_.size()) {
    std::memcpy(header_bytes_.data(), read_ahead_.get() + read_ahead_begin_, header_bytes_.size());
    read_ahead_begin_ += header_bytes_.size();
    return continue_reading([this] { on_header(); });
  }
  // Keep the partial header and read at least the rest of it, and whatever else has arrived.
  std::memmove(read_ahead_.get(), read_ahead_.get() + read_ahead_begin_, ahead);
  read_ahead_begin_ = 0;
  read_ahead_end_ = ahead;
  // After a big frame, read the next header alone: a big payload is read straight into its buffer.
  const std::size_t wanted = header_.length <= kSmallFrameBytes ? kReadAheadBytes : header_bytes_.size();
  asio::async_read(socket_, asio::buffer(read_ahead_.get() + ahead, wanted - ahead),
                   asio::transfer_at_least(header_bytes_.size() - ahead),
                   [self = shared_from_this()](const error_code& ec, std::size_t bytes) {
                     if (self->failure_) return;
                     if (ec) return self->on_read_error(ec);
                     self->read_ahead_end_ += bytes;
                     self->last_heard_ = Clock::now();
                     self->read_header();
                   });
}

template <typename Handler>
void Connection::read_exactly(std::byte* destination, std::size_t length, Handler on_read) {
  const std::size_t ahead = std::min(length, read_ahead_end_ - read_ahead_begin_);
  if (ahead > 0) std::memcpy(destination, read_ahead_.get() + read_ahead_begin_, ahead);
  read_ahead_begin_ += ahead;
  if (ahead == length) return continue_reading(std::move(on_read));
  const std::size_t remaining = length - ahead;
  const std::size_t low_water = remaining > kSmallFrameBytes ? limits_.read_low_water : 0;
  asio::async_read(
      socket_, asio::buffer(destination + ahead, remaining),
      // Called before every read: never ask to be woken for more bytes than the frame has
      // left, or the wake-up would wait for the next frame.
      [this, remaining, low_water](const error_code& ec, std::size_t done) {
        if (low_water > 0 && done < remaining) set_receive_low_water(std::min(low_water, remaining - done));
        return TransferAllLargeChunks{&last_heard_}(ec, done);
      },
      [self = shared_from_this(), on_read = std::move(on_read)](const error_code& ec, std::size_t) mutable {
        if (self->failure_) return;
        if (ec) return self->on_read_error(ec);
        self->set_receive_low_water(1);  // the next header may be a few bytes
        on_read();
      });
}

template <typename Handler>
void Connection::continue_reading(Handler next) {
  if (failure_) return;
  if (nested_reads_ < kMaxNestedReads) {
    ++nested_reads_;
    next();
    --nested_reads_;
    return;
  }
  asio::post(socket_.get_executor(), [self = shared_from_this(), next = std::move(next)]() mutable {
    if (!self->failure_) next();
  });
}

void Connection::on_read_error(const error_code& ec) {
  if (ec == asio::error::eof)
    fail("receive", "connection lost: the peer closed its socket without saying goodbye (did it exit or crash?)");
  else
    fail("receive", "connection lost: " + ec.message());
}

void Connection::set_receive_low_water(std::size_t bytes) {
  if (bytes == receive_low_water_) return;
  error_code ignored;  // without it the reader is only woken more often
  const int clamped = static_cast<int>(std::min<std::size_t>(bytes, std::numeric_limits<int>::max()));
  socket_.set_option(asio::socket_base::receive_low_watermark(clamped), ignored);
  receive_low_water_ = bytes;
}

void Connection::on_header() {
  const auto decoded = decode_header(header_bytes_, {limits_.max_payload, static_cast<std::uint32_t>(peer_rank_)});
  if (!decoded.header) return fail("receive frame", "protocol error: " + decoded.error);
  header_ = *decoded.header;
  ++frames_read_;
  switch (header_.kind) {
    case FrameKind::kData:
      return dispatch_data();
    case FrameKind::kGoodbye:
      // Nothing follows a goodbye; recvs that were still waiting will never match.
      remote_said_goodbye_ = true;
      for (auto& [tag, ops] : posted_recvs_)
        for (auto& op : ops)
          op->complete(error_for(op->describe(), "the peer closed the connection (it finished or gave up)"));
      posted_recvs_.clear();
      return maybe_finish_close();
    case FrameKind::kError:
      return read_control_payload();
    case FrameKind::kHeartbeat:
      return read_header();
    default:
      return fail("receive frame", std::string("protocol error: unexpected ") + to_string(header_.kind) +
                                       " frame on an established connection");
  }
}

void Connection::read_control_payload() {
  control_payload_.resize(header_.length);
  read_exactly(control_payload_.data(), control_payload_.size(),
               [this] { fail("receive", "the peer gave up after an error: " + decode_text(control_payload_)); });
}

void Connection::dispatch_data() {
  if (draining_) return discard_payload(header_.length);
  const std::uint64_t tag = header_.tag;
  auto posted = posted_recvs_.find(tag);
  // Straight into the waiting recv's buffer when it is next in line for this tag.
  if (posted != posted_recvs_.end() && !posted->second.empty() && posted->second.front()->size() == header_.length) {
    auto op = posted->second.front();
    posted->second.pop_front();
    receiving_ = op;
    read_exactly(op->recv_buffer.data(), op->recv_buffer.size(), [this, op] {
      receiving_.reset();
      op->complete();
      read_header();
    });
    return;
  }
  if (header_.length > kSmallFrameBytes && !any_recv_posted()) return hold_early_frame();
  park_frame();
}

bool Connection::any_recv_posted() const {
  return std::any_of(posted_recvs_.begin(), posted_recvs_.end(), [](const auto& tag) { return !tag.second.empty(); });
}

// Resumed by post_recv, or parked when the wait is over.
void Connection::hold_early_frame() {
  read_paused_ = true;
  early_frame_timer_.expires_after(limits_.early_frame_wait);
  early_frame_timer_.async_wait([self = shared_from_this(), frame = frames_read_](const error_code&) {
    if (self->failure_ || self->draining_ || !self->read_paused_ || self->frames_read_ != frame) return;
    self->read_paused_ = false;
    self->park_frame();
  });
}

void Connection::park_frame() {
  if (parked_bytes_ > 0 && parked_bytes_ + header_.length > limits_.max_parked_bytes) {
    read_paused_ = true;  // resumed by post_recv once a recv drains the queue
    return;
  }
  const std::uint64_t tag = header_.tag;
  auto parked = std::make_shared<Parked>(take_buffer(header_.length));
  parked_bytes_ += header_.length;
  read_exactly(parked->storage.data(), parked->length, [this, parked, tag] {
    parked_[tag].push_back(std::move(*parked));
    match(tag);
    read_header();
  });
}

void Connection::post_recv(std::shared_ptr<Operation> op) {
  if (failure_) return op->complete(failure_);
  if (draining_) return op->complete(error_for(op->describe(), "the mesh is closing after an error"));
  const auto parked = parked_.find(op->tag);
  const bool has_parked = parked != parked_.end() && !parked->second.empty();
  if (remote_said_goodbye_ && !has_parked)
    return op->complete(error_for(op->describe(), "the peer closed the connection (it finished or gave up)"));
  posted_recvs_[op->tag].push_back(std::move(op));
  if (has_parked) match(parked->first);
  if (read_paused_) {
    read_paused_ = false;
    last_heard_ = Clock::now();
    early_frame_timer_.cancel();
    dispatch_data();
  }
}

// Pairs parked frames with posted recvs of the same tag, oldest first.
void Connection::match(std::uint64_t tag) {
  auto posted = posted_recvs_.find(tag);
  auto parked = parked_.find(tag);
  if (posted == posted_recvs_.end() || parked == parked_.end()) return;
  while (!posted->second.empty() && !parked->second.empty()) {
    auto op = std::move(posted->second.front());
    posted->second.pop_front();
    Parked frame = std::move(parked->second.front());
    parked->second.pop_front();
    parked_bytes_ -= frame.length;
    if (frame.length == op->recv_buffer.size()) {
      if (frame.length > 0) std::memcpy(op->recv_buffer.data(), frame.storage.data(), frame.length);
      op->complete();
    } else {
      op->complete(error_for(op->describe(),
                             "size mismatch: the peer sent " + std::to_string(frame.length) + " bytes with this tag"));
    }
    recycle(std::move(frame));
  }
  if (posted->second.empty()) posted_recvs_.erase(posted);
  if (parked->second.empty()) parked_.erase(parked);
}

Connection::Parked Connection::take_buffer(std::size_t length) {
  for (auto it = spare_buffers_.begin(); it != spare_buffers_.end(); ++it) {
    if (it->size() >= length) {
      Parked parked{std::move(*it), length};
      spare_buffers_.erase(it);
      return parked;
    }
  }
  return Parked{std::vector<std::byte>(length), length};
}

void Connection::recycle(Parked parked) {
  if (spare_buffers_.size() < kMaxSpareBuffers && !parked.storage.empty())
    spare_buffers_.push_back(std::move(parked.storage));
}

// ---- sending ----

void Connection::post_send(std::shared_ptr<Operation> op) {
  if (failure_) return op->complete(failure_);
  if (closing_) return op->complete(error_for(op->describe(), "the mesh is closing"));
  op->header =
      encode_header({FrameKind::kData, static_cast<std::uint32_t>(self_rank_), op->tag, op->send_buffer.size()});
  send_queue_.push_back(std::move(op));
  if (!writing_) write_next();
}

void Connection::write_next() {
  if (send_queue_.empty()) {
    writing_ = false;
    if (closing_ && !goodbye_sent_) write_farewell();
    return;
  }
  writing_ = true;
  // Small frames queued together leave in one gather-write: one system call and one
  // completion for the lot instead of one per frame.
  send_gather_.clear();
  std::size_t batch_bytes = 0;
  for (const auto& op : send_queue_) {
    const std::size_t bytes = op->send_buffer.size();
    if (frames_in_flight_ > 0 && (frames_in_flight_ == kMaxBatchFrames || batch_bytes + bytes > kMaxBatchBytes)) break;
    send_gather_.push_back(asio::buffer(op->header));
    send_gather_.push_back(asio::buffer(op->send_buffer.data(), bytes));
    batch_bytes += bytes;
    ++frames_in_flight_;
  }
  asio::async_write(socket_, send_gather_, TransferAllLargeChunks{&last_sent_},
                    [self = shared_from_this()](const error_code& ec, std::size_t) {
                      if (self->failure_) return;
                      if (ec)
                        return self->fail(self->send_queue_.front()->describe(),
                                          "connection lost while sending: " + ec.message());
                      self->last_sent_ = Clock::now();
                      for (; self->frames_in_flight_ > 0; --self->frames_in_flight_) {
                        self->send_queue_.front()->complete();
                        self->send_queue_.pop_front();
                      }
                      self->write_next();
                    });
}

void Connection::write_farewell() {
  writing_ = true;
  const bool with_error = !close_reason_.empty();
  farewell_payload_ = encode_text(close_reason_);
  farewell_header_ = encode_header({with_error ? FrameKind::kError : FrameKind::kGoodbye,
                                    static_cast<std::uint32_t>(self_rank_), 0, farewell_payload_.size()});
  const std::array<asio::const_buffer, 2> gather{asio::buffer(farewell_header_), asio::buffer(farewell_payload_)};
  asio::async_write(socket_, gather, [self = shared_from_this(), with_error](const error_code& ec, std::size_t) {
    self->writing_ = false;
    if (self->failure_) return self->maybe_finish_close();
    if (ec) return self->fail("send goodbye", ec.message());
    self->goodbye_sent_ = true;
    if (with_error) return self->drain_after_error();
    self->maybe_finish_close();
  });
}

// After an error frame nothing the peer says matters to us, but closing the socket while
// its data still arrives would reset the connection (TCP answers unread data with RST),
// and the peer could lose the error frame with it. So stop sending, discard what arrives
// until the peer, having read the error, closes its end (Mesh::close bounds the wait).
void Connection::drain_after_error() {
  draining_ = true;
  error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
  for (auto& [tag, ops] : posted_recvs_)
    for (auto& op : ops) op->complete(error_for(op->describe(), "the mesh is closing after an error"));
  posted_recvs_.clear();
  parked_.clear();
  parked_bytes_ = 0;
  if (read_paused_) {
    read_paused_ = false;
    discard_payload(header_.length);
  }
}

void Connection::discard_payload(std::uint64_t remaining) {
  if (remaining == 0) return read_header();
  discard_buffer_.resize(64 << 10);
  const std::size_t chunk = std::min<std::uint64_t>(remaining, discard_buffer_.size());
  read_exactly(discard_buffer_.data(), chunk, [this, remaining, chunk] { discard_payload(remaining - chunk); });
}

bool Connection::cancel(Operation& op) {
  if (op.done() || failure_) return false;
  // A send being written, or a receive whose payload is being read into its buffer, is
  // let finish (the caller waits for it): cutting it short would end the stream, and with
  // it the error frame by which a rank that is giving up names its reason.
  const auto in_flight_end = send_queue_.begin() + static_cast<std::ptrdiff_t>(frames_in_flight_);
  const auto is_op = [&](const auto& queued) { return queued.get() == &op; };
  if (&op == receiving_.get() || std::any_of(send_queue_.begin(), in_flight_end, is_op)) return true;
  auto drop_from = [&](std::deque<std::shared_ptr<Operation>>& queue) {
    const auto it = std::find_if(queue.begin(), queue.end(), is_op);
    if (it != queue.end()) queue.erase(it);
  };
  if (op.kind == Operation::Kind::kSend) {
    drop_from(send_queue_);
  } else if (auto posted = posted_recvs_.find(op.tag); posted != posted_recvs_.end()) {
    drop_from(posted->second);
    if (posted->second.empty()) posted_recvs_.erase(posted);
  }
  op.complete(error_for(op.describe(), "cancelled: its request was dropped before completing"));
  return false;
}

// ---- closing and failure ----

void Connection::begin_close(std::function<void()> on_closed, std::string error_reason) {
  closing_ = true;
  on_closed_ = std::move(on_closed);
  close_reason_ = std::move(error_reason);
  if (failure_) return maybe_finish_close();
  if (!close_reason_.empty()) {
    // Closing after an error: queued sends are abandoned, and a frame half written
    // cannot be followed by the error frame, so then the socket just closes.
    if (writing_) return fail("close", "closed after an error elsewhere: " + close_reason_);
    for (auto& op : send_queue_) op->complete(error_for(op->describe(), "the mesh is closing after an error"));
    send_queue_.clear();
  }
  if (!writing_) write_farewell();
}

void Connection::maybe_finish_close() {
  if (!closing_ || !on_closed_) return;
  if (!failure_ && !(goodbye_sent_ && remote_said_goodbye_)) return;
  error_code ignored;
  socket_.close(ignored);
  heartbeat_timer_.cancel();
  early_frame_timer_.cancel();
  auto done = std::move(on_closed_);
  on_closed_ = nullptr;
  done();
}

void Connection::fail(const std::string& operation, const std::string& reason) {
  if (failure_) return;
  std::string full_reason = reason;
  if (!first_failure_->empty()) full_reason += " (after an earlier failure: " + *first_failure_ + ")";
  failure_ = error_for(operation, full_reason);
  // Errors of our own closing are not news.
  if (!closing_) {
    if (first_failure_->empty()) *first_failure_ = failure_->message;
    log_line("transport error: " + failure_->message);
  }
  error_code ignored;
  socket_.close(ignored);
  heartbeat_timer_.cancel();
  early_frame_timer_.cancel();
  if (receiving_) receiving_->complete(failure_);
  receiving_.reset();
  frames_in_flight_ = 0;
  for (auto& [tag, ops] : posted_recvs_)
    for (auto& op : ops) op->complete(failure_);
  posted_recvs_.clear();
  for (auto& op : send_queue_) op->complete(failure_);
  send_queue_.clear();
  parked_.clear();
  parked_bytes_ = 0;
  read_paused_ = false;
  maybe_finish_close();
}

}  // namespace syncbed::net
