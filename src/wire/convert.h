// Conversions between reckon.v1 protobuf messages and reckon types. Pure functions; input
// from the wire is checked (UUID length, enum ranges) and refused with InvalidArgument.
#pragma once

#include "reckon/store.h"
#include "reckon/v1/reckon.pb.h"

namespace reckon::wire {

Result<NewEvent> from_proto(const v1::NewEvent& in);
void to_proto(const NewEvent& in, v1::NewEvent* out);
// The same, moving the strings (no copy of the payloads).
void to_proto(NewEvent&& in, v1::NewEvent* out);

v1::ContentType content_type(ContentType t);

void to_proto(const Event& in, v1::RecordedEvent* out);
void to_proto(const EventRef& in, v1::RecordedEvent* out);
Result<Event> from_proto(const v1::RecordedEvent& in);
// Same into an existing Event: streaming reads reuse one Event and one message, so their
// strings keep their buffers from event to event instead of allocating for each.
Status assign_from_proto(const v1::RecordedEvent& in, Event& out);

// Moves the events' bytes out of `in` (the server owns its request and needs it no more).
Result<std::vector<StreamAppend>> take_appends(v1::AppendRequest& in);
std::optional<AppendCondition> from_proto_condition(const v1::AppendRequest& in);
void to_proto(const AppendCondition& in, v1::AppendCondition* out);

void to_proto(const AppendResult& in, v1::AppendResult* out);
AppendResult from_proto(const v1::AppendResult& in);

EventFilter from_proto(const v1::EventFilter& in);
void to_proto(const EventFilter& in, v1::EventFilter* out);

StreamMetadata from_proto(const v1::StreamMetadata& in);
void to_proto(const StreamMetadata& in, v1::StreamMetadata* out);

void to_proto(const StreamInfo& in, v1::StreamInfo* out);
StreamInfo from_proto(const v1::StreamInfo& in);

void to_proto(const Snapshot& in, v1::Snapshot* out);
Snapshot from_proto(const v1::Snapshot& in);

inline Direction from_proto(v1::Direction d) {
  return d == v1::DIRECTION_BACKWARD ? Direction::kBackward : Direction::kForward;
}
inline v1::Direction to_proto(Direction d) {
  return d == Direction::kBackward ? v1::DIRECTION_BACKWARD : v1::DIRECTION_FORWARD;
}

}  // namespace reckon::wire
