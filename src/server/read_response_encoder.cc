#include "server/read_response_encoder.h"

#include <utility>

#include "wire/convert.h"

namespace reckon::server {
namespace {

enum WireType : uint32_t { kVarint = 0, kLengthDelimited = 2 };

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_tag(std::string& out, uint32_t field, WireType type) { put_varint(out, (field << 3) | type); }

void put_bytes(std::string& out, uint32_t field, std::string_view v) {
  if (v.empty()) return;
  put_tag(out, field, kLengthDelimited);
  put_varint(out, v.size());
  out.append(v.data(), v.size());
}

void put_uint(std::string& out, uint32_t field, uint64_t v) {
  if (v == 0) return;
  put_tag(out, field, kVarint);
  put_varint(out, v);
}

// int64 fields are plain varints of the two's complement (ten bytes when negative).
void put_int(std::string& out, uint32_t field, int64_t v) { put_uint(out, field, static_cast<uint64_t>(v)); }

}  // namespace

void ReadResponseEncoder::add_event(const EventRef& e) {
  event_.clear();
  put_bytes(event_, 1, std::string_view(reinterpret_cast<const char*>(e.event_id.bytes.data()), 16));
  put_bytes(event_, 2, e.event_type);
  put_bytes(event_, 3, e.stream_id);
  put_int(event_, 4, e.version);
  put_uint(event_, 5, e.position);
  put_bytes(event_, 6, e.data);
  put_uint(event_, 7, wire::content_type(e.data_content_type));
  put_bytes(event_, 8, e.metadata);
  put_uint(event_, 9, wire::content_type(e.metadata_content_type));
  if (e.tags != nullptr) {
    for (std::string_view t : *e.tags) {
      // A repeated string keeps empty elements (unlike a singular field at its default).
      put_tag(event_, 10, kLengthDelimited);
      put_varint(event_, t.size());
      event_.append(t.data(), t.size());
    }
  }
  put_int(event_, 11, e.created_us);
  // A repeated message field: every element is written, even an empty one.
  put_tag(out_, 1, kLengthDelimited);
  put_varint(out_, event_.size());
  out_.append(event_);
  ++events_;
}

void ReadResponseEncoder::finish(bool end, bool end_of_data, uint64_t next_position) {
  put_uint(out_, 2, end ? 1 : 0);
  put_uint(out_, 5, next_position);
  put_uint(out_, 6, end_of_data ? 1 : 0);
}

grpc::ByteBuffer ReadResponseEncoder::take() {
  auto* owned = new std::string(std::move(out_));
  clear();
  grpc::Slice slice(owned->data(), owned->size(), [](void* s) { delete static_cast<std::string*>(s); }, owned);
  return grpc::ByteBuffer(&slice, 1);
}

void ReadResponseEncoder::clear() {
  out_.clear();
  events_ = 0;
}

}  // namespace reckon::server
