#include "reckon/aggregate.h"

#include <nlohmann/json.hpp>

namespace reckon {
namespace {

using nlohmann::json;

Status fold_one(json& state, const Event& e) {
  if (e.data_content_type != ContentType::kJson) {
    return Status::invalid_argument("event " + e.stream_id + "@" + std::to_string(e.version) +
                                    " has binary data; only JSON objects can be folded");
  }
  json data = json::parse(e.data, nullptr, /*allow_exceptions=*/false);
  if (!data.is_object()) {
    return Status::invalid_argument("event " + e.stream_id + "@" + std::to_string(e.version) +
                                    " data is not a JSON object");
  }
  for (auto& [key, value] : data.items()) {
    if (value.is_object() && value.size() == 1 && value.contains("$sum")) {
      const json& n = value["$sum"];
      if (!n.is_number()) return Status::invalid_argument("$sum of field '" + key + "' is not a number");
      json& field = state[key];
      if (field.is_null()) field = 0;
      if (!field.is_number()) return Status::invalid_argument("field '" + key + "' is not a number");
      if (field.is_number_integer() && n.is_number_integer()) {
        field = field.get<int64_t>() + n.get<int64_t>();
      } else {
        field = field.get<double>() + n.get<double>();
      }
    } else if (value.is_object() && value.size() == 1 && value.contains("$overwrite")) {
      state[key] = value["$overwrite"];
    } else {
      state[key] = value;
    }
  }
  return Status::ok();
}

Result<json> parse_state(std::string_view text) {
  if (text.empty()) return json::object();
  json state = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!state.is_object()) return Status::invalid_argument("aggregate state must be a JSON object");
  return state;
}

}  // namespace

Result<std::string> fold_events(std::string_view initial_state_json, const std::vector<Event>& events) {
  RECKON_ASSIGN_OR_RETURN(json state, parse_state(initial_state_json));
  for (const auto& e : events) RECKON_RETURN_IF_ERROR(fold_one(state, e));
  return state.dump();
}

Result<AggregateState> aggregate_stream(Store& store, const std::string& stream_id, bool use_snapshot) {
  AggregateState out;
  json state = json::object();
  int64_t from = 0;
  if (use_snapshot) {
    auto snap = store.load_snapshot(stream_id);
    if (snap) {
      RECKON_ASSIGN_OR_RETURN(state, parse_state(snap->data));
      out.snapshot_version = out.version = snap->version;
      from = snap->version + 1;
    } else if (snap.code() != ErrorCode::kNotFound) {
      return snap.status();
    }
  }
  while (true) {
    ReadStreamOptions o;
    o.from_version = from;
    auto page = store.read(stream_id, o);
    if (!page) {
      // A stream with only a snapshot folds to the snapshot.
      if (page.code() == ErrorCode::kStreamNotFound && out.snapshot_version >= 0) break;
      return page.status();
    }
    for (const auto& e : page->events) {
      RECKON_RETURN_IF_ERROR(fold_one(state, e));
      out.version = e.version;
    }
    if (page->end_of_stream) break;
    from = page->next_version;
  }
  out.state_json = state.dump();
  return out;
}

}  // namespace reckon
