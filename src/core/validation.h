// Input validation for everything a client proposes, done before a command is encoded: the
// state machine then never sees malformed input. Each check returns a precise
// InvalidArgument / LimitExceeded status naming the offending field.
#pragma once

#include <string_view>
#include <vector>

#include "reckon/options.h"
#include "reckon/types.h"

namespace reckon::validation {

// Any stream name (system names allowed): non-empty, no NUL, valid UTF-8, within the limit.
Status check_stream_name(std::string_view stream_id, const Limits& limits);
// A stream a user may write to: check_stream_name and no leading '$'.
Status check_user_stream(std::string_view stream_id, const Limits& limits);
// Type, tags (deduplicated in place), content; sizes within the limits.
Status check_event(NewEvent& event, const Limits& limits, size_t index);
// The events of one append: non-empty, counts and total size within the limits, no duplicate
// client-supplied ids.
Status check_events(std::vector<NewEvent>& events, const Limits& limits);
Status check_expected_version(ExpectedVersion expected);
Status check_stream_metadata(const StreamMetadata& metadata);
bool is_valid_utf8(std::string_view s);

}  // namespace reckon::validation
