// Byte encodings shared by the storage keys, stored records and commands (docs/STORAGE.md):
// big-endian fixed-width integers (so keys sort numerically), LEB128 varints, zigzag for
// signed values, and length-prefixed strings. ByteReader never reads past its input: every
// get_* returns false on truncated or malformed bytes, and the caller reports Corruption.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace reckon::enc {

inline void put_u64_be(std::string& out, uint64_t v) {
  char buf[8];
  for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>(v >> (56 - 8 * i));
  out.append(buf, 8);
}

inline uint64_t load_u64_be(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | static_cast<uint8_t>(p[i]);
  return v;
}

inline void put_varint(std::string& out, uint64_t v) {
  char buf[10];
  int n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out.append(buf, n);
}

inline uint64_t zigzag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t unzigzag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

inline void put_svarint(std::string& out, int64_t v) { put_varint(out, zigzag(v)); }

inline void put_bytes(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s.data(), s.size());
}

class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}

  bool get_u8(uint8_t& v) {
    if (in_.empty()) return false;
    v = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return true;
  }
  bool get_u64_be(uint64_t& v) {
    if (in_.size() < 8) return false;
    v = load_u64_be(in_.data());
    in_.remove_prefix(8);
    return true;
  }
  bool get_varint(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift <= 63; shift += 7) {
      if (in_.empty()) return false;
      uint8_t b = static_cast<uint8_t>(in_[0]);
      in_.remove_prefix(1);
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  }
  bool get_svarint(int64_t& v) {
    uint64_t u;
    if (!get_varint(u)) return false;
    v = unzigzag(u);
    return true;
  }
  bool get_bytes(std::string_view& s) {
    uint64_t n;
    if (!get_varint(n) || n > in_.size()) return false;
    s = in_.substr(0, n);
    in_.remove_prefix(n);
    return true;
  }
  bool get_bytes(std::string& s) {
    std::string_view v;
    if (!get_bytes(v)) return false;
    s.assign(v.data(), v.size());
    return true;
  }
  bool get_raw(size_t n, std::string_view& s) {
    if (n > in_.size()) return false;
    s = in_.substr(0, n);
    in_.remove_prefix(n);
    return true;
  }
  bool empty() const { return in_.empty(); }
  size_t remaining() const { return in_.size(); }

 private:
  std::string_view in_;
};

}  // namespace reckon::enc
