// reckon subscribe: a catch-up subscription printed as it goes — history, a "caught up" note on
// stderr, then live events until interrupted. JSON mode prints one event object per line (the
// same fields as `read`); table mode prints one aligned line per event, immediately.
#include <iostream>
#include <memory>

#include "commands.h"
#include "event_json.h"
#include "output.h"

namespace reckon::cli {

namespace {

struct SubscribeArgs {
  std::string stream;
  bool all = false;
  uint64_t from = 0;
  CLI::Option* from_opt = nullptr;
  bool from_end = false;
  std::vector<std::string> types;
  std::vector<std::string> prefixes;
  std::vector<std::string> tags;
  uint64_t count = 0;  // stop after this many events (0 = never)
};

int run_subscribe(Session& s, const SubscribeArgs& a) {
  if (a.all == !a.stream.empty()) return report_usage_error("give either --stream S or --all");
  if (!a.all && (!a.types.empty() || !a.prefixes.empty() || !a.tags.empty())) {
    return report_usage_error("--type, --stream-prefix and --tag apply to --all only");
  }
  auto client = s.client();
  if (!client) return report_error(client.status());
  SubscribeOptions o;
  o.stream_id = a.stream;
  if (a.from_end) {
    o.start = SubscribeOptions::Start::kEnd;
  } else if (a.from_opt->count() > 0) {
    o.start = SubscribeOptions::Start::kAfter;
    o.after_position = a.from;
    o.after_version = static_cast<int64_t>(a.from);
  }
  o.filter.event_types = a.types;
  o.filter.stream_prefixes = a.prefixes;
  o.filter.tags = a.tags;
  uint64_t seen = 0;
  Status st = (*client)->subscribe(o, [&](const SubscriptionMessage& m) {
    if (m.kind == SubscriptionMessage::Kind::kCaughtUp) {
      std::cerr << "-- caught up; live events follow (Ctrl-C to stop)\n";
    } else if (m.kind == SubscriptionMessage::Kind::kEvent) {
      const Event& e = m.event;
      if (s.out().json()) {
        s.out().stream() << dump_json(event_to_json(e)) << '\n';
      } else {
        s.out().stream() << e.position << "  " << e.stream_id << "@" << e.version << "  "
                         << e.event_type << "  " << format_timestamp_us(e.created_us) << "  "
                         << cell_text(event_to_json(e)["data"]) << '\n';
      }
      s.out().stream().flush();
      ++seen;
    }
    return a.count == 0 || seen < a.count;
  });
  if (!st) return report_error(st);
  return kExitOk;
}

}  // namespace

void add_subscribe_commands(CLI::App& app, Runner* selected) {
  auto a = std::make_shared<SubscribeArgs>();
  auto* sub = app.add_subcommand("subscribe", "Catch-up subscription: history, then live events");
  sub->add_option("--stream", a->stream, "Subscribe to one stream");
  sub->add_flag("--all", a->all, "Subscribe to $all");
  a->from_opt = sub->add_option("--from", a->from,
                                "Start after this position ($all) or version (stream); default: "
                                "from the beginning");
  sub->add_flag("--from-end", a->from_end, "Only events appended from now on");
  sub->add_option("--type", a->types, "$all: only these event types (repeatable)");
  sub->add_option("--stream-prefix", a->prefixes, "$all: only streams with this prefix (repeatable)");
  sub->add_option("--tag", a->tags, "$all: only events with one of these tags (repeatable)");
  sub->add_option("--count", a->count, "Stop after this many events");
  sub->callback([a, selected] { *selected = [a](Session& s) { return run_subscribe(s, *a); }; });
}

}  // namespace reckon::cli
