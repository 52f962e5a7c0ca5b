#include "event_json.h"

#include <array>
#include <charconv>
#include <ctime>

namespace reckon::cli {

namespace {

constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

Json payload_to_json(const std::string& bytes, ContentType type) {
  if (type == ContentType::kBinary) return base64_encode(bytes);
  return json_payload(bytes);
}

// A snapshot payload. Snapshots carry no content type: bytes that parse as JSON are shown as
// that value, any others are binary and shown as base64 (*binary set); empty is null.
Json snapshot_payload(const std::string& bytes, bool* binary) {
  *binary = false;
  if (bytes.empty()) return nullptr;
  Json parsed = Json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_discarded()) return parsed;
  *binary = true;
  return base64_encode(bytes);
}

const nlohmann::json* field(const nlohmann::json& obj, const char* name, const char* alias) {
  auto it = obj.find(name);
  if (it != obj.end()) return &*it;
  if (alias != nullptr) {
    it = obj.find(alias);
    if (it != obj.end()) return &*it;
  }
  return nullptr;
}

Status bad(const std::string& where, const std::string& what) {
  return Status::invalid_argument(where + ": " + what);
}

// Reads a payload (data or metadata) with its optional content type and base64 variant.
Status read_payload(const nlohmann::json& obj, const std::string& name, const std::string& where,
                    bool required, std::string* bytes, ContentType* type) {
  *type = ContentType::kJson;
  const auto* ct = field(obj, (name + "_content_type").c_str(), nullptr);
  if (ct != nullptr && !ct->is_null()) {
    if (!ct->is_string()) return bad(where, name + "_content_type must be a string");
    auto parsed = parse_content_type(ct->get<std::string>());
    if (!parsed) return bad(where, parsed.status().message());
    *type = *parsed;
  }
  const auto* b64 = field(obj, (name + "_base64").c_str(), nullptr);
  if (b64 != nullptr && !b64->is_null()) {
    if (!b64->is_string()) return bad(where, name + "_base64 must be a string");
    auto decoded = base64_decode(b64->get<std::string>());
    if (!decoded) return bad(where, name + "_base64: " + decoded.status().message());
    *bytes = std::move(decoded).value();
    *type = ContentType::kBinary;
    return Status::ok();
  }
  const auto* value = field(obj, name.c_str(), nullptr);
  if (value == nullptr || value->is_null()) {
    if (required) return bad(where, "missing field '" + name + "'");
    bytes->clear();
    return Status::ok();
  }
  if (*type == ContentType::kBinary) {
    if (!value->is_string()) return bad(where, name + " of an octet-stream event must be a base64 string");
    auto decoded = base64_decode(value->get<std::string>());
    if (!decoded) return bad(where, name + ": " + decoded.status().message());
    *bytes = std::move(decoded).value();
    return Status::ok();
  }
  *bytes = value->dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
  return Status::ok();
}

}  // namespace

Json json_payload(const std::string& bytes) {
  if (bytes.empty()) return nullptr;
  Json parsed = Json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return bytes;
  return parsed;
}

Json event_to_json(const Event& e) {
  Json j;
  j["stream_id"] = e.stream_id;
  j["version"] = e.version;
  j["position"] = e.position;
  j["event_id"] = e.event_id.to_string();
  j["event_type"] = e.event_type;
  j["data"] = payload_to_json(e.data, e.data_content_type);
  j["metadata"] = e.metadata.empty() ? Json(nullptr) : payload_to_json(e.metadata, e.metadata_content_type);
  j["tags"] = e.tags;
  j["created_us"] = e.created_us;
  if (e.data_content_type == ContentType::kBinary) {
    j["data_content_type"] = content_type_name(ContentType::kBinary);
  }
  if (e.metadata_content_type == ContentType::kBinary && !e.metadata.empty()) {
    j["metadata_content_type"] = content_type_name(ContentType::kBinary);
  }
  return j;
}

Json snapshot_to_json(const Snapshot& s) {
  bool data_binary = false;
  bool metadata_binary = false;
  Json j;
  j["stream_id"] = s.stream_id;
  j["version"] = s.version;
  j["data"] = snapshot_payload(s.data, &data_binary);
  j["metadata"] = snapshot_payload(s.metadata, &metadata_binary);
  j["created_us"] = s.created_us;
  // Flagged the way events flag binary, so a base64 string cannot pass for a JSON string.
  if (data_binary) j["data_content_type"] = content_type_name(ContentType::kBinary);
  if (metadata_binary) j["metadata_content_type"] = content_type_name(ContentType::kBinary);
  return j;
}

