// PayloadPattern: the compiled selector of an `event_payload` subscription — a JSON object
// that an event's JSON data must contain, with comparison operators where given
// (docs/DATA_MODEL.md, "Persistent subscriptions"). Parsed once from the selector text, then
// matched against many events; the event data is parsed with simdjson (one parser per thread)
// and walked in place, never converted to a tree.
//
// Immutable after parse(): one instance may be shared by any number of threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "reckon/status.h"

namespace reckon::subscriptions {

// A JSON value held by the pattern (selector side only). Object members are sorted by key and
// unique, so equal values have one form (canonical text).
struct JsonValue {
  enum class Kind : uint8_t { kNull, kBool, kInt, kUint, kDouble, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  int64_t int_value = 0;    // kInt
  uint64_t uint_value = 0;  // kUint (only values above INT64_MAX)
  double double_value = 0;  // kDouble
  std::string string;       // kString
  std::vector<JsonValue> items;                             // kArray
  std::vector<std::pair<std::string, JsonValue>> members;  // kObject, sorted by key

  bool is_number() const { return kind == Kind::kInt || kind == Kind::kUint || kind == Kind::kDouble; }
};

class PayloadPattern {
 public:
  // The selector text must be a non-empty JSON object. InvalidArgument (naming the path of
  // the offending field) for anything else: unknown `$` operator, operator object mixed with
  // plain fields, `$gt`.. on something other than a number or string, `$in` without an array,
  // duplicate keys.
  static Result<std::shared_ptr<const PayloadPattern>> parse(std::string_view text);
  ~PayloadPattern();

  // True when `data` is a JSON object that contains the pattern. Invalid JSON: false.
  bool matches(std::string_view data) const;

  // Minified JSON, object keys sorted: the form that is stored and hashed into the key.
  const std::string& canonical() const { return canonical_; }

  struct Node;

 private:
  PayloadPattern() = default;
  std::unique_ptr<Node> root_;
  std::string canonical_;
};

// JSON text of a string value (quotes and escapes): shared by the canonical selector forms.
void append_json_string(std::string& out, std::string_view s);

}  // namespace reckon::subscriptions
