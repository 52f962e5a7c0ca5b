// JSON checks on the hot append path (simdjson: validates at GB/s).
#pragma once

#include <string_view>

#include "reckon/status.h"

namespace reckon::json {

// OK when `text` is one complete, valid UTF-8 JSON value.
Status validate(std::string_view text, std::string_view what);
// OK when `text` is a valid JSON object.
Status validate_object(std::string_view text, std::string_view what);

}  // namespace reckon::json
