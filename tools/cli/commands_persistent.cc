// reckon subscriptions create|list|get|delete|parked|replay-parked, and reckon consume: the
// persistent subscriptions (the server keeps the checkpoint). NAME may also be a key.
#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "commands.h"
#include "event_json.h"
#include "output.h"

namespace reckon::cli {

std::string underscored(std::string value) {
  std::replace(value.begin(), value.end(), '-', '_');
  return value;
}

namespace {

Json subscription_to_json(const Subscription& s) {
  Json j;
  j["name"] = s.name;
  j["key"] = s.key;
  j["type"] = std::string(subscription_type_name(s.type));
  j["selector"] = s.selector;
  j["pool_size"] = s.pool_size;
  j["checkpoint"] = s.checkpoint;
  j["strategy"] = std::string(delivery_strategy_name(s.options.strategy));
  j["max_retries"] = s.options.max_retries;
  j["ordering"] = std::string(delivery_ordering_name(s.options.ordering));
  return j;
}

bool is_key(const std::string& s) {
  return s.size() == 32 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

Result<Subscription> find(Client& c, const std::string& name_or_key) {
  return is_key(name_or_key) ? c.get_subscription(name_or_key) : c.get_subscription_by_name(name_or_key);
}

struct Args {
  std::string name, type, selector, strategy = "round-robin", ordering = "per-stream", ack = "auto";
  uint32_t pool_size = 1;
  uint64_t start_from = 0;
  std::vector<uint64_t> positions;
  uint64_t count = 0;
};

int run_create(Session& s, const Args& a) {
  auto type = parse_subscription_type(a.type);
  if (!type) return report_usage_error(type.status().message());
  auto st = parse_delivery_strategy(underscored(a.strategy));
  if (!st) return report_usage_error(st.status().message());
  auto ordering = parse_delivery_ordering(underscored(a.ordering));
  if (!ordering) return report_usage_error(ordering.status().message());
  auto client = s.client();
  if (!client) return report_error(client.status());
  NewSubscription n;
  n.type = *type;
  n.selector = a.selector;
  n.name = a.name;
  n.pool_size = a.pool_size;
  n.start_from = a.start_from;
  n.options.strategy = *st;
  n.options.ordering = *ordering;
  auto r = (*client)->create_subscription(n);
  if (!r) return report_error(r.status());
  s.out().record(subscription_to_json(*r));
  return kExitOk;
}

int run_list(Session& s) {
  auto client = s.client();
  if (!client) return report_error(client.status());
  auto all = (*client)->list_subscriptions();
  if (!all) return report_error(all.status());
  if (s.out().json()) {
    for (const auto& sub : *all) s.out().record(subscription_to_json(sub));
    return kExitOk;
  }
  Output::List list(s.out(), {"name", "key", "type", "selector", "pool_size", "strategy", "ordering", "checkpoint"});
  for (const auto& sub : *all) list.add(subscription_to_json(sub));
  list.finish();
  return kExitOk;
}

int run_get(Session& s, const Args& a) {
  auto client = s.client();
  if (!client) return report_error(client.status());
  auto sub = find(**client, a.name);
  if (!sub) return report_error(sub.status());
  s.out().record(subscription_to_json(*sub));
  return kExitOk;
}

int run_delete(Session& s, const Args& a) {
  auto client = s.client();
  if (!client) return report_error(client.status());
  auto sub = find(**client, a.name);
  if (!sub) return report_error(sub.status());
  if (Status st = (*client)->delete_subscription(sub->key); !st.is_ok()) return report_error(st);
  return kExitOk;
}

int run_parked(Session& s, const Args& a) {
  auto client = s.client();
  if (!client) return report_error(client.status());
  auto sub = find(**client, a.name);
  if (!sub) return report_error(sub.status());
  auto parked = (*client)->list_parked(sub->key, {});
  if (!parked) return report_error(parked.status());
  Output::List list(s.out(), {"position", "attempts", "reason", "parked_us"});
  for (const auto& p : *parked) {
    Json j;
    j["position"] = p.position;
    j["attempts"] = p.attempts;
    j["reason"] = p.reason;
    j["parked_us"] = p.parked_us;
    list.add(j);
  }
  list.finish();
  return kExitOk;
}

int run_replay(Session& s, const Args& a) {
  auto client = s.client();
  if (!client) return report_error(client.status());
  auto sub = find(**client, a.name);
  if (!sub) return report_error(sub.status());
  auto n = (*client)->replay_parked(sub->key, std::vector<Position>(a.positions.begin(), a.positions.end()));
  if (!n) return report_error(n.status());
  Json j;
  j["replayed"] = *n;
  s.out().record(j);
  return kExitOk;
}

// --ack manual: answers come from stdin, one per line: `ack|retry|skip|park POSITION`. An answer
// for an event not delivered yet waits until it is; one for an event already printed goes out
// at once.
class ManualAnswers {
 public:
  explicit ManualAnswers(std::shared_ptr<ConsumeAnswers> sink) : sink_(std::move(sink)) {}

  // From the stdin thread.
  void read_lines(std::istream& in) {
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream words(line);
      std::string verb;
      Position position = 0;
      if (!(words >> verb)) continue;  // blank line
      auto action = verb == "ack"     ? std::optional(ConsumeAction::kAck)
                    : verb == "retry" ? std::optional(ConsumeAction::kRetry)
                    : verb == "skip"  ? std::optional(ConsumeAction::kSkip)
                    : verb == "park"  ? std::optional(ConsumeAction::kPark)
                                      : std::nullopt;
      if (!action || !(words >> position)) {
        std::cerr << "InvalidArgument: expected 'ack|retry|skip|park POSITION', got '" << line << "'\n";
        continue;
      }
      std::lock_guard<std::mutex> lock(mu_);
      if (delivered_.erase(position) > 0) {
        if (!sink_->answer(position, *action)) {
          std::cerr << "Unavailable: not attached; event " << position << " comes back after its timeout\n";
        }
      } else {
        waiting_[position] = *action;
      }
    }
  }

  // From the handler: answers the event now if its answer came first.
  void delivered(Position position) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = waiting_.find(position);
    if (it == waiting_.end()) {
      delivered_.insert(position);
      return;
    }
    sink_->answer(position, it->second);
    waiting_.erase(it);
  }

