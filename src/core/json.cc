#include "core/json.h"

#include <simdjson.h>

#include <string>

namespace reckon::json {
namespace {

// One parser per thread: a simdjson parser reuses its buffers and is not thread-safe.
simdjson::dom::parser& thread_parser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

Result<simdjson::dom::element> parse(std::string_view text, std::string_view what) {
  // simdjson reads up to SIMDJSON_PADDING bytes past the end: copy into a per-thread buffer
  // with room for that, instead of allocating a padded copy per document.
  thread_local std::string buffer;
  if (buffer.capacity() < text.size() + simdjson::SIMDJSON_PADDING) {
    buffer.reserve(text.size() + simdjson::SIMDJSON_PADDING);
  }
  buffer.assign(text.data(), text.size());
  auto doc = thread_parser().parse(
      simdjson::padded_string_view(buffer.data(), buffer.size(), buffer.capacity()));
  if (doc.error()) {
    return Status::invalid_argument(std::string(what) + " is not valid JSON: " +
                                    simdjson::error_message(doc.error()));
  }
  // The element refers to the parser's buffers, which stay valid until the next parse.
  return doc.value();
}

}  // namespace

Status validate(std::string_view text, std::string_view what) {
  auto r = parse(text, what);
  return r.status();
}

Status validate_object(std::string_view text, std::string_view what) {
  auto r = parse(text, what);
  if (!r) return r.status();
  if (!r->is_object()) return Status::invalid_argument(std::string(what) + " must be a JSON object");
  return Status::ok();
}

}  // namespace reckon::json
