#include "reckon/types.h"

namespace reckon {

std::string_view content_type_name(ContentType t) {
  return t == ContentType::kJson ? "application/json" : "application/octet-stream";
}

Result<ContentType> parse_content_type(std::string_view name) {
  if (name == "application/json") return ContentType::kJson;
  if (name == "application/octet-stream") return ContentType::kBinary;
  return Status::invalid_argument("unsupported content type '" + std::string(name) +
                                  "' (use application/json or application/octet-stream)");
}

bool EventFilter::empty() const {
  return stream_prefixes.empty() && stream_wildcard.empty() && stream_regex.empty() &&
         event_types.empty() && event_type_prefixes.empty() && event_type_regex.empty() &&
         tags.empty() && !exclude_system_streams;
}

}  // namespace reckon