Result<EventLine> event_from_json(const nlohmann::json& obj, const std::string& where) {
  if (!obj.is_object()) return bad(where, "an event must be a JSON object");
  EventLine out;
  if (const auto* s = field(obj, "stream_id", "stream"); s != nullptr && !s->is_null()) {
    if (!s->is_string()) return bad(where, "stream_id must be a string");
    out.stream_id = s->get<std::string>();
  }
  const auto* type = field(obj, "event_type", "type");
  if (type == nullptr || !type->is_string()) return bad(where, "missing string field 'event_type'");
  out.event.event_type = type->get<std::string>();
  if (const auto* id = field(obj, "event_id", "id"); id != nullptr && !id->is_null()) {
    if (!id->is_string()) return bad(where, "event_id must be a string");
    auto uuid = Uuid::parse(id->get<std::string>());
    if (!uuid) return bad(where, "event_id: " + uuid.status().message());
    out.event.event_id = *uuid;
  }
  try {
    RECKON_RETURN_IF_ERROR(read_payload(obj, "data", where, /*required=*/true, &out.event.data,
                                        &out.event.data_content_type));
    RECKON_RETURN_IF_ERROR(read_payload(obj, "metadata", where, /*required=*/false,
                                        &out.event.metadata, &out.event.metadata_content_type));
  } catch (const nlohmann::json::exception& ex) {
    return bad(where, ex.what());
  }
  if (const auto* tags = field(obj, "tags", nullptr); tags != nullptr && !tags->is_null()) {
    if (!tags->is_array()) return bad(where, "tags must be an array of strings");
    for (const auto& t : *tags) {
      if (!t.is_string()) return bad(where, "tags must be an array of strings");
      out.event.tags.push_back(t.get<std::string>());
    }
  }
  return out;
}

Result<EventLine> event_from_line(std::string_view line, const std::string& where) {
  nlohmann::json obj = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (obj.is_discarded()) return bad(where, "not a valid JSON object");
  return event_from_json(obj, where);
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    out.push_back(kBase64Alphabet[(v >> 18) & 63]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
    out.push_back(kBase64Alphabet[(v >> 6) & 63]);
    out.push_back(kBase64Alphabet[v & 63]);
  }
  if (i + 1 == bytes.size()) {
    uint32_t v = uint8_t(bytes[i]) << 16;
    out.push_back(kBase64Alphabet[(v >> 18) & 63]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
    out += "==";
  } else if (i + 2 == bytes.size()) {
    uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out.push_back(kBase64Alphabet[(v >> 18) & 63]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
    out.push_back(kBase64Alphabet[(v >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  static const std::array<int8_t, 256> table = [] {
    std::array<int8_t, 256> t{};
    t.fill(-1);
    for (int i = 0; i < 64; ++i) t[static_cast<uint8_t>(kBase64Alphabet[i])] = static_cast<int8_t>(i);
    t['-'] = 62;  // URL-safe alphabet too
    t['_'] = 63;
    return t;
  }();
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return Status::invalid_argument("invalid base64 length");
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int8_t v = table[static_cast<uint8_t>(c)];
    if (v < 0) return Status::invalid_argument(std::string("invalid base64 character '") + c + "'");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

Result<ExpectedVersion> parse_expected_version(std::string_view text) {
  if (text == "any") return kExpectAny;
  if (text == "no-stream" || text == "no_stream") return kExpectNoStream;
  if (text == "exists" || text == "stream-exists" || text == "stream_exists") return kExpectStreamExists;
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec == std::errc() && ptr == text.data() + text.size() &&
      (v >= 0 || v == kExpectAny || v == kExpectNoStream || v == kExpectStreamExists)) {
    return v;
  }
  return Status::invalid_argument("invalid expected version '" + std::string(text) +
                                  "' (use any, no-stream, exists or a version N >= 0)");
}

std::string format_timestamp_us(int64_t us) {
  time_t secs = static_cast<time_t>(us / 1'000'000);
  int64_t micros = us % 1'000'000;
  if (micros < 0) {
    micros += 1'000'000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(micros));
  return buf;
}

}  // namespace reckon::cli
