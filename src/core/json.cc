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
  simdjson::padded_string padded(text);
  auto doc = thread_parser().parse(padded);
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
