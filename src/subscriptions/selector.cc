#include "subscriptions/selector.h"

#include <simdjson.h>

#include <algorithm>

#include "core/event_filter.h"
#include "core/validation.h"

namespace reckon::subscriptions {
namespace {

Status invalid(SubscriptionType type, const std::string& what) {
  return Status::invalid_argument("invalid " + std::string(subscription_type_name(type)) +
                                  " selector: " + what);
}

Status check_text(SubscriptionType type, std::string_view value, std::string_view what, size_t max_bytes) {
  if (value.empty()) return invalid(type, std::string(what) + " must not be empty");
  if (value.size() > max_bytes) {
    return invalid(type, std::string(what) + " is " + std::to_string(value.size()) +
                             " bytes; the limit is " + std::to_string(max_bytes));
  }
  if (value.find('\0') != std::string_view::npos) {
    return invalid(type, std::string(what) + " must not contain NUL bytes");
  }
  if (!validation::is_valid_utf8(value)) return invalid(type, std::string(what) + " is not valid UTF-8");
  return Status::ok();
}

// A JSON list of names: non-empty, each a valid name; returned sorted and without duplicates.
Result<std::vector<std::string>> parse_name_list(SubscriptionType type, simdjson::dom::element e,
                                                 std::string_view what, size_t max_bytes) {
  simdjson::dom::array a;
  if (e.get_array().get(a)) return invalid(type, "expected a JSON list of " + std::string(what) + "s");
  std::vector<std::string> out;
  for (simdjson::dom::element item : a) {
    std::string_view s;
    if (item.get_string().get(s)) return invalid(type, "every " + std::string(what) + " must be a JSON string");
    RECKON_RETURN_IF_ERROR(check_text(type, s, what, max_bytes));
    out.emplace_back(s);
  }
  if (out.empty()) return invalid(type, "the list of " + std::string(what) + "s must not be empty");
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<simdjson::dom::element> parse_json(SubscriptionType type, simdjson::dom::parser& parser,
                                          const simdjson::padded_string& text) {
  simdjson::dom::element root;
  if (auto err = parser.parse(text).get(root)) {
    return invalid(type, std::string("not valid JSON: ") + simdjson::error_message(err));
  }
  return root;
}

std::string json_list(const std::vector<std::string>& names) {
  std::string out = "[";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out.push_back(',');
    append_json_string(out, names[i]);
  }
  out.push_back(']');
  return out;
}

Status parse_event_types(std::string_view text, Selector& s) {
  const size_t max = Limits{}.max_event_type_bytes;
  if (text.starts_with('[')) {
    simdjson::dom::parser parser;
    simdjson::padded_string padded(text);
    RECKON_ASSIGN_OR_RETURN(auto root, parse_json(s.type, parser, padded));
    RECKON_ASSIGN_OR_RETURN(s.event_types, parse_name_list(s.type, root, "event type", max));
  } else {
    RECKON_RETURN_IF_ERROR(check_text(s.type, text, "event type", max));
    s.event_types.emplace_back(text);
  }
  // One type is stored as plain text unless that text would read as a list.
  if (s.event_types.size() == 1 && !s.event_types[0].starts_with('[')) {
    s.canonical = s.event_types[0];
  } else {
    s.canonical = json_list(s.event_types);
  }
  return Status::ok();
}

Status parse_tags(std::string_view text, Selector& s) {
  const size_t max = Limits{}.max_tag_bytes;
  if (text.starts_with('{') || text.starts_with('[')) {
    simdjson::dom::parser parser;
    simdjson::padded_string padded(text);
    RECKON_ASSIGN_OR_RETURN(auto root, parse_json(s.type, parser, padded));
    if (root.type() == simdjson::dom::element_type::OBJECT) {
      simdjson::dom::object o;
      if (root.get_object().get(o) || o.size() != 1) {
        return invalid(s.type, "expected {\"any\": [tags]} or {\"all\": [tags]}");
      }
      auto field = *o.begin();
      if (field.key == "any") {
        s.tag_match = TagMatch::kAny;
      } else if (field.key == "all") {
        s.tag_match = TagMatch::kAll;
      } else {
        return invalid(s.type, "unknown key '" + std::string(field.key) + "' (use \"any\" or \"all\")");
      }
      RECKON_ASSIGN_OR_RETURN(s.tags, parse_name_list(s.type, field.value, "tag", max));
    } else {
      s.tag_match = TagMatch::kAny;
      RECKON_ASSIGN_OR_RETURN(s.tags, parse_name_list(s.type, root, "tag", max));
    }
  } else {
    RECKON_RETURN_IF_ERROR(check_text(s.type, text, "tag", max));
    s.tags.emplace_back(text);
  }
  s.canonical = std::string(s.tag_match == TagMatch::kAll ? "{\"all\":" : "{\"any\":") + json_list(s.tags) + "}";
  return Status::ok();
}

}  // namespace

Status check_subscription_name(std::string_view name) {
  if (name.empty()) return Status::invalid_argument("subscription name must not be empty");
  if (name.size() > kMaxSubscriptionNameBytes) {
    return Status::limit_exceeded("subscription name is " + std::to_string(name.size()) +
                                  " bytes; the limit is " + std::to_string(kMaxSubscriptionNameBytes));
  }
  if (name.find('\0') != std::string_view::npos) {
    return Status::invalid_argument("subscription name must not contain NUL bytes");
  }
  if (!validation::is_valid_utf8(name)) return Status::invalid_argument("subscription name is not valid UTF-8");
  return Status::ok();
}

Result<Selector> parse_selector(SubscriptionType type, std::string_view text) {
  Selector s;
  s.type = type;
  if (text.size() > kMaxSelectorBytes) {
    return Status::limit_exceeded("selector is " + std::to_string(text.size()) + " bytes; the limit is " +
                                  std::to_string(kMaxSelectorBytes));
  }
  switch (type) {
    case SubscriptionType::kStream:
      RECKON_RETURN_IF_ERROR(check_text(type, text, "stream id", Limits{}.max_stream_id_bytes));
      s.stream.assign(text);
      s.canonical = s.stream;
      break;
    case SubscriptionType::kEventType:
      RECKON_RETURN_IF_ERROR(parse_event_types(text, s));
      break;
    case SubscriptionType::kEventPattern:
      RECKON_RETURN_IF_ERROR(check_text(type, text, "stream pattern", Limits{}.max_stream_id_bytes));
      s.pattern.assign(text);
      s.canonical = s.pattern;
      break;
    case SubscriptionType::kEventPayload: {
      if (text.empty()) return invalid(type, "must be a JSON object");
      RECKON_ASSIGN_OR_RETURN(s.payload, PayloadPattern::parse(text));
      s.canonical = s.payload->canonical();
      break;
    }
    case SubscriptionType::kTags:
      RECKON_RETURN_IF_ERROR(parse_tags(text, s));
      break;
    default:
      return Status::invalid_argument("unknown subscription type " + std::to_string(static_cast<int>(type)));
  }
  return s;
}

Result<SelectorMatcher> SelectorMatcher::compile(SubscriptionType type, std::string_view text) {
  RECKON_ASSIGN_OR_RETURN(Selector s, parse_selector(type, text));
  return SelectorMatcher(std::move(s));
}

template <typename Tags>
bool SelectorMatcher::matches_fields(std::string_view stream_id, std::string_view event_type,
                                     std::string_view data, ContentType data_type, const Tags& tags) const {
  const Selector& s = selector_;
  switch (s.type) {
    case SubscriptionType::kStream:
      return s.stream == kAllStreams || stream_id == s.stream;
    case SubscriptionType::kEventType:
      return std::binary_search(s.event_types.begin(), s.event_types.end(), event_type,
                                [](const auto& a, const auto& b) { return std::string_view(a) < std::string_view(b); });
    case SubscriptionType::kEventPattern:
      return wildcard_match(s.pattern, stream_id);
    case SubscriptionType::kEventPayload:
      return data_type == ContentType::kJson && s.payload->matches(data);
    case SubscriptionType::kTags: {
      auto has = [&](const std::string& t) {
        return std::any_of(tags.begin(), tags.end(), [&](const auto& x) { return std::string_view(x) == t; });
      };
      return s.tag_match == TagMatch::kAll ? std::all_of(s.tags.begin(), s.tags.end(), has)
                                           : std::any_of(s.tags.begin(), s.tags.end(), has);
    }
  }
  return false;
}

bool SelectorMatcher::matches(const EventRef& e) const {
  static const std::vector<std::string_view> kNoTags;
  return matches_fields(e.stream_id, e.event_type, e.data, e.data_content_type, e.tags ? *e.tags : kNoTags);
}

bool SelectorMatcher::matches(const Event& e) const {
  return matches_fields(e.stream_id, e.event_type, e.data, e.data_content_type, e.tags);
}

}  // namespace reckon::subscriptions
