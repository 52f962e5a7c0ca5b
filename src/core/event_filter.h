// CompiledFilter: an EventFilter (include/reckon/types.h) turned into matchers once, then
// applied to many events. Used by read_all and, later, by subscriptions. Immutable after
// compile(), so one instance may be shared by any number of reader threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "reckon/types.h"

namespace re2 {
class RE2;
}

namespace reckon {

// Matches a whole name against a wildcard pattern: `*` any run, `?` one character.
bool wildcard_match(std::string_view pattern, std::string_view name);

class CompiledFilter {
 public:
  // InvalidArgument for an invalid regex.
  static Result<std::shared_ptr<const CompiledFilter>> compile(const EventFilter& filter);
  ~CompiledFilter();

  bool matches_stream(std::string_view stream_id) const;
  bool matches_type(std::string_view event_type) const;
  // `tags`: any range of values comparable with std::string (strings or string_views).
  template <typename Tags>
  bool matches_tags(const Tags& tags) const {
    if (spec_.tags.empty()) return true;
    auto has = [&](const std::string& t) {
      for (const auto& x : tags)
        if (x == t) return true;
      return false;
    };
    if (spec_.tag_match == TagMatch::kAll) {
      for (const auto& t : spec_.tags)
        if (!has(t)) return false;
      return true;
    }
    for (const auto& t : spec_.tags)
      if (has(t)) return true;
    return false;
  }
  template <typename Tags>
  bool matches(std::string_view stream_id, std::string_view event_type, const Tags& tags) const {
    return matches_stream(stream_id) && matches_type(event_type) && matches_tags(tags);
  }
  bool accepts_everything() const { return accepts_everything_; }

 private:
  CompiledFilter() = default;
  EventFilter spec_;
  std::unique_ptr<re2::RE2> stream_regex_;
  std::unique_ptr<re2::RE2> type_regex_;
  bool accepts_everything_ = false;
};

}  // namespace reckon
