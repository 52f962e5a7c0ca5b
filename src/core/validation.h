// Input validation for everything a client proposes, done before a command is encoded: the
// state machine then never sees malformed input. Each check returns a precise
// InvalidArgument / LimitExceeded status naming the offending field.
#pragma once

#include <string_view>
#include <optional>
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
// The first id of `ids` (in order) that repeats an earlier one; nullopt when all differ.
// Sorts a copy in `scratch` (reused memory, no allocation per id); only when there is a
// repeat does it look for the first one. Its error: duplicate_id_status.
std::optional<Uuid> first_repeated_id(const std::vector<Uuid>& ids, std::vector<Uuid>& scratch);
Status duplicate_id_status(const Uuid& id);
Status check_expected_version(ExpectedVersion expected);
Status check_stream_metadata(const StreamMetadata& metadata);
bool is_valid_utf8(std::string_view s);

}  // namespace reckon::validation
