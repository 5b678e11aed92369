#include "core/transport/tcp/messages.h"

#include <cstring>

namespace syncbed::net {
namespace {

constexpr std::size_t kMaxString = 1024;
constexpr std::uint32_t kMaxWorld = 1 << 20;

class Writer {
 public:
  void u16(std::uint16_t v) { raw(v); }
  void u32(std::uint32_t v) { raw(v); }
  void str(const std::string& s) {
    u16(static_cast<std::uint16_t>(s.size()));
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    out_.insert(out_.end(), p, p + s.size());
  }
  Bytes take() { return std::move(out_); }

 private:
  template <typename T>
  void raw(T v) {
    for (std::size_t i = 0; i < sizeof(T); ++i) out_.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xff));
  }
  Bytes out_;
};

class Reader {
 public:
  explicit Reader(std::span<const std::byte> in) : in_(in) {}
  bool u16(std::uint16_t* v) { return raw(v); }
  bool u32(std::uint32_t* v) { return raw(v); }
  bool str(std::string* s) {
    std::uint16_t n = 0;
    if (!u16(&n) || n > kMaxString || n > in_.size() - pos_) return false;
    s->assign(reinterpret_cast<const char*>(in_.data() + pos_), n);
    pos_ += n;
    return true;
  }
  bool at_end() const { return pos_ == in_.size(); }

 private:
  template <typename T>
  bool raw(T* v) {
    if (in_.size() - pos_ < sizeof(T)) return false;
    T value = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) value |= static_cast<T>(std::to_integer<T>(in_[pos_ + i])) << (8 * i);
    pos_ += sizeof(T);
    *v = value;
    return true;
  }
  std::span<const std::byte> in_;
  std::size_t pos_ = 0;
};

template <typename T>
std::optional<T> fail(std::string* error, const char* reason) {
  if (error) *error = reason;
  return std::nullopt;
}

}  // namespace

Bytes encode_registration(const Registration& r) {
  Writer w;
  w.str(r.token);
  w.u32(r.world_size);
  w.str(r.listen.host);
  w.u16(r.listen.port);
  return w.take();
}

std::optional<Registration> decode_registration(std::span<const std::byte> payload, std::string* error) {
  Reader in(payload);
  Registration r;
  if (!in.str(&r.token) || !in.u32(&r.world_size) || !in.str(&r.listen.host) || !in.u16(&r.listen.port))
    return fail<Registration>(error, "truncated or malformed registration");
  if (!in.at_end()) return fail<Registration>(error, "trailing bytes after registration");
  if (r.world_size == 0 || r.world_size > kMaxWorld) return fail<Registration>(error, "world size out of range");
  if (r.listen.host.empty() || r.listen.port == 0) return fail<Registration>(error, "registration lacks an address");
  return r;
}

Bytes encode_table(const std::vector<Endpoint>& table) {
  Writer w;
  w.u32(static_cast<std::uint32_t>(table.size()));
  for (const auto& e : table) {
    w.str(e.host);
    w.u16(e.port);
  }
  return w.take();
}

std::optional<std::vector<Endpoint>> decode_table(std::span<const std::byte> payload, std::string* error) {
  using Table = std::vector<Endpoint>;
  Reader in(payload);
  std::uint32_t n = 0;
  // Each entry takes at least 4 bytes, which bounds n by the payload before reserving.
  if (!in.u32(&n) || n == 0 || n > kMaxWorld || n > payload.size() / 4) return fail<Table>(error, "bad table size");
  Table table(n);
  for (auto& e : table)
    if (!in.str(&e.host) || !in.u16(&e.port)) return fail<Table>(error, "truncated table");
  if (!in.at_end()) return fail<Table>(error, "trailing bytes after table");
  return table;
}

Bytes encode_text(const std::string& text) {
  const auto* p = reinterpret_cast<const std::byte*>(text.data());
  return Bytes(p, p + text.size());
}

std::string decode_text(std::span<const std::byte> payload) {
  return std::string(reinterpret_cast<const char*>(payload.data()), payload.size());
}

}  // namespace syncbed::net