 private:
  std::shared_ptr<ConsumeAnswers> sink_;
  std::mutex mu_;
  std::set<Position> delivered_;                // printed, not answered yet
  std::map<Position, ConsumeAction> waiting_;   // answered before delivery
};

int run_consume(Session& s, const Args& a) {
  if (a.ack != "auto" && a.ack != "manual") return report_usage_error("--ack: auto or manual");
  auto client = s.client();
  if (!client) return report_error(client.status());
  uint64_t seen = 0;
  ConsumeOptions o;
  std::shared_ptr<ManualAnswers> manual;
  if (a.ack == "manual") {
    o.answers = std::make_shared<ConsumeAnswers>();
    manual = std::make_shared<ManualAnswers>(o.answers);
    // Detached: it blocks on stdin, and the process ends when consuming does.
    std::thread([manual] { manual->read_lines(std::cin); }).detach();
  }
  Status st = (*client)->consume(a.name, o, [&](const DeliveredEvent& d) {
    const Event& e = d.event;
    if (s.out().json()) {
      Json j = event_to_json(e);
      j["attempt"] = d.attempt;
      s.out().stream() << dump_json(j) << '\n';
    } else {
      s.out().stream() << e.position << "  " << e.stream_id << "@" << e.version << "  " << e.event_type << "  "
                       << format_timestamp_us(e.created_us) << "  " << cell_text(event_to_json(e)["data"]) << '\n';
    }
    s.out().stream().flush();
    ++seen;
    if (manual) manual->delivered(e.position);
    if (a.count > 0 && seen >= a.count) return ConsumeAction::kStop;  // answers given so far go out first
    return a.ack == "auto" ? ConsumeAction::kAck : ConsumeAction::kLeave;
  });
  if (!st) return report_error(st);
  return kExitOk;
}

}  // namespace

void add_persistent_commands(CLI::App& app, Runner* selected) {
  auto a = std::make_shared<Args>();
  auto* subs = app.add_subcommand("subscriptions", "Persistent subscriptions (the server keeps the checkpoint)");
  subs->require_subcommand(1);
  auto* create = subs->add_subcommand("create", "Create a subscription (again = same key, re-attach)");
  create->add_option("NAME", a->name)->required();
  create->add_option("--type", a->type, "stream|event_type|event_pattern|event_payload|tags")->required();
  create->add_option("--selector", a->selector, "What the type selects")->required();
  create->add_option("--pool-size", a->pool_size, "Emitters")->capture_default_str();
  create->add_option("--start-from", a->start_from, "Deliver events after this position");
  create->add_option("--strategy", a->strategy, "round-robin|single|pinned")->capture_default_str();
  create->add_option("--ordering", a->ordering,
                     "per-stream: a stream's next event waits until the outstanding one is handled "
                     "(retries included); none: order on first delivery only")
      ->capture_default_str();
  create->callback([a, selected] { *selected = [a](Session& s) { return run_create(s, *a); }; });
  auto* list = subs->add_subcommand("list", "List subscriptions");
  list->callback([selected] { *selected = [](Session& s) { return run_list(s); }; });
  auto* get = subs->add_subcommand("get", "Show one subscription");
  get->add_option("NAME", a->name)->required();
  get->callback([a, selected] { *selected = [a](Session& s) { return run_get(s, *a); }; });
  auto* del = subs->add_subcommand("delete", "Delete a subscription and its parked events");
  del->add_option("NAME", a->name)->required();
  del->callback([a, selected] { *selected = [a](Session& s) { return run_delete(s, *a); }; });
  auto* parked = subs->add_subcommand("parked", "List parked events");
  parked->add_option("NAME", a->name)->required();
  parked->callback([a, selected] { *selected = [a](Session& s) { return run_parked(s, *a); }; });
  auto* replay = subs->add_subcommand("replay-parked", "Deliver parked events again");
  replay->add_option("NAME", a->name)->required();
  replay->add_option("--position", a->positions, "Only these positions (repeatable; default all)");
  replay->callback([a, selected] { *selected = [a](Session& s) { return run_replay(s, *a); }; });

  auto c = std::make_shared<Args>();
  auto* consume = app.add_subcommand("consume", "Consume a persistent subscription (follows the leader)");
  consume->add_option("NAME", c->name)->required();
  consume->add_option("--ack", c->ack,
                      "auto: ack each printed event; manual: answer from stdin, one "
                      "'ack|retry|skip|park POSITION' per line (unanswered events come back after "
                      "their message timeout)")
      ->capture_default_str();
  consume->add_option("--count", c->count, "Stop after this many events");
  consume->callback([c, selected] { *selected = [c](Session& s) { return run_consume(s, *c); }; });
}

}  // namespace reckon::cli
