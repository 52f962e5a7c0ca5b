// Selector: what a persistent subscription selects, parsed and validated from its type and
// selector text, in canonical form; SelectorMatcher: the compiled predicate over events.
// Formats (docs/DATA_MODEL.md, "Persistent subscriptions"):
//   stream         an exact stream id; "$all" = every event
//   event_type     one type as plain text, or a JSON list of types (any of them)
//   event_pattern  a stream-id wildcard: `*` any run, `?` one character, anchored
//   event_payload  a JSON object the event's JSON data must contain; operators $gt $gte $lt
//                  $lte (numbers or strings), $ne, $in (a list)
//   tags           {"any": [..]} | {"all": [..]} | a JSON list (= any) | one plain tag
// The canonical form is what is stored and hashed into the subscription key, so selectors
// that mean the same (whitespace, key order, list order, duplicates) share one key.
//
// Immutable after parse/compile: one instance may be shared by any number of threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "reckon/subscriptions.h"
#include "reckon/types.h"
#include "subscriptions/payload_pattern.h"

namespace reckon::subscriptions {

inline constexpr size_t kMaxSelectorBytes = 64 * 1024;
inline constexpr size_t kMaxSubscriptionNameBytes = 1024;
inline constexpr std::string_view kAllStreams = "$all";

struct Selector {
  SubscriptionType type = SubscriptionType::kStream;
  std::string canonical;

  std::string stream;                     // kStream (kAllStreams = every event)
  std::vector<std::string> event_types;   // kEventType: sorted, unique, non-empty
  std::string pattern;                    // kEventPattern
  std::shared_ptr<const PayloadPattern> payload;  // kEventPayload
  std::vector<std::string> tags;          // kTags: sorted, unique, non-empty
  TagMatch tag_match = TagMatch::kAny;    // kTags
};

// InvalidArgument (saying what is wrong) for a selector text the type does not accept.
Result<Selector> parse_selector(SubscriptionType type, std::string_view text);

// Non-empty, no NUL, valid UTF-8, at most kMaxSubscriptionNameBytes.
Status check_subscription_name(std::string_view name);

class SelectorMatcher {
 public:
  static Result<SelectorMatcher> compile(SubscriptionType type, std::string_view text);
  explicit SelectorMatcher(Selector selector) : selector_(std::move(selector)) {}

  bool matches(const EventRef& event) const;
  bool matches(const Event& event) const;

  const Selector& selector() const { return selector_; }

 private:
  template <typename Tags>
  bool matches_fields(std::string_view stream_id, std::string_view event_type, std::string_view data,
                      ContentType data_type, const Tags& tags) const;

  Selector selector_;
};

}  // namespace reckon::subscriptions
