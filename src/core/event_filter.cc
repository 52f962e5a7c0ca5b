#include "core/event_filter.h"

#include <re2/re2.h>

#include <algorithm>

namespace reckon {

bool wildcard_match(std::string_view pattern, std::string_view name) {
  // Iterative glob with single backtrack point: linear in practice, no recursion.
  size_t p = 0, n = 0, star = std::string_view::npos, mark = 0;
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      if (pattern[p] == '?') {
        // '?' consumes one UTF-8 character, not one byte.
        ++n;
        while (n < name.size() && (static_cast<uint8_t>(name[n]) & 0xC0) == 0x80) ++n;
      } else {
        ++n;
      }
      ++p;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

namespace {
Result<std::unique_ptr<re2::RE2>> compile_regex(const std::string& pattern, const char* what) {
  if (pattern.empty()) return std::unique_ptr<re2::RE2>();
  re2::RE2::Options opts;
  opts.set_log_errors(false);
  auto re = std::make_unique<re2::RE2>(pattern, opts);
  if (!re->ok()) {
    return Status::invalid_argument(std::string("invalid ") + what + " regex '" + pattern +
                                    "': " + re->error());
  }
  return re;
}
}  // namespace

CompiledFilter::~CompiledFilter() = default;

Result<std::shared_ptr<const CompiledFilter>> CompiledFilter::compile(const EventFilter& filter) {
  std::shared_ptr<CompiledFilter> f(new CompiledFilter());
  f->spec_ = filter;
  RECKON_ASSIGN_OR_RETURN(f->stream_regex_, compile_regex(filter.stream_regex, "stream"));
  RECKON_ASSIGN_OR_RETURN(f->type_regex_, compile_regex(filter.event_type_regex, "event type"));
  f->accepts_everything_ = filter.empty();
  return std::shared_ptr<const CompiledFilter>(std::move(f));
}

bool CompiledFilter::matches_stream(std::string_view stream_id) const {
  if (spec_.exclude_system_streams && !stream_id.empty() && stream_id[0] == '$') return false;
  if (!spec_.stream_prefixes.empty() &&
      std::none_of(spec_.stream_prefixes.begin(), spec_.stream_prefixes.end(),
                   [&](const std::string& p) { return stream_id.starts_with(p); })) {
    return false;
  }
  if (!spec_.stream_wildcard.empty() && !wildcard_match(spec_.stream_wildcard, stream_id)) {
    return false;
  }
  if (stream_regex_ && !re2::RE2::FullMatch(stream_id, *stream_regex_)) return false;
  return true;
}

bool CompiledFilter::matches_type(std::string_view event_type) const {
  if (!spec_.event_types.empty() &&
      std::find(spec_.event_types.begin(), spec_.event_types.end(), event_type) ==
          spec_.event_types.end()) {
    return false;
  }
  if (!spec_.event_type_prefixes.empty() &&
      std::none_of(spec_.event_type_prefixes.begin(), spec_.event_type_prefixes.end(),
                   [&](const std::string& p) { return event_type.starts_with(p); })) {
    return false;
  }
  if (type_regex_ && !re2::RE2::FullMatch(event_type, *type_regex_)) return false;
  return true;
}

}  // namespace reckon
