#include "subscriptions_runtime/emitter_pool.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <string_view>

#include "subscriptions_runtime/dispatch.h"

namespace reckon::subscriptions_runtime {
namespace {

constexpr size_t kBufferedEvents = 512;  // read ahead per emitter
// Per-stream ordering: events held back behind an earlier one of their stream, per emitter.
// Past this the emitter reads no further until some are released, so a stream stuck on one
// event ends up holding back the other streams too, instead of filling memory
// (docs/SUBSCRIPTIONS.md, "Known limits").
constexpr size_t kHeldBackEvents = 4 * kBufferedEvents;
constexpr uint64_t kScanPerRead = 4096;  // events examined per read
constexpr std::chrono::milliseconds kIdleWait{1000};

Event to_event(const EventRef& r) {
  Event e;
  e.event_id = r.event_id;
  e.event_type = std::string(r.event_type);
  e.stream_id = std::string(r.stream_id);
  e.version = r.version;
  e.position = r.position;
  e.data = std::string(r.data);
  e.data_content_type = r.data_content_type;
  e.metadata = std::string(r.metadata);
  e.metadata_content_type = r.metadata_content_type;
  if (r.tags) {
    for (auto t : *r.tags) e.tags.emplace_back(t);
  }
  e.created_us = r.created_us;
  return e;
}

subscriptions::SelectorMatcher compile_or_nothing(const Subscription& s) {
  auto m = subscriptions::SelectorMatcher::compile(s.type, s.selector);
  if (m) return std::move(m).value();
  // Stored selectors were validated when created; a matcher that matches nothing is the safe
  // answer if one is not (start() refuses the pool).
  return subscriptions::SelectorMatcher(subscriptions::Selector{});
}

}  // namespace

EmitterPool::EmitterPool(Subscription subscription, PoolContext context)
    : subscription_(std::move(subscription)), ctx_(std::move(context)),
      matcher_(compile_or_nothing(subscription_)) {}

EmitterPool::~EmitterPool() { stop("", "pool destroyed"); }

Status EmitterPool::start() {
  RECKON_RETURN_IF_ERROR(subscriptions::SelectorMatcher::compile(subscription_.type, subscription_.selector).status());
  std::lock_guard<std::mutex> lock(mu_);
  if (started_) return Status::ok();
  started_ = true;
  const size_t n = std::max<uint32_t>(1, subscription_.pool_size);
  for (size_t i = 0; i < n; ++i) emitters_.push_back(std::make_unique<Emitter>(subscription_.checkpoint));
  for (size_t i = 0; i < n; ++i) emitters_[i]->thread = std::thread([this, i] { run(i); });
  return Status::ok();
}

void EmitterPool::stop(const std::string& leader_address, const std::string& reason) {
  std::vector<Consumer> ended;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    ended.swap(consumers_);
    // Sinks are ended under the lock, so no delivery can follow the end.
    for (auto& c : ended) c.sink->end(leader_address, reason);
  }
  cv_.notify_all();
  for (auto& e : emitters_) {
    if (e->thread.joinable() && e->thread.get_id() != std::this_thread::get_id()) e->thread.join();
  }
}

Result<uint64_t> EmitterPool::attach(ConsumerSink* sink, uint32_t max_in_flight) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return Status::unavailable("subscription '" + subscription_.name + "' is not served here any more");
  Consumer c{next_consumer_++,
             sink,
             max_in_flight > 0 ? max_in_flight : subscription_.options.max_in_flight,
             {}};
  c.max_in_flight = std::max<uint32_t>(1, c.max_in_flight);
  consumers_.push_back(std::move(c));
  const uint64_t id = consumers_.back().id;
  ++generation_;
  cv_.notify_all();
  return id;
}

void EmitterPool::detach(uint64_t consumer) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = std::find_if(consumers_.begin(), consumers_.end(), [&](const Consumer& c) { return c.id == consumer; });
    if (it == consumers_.end()) return;
    const std::set<Position> held = std::move(it->in_flight);
    consumers_.erase(it);
    for (Position pos : held) {
      auto p = pending_.find(pos);
      if (p != pending_.end() && p->second.state == State::kInFlight &&
          p->second.consumer == consumer) {
        // Delivered again (the attempt counts), or parked if that was the last one allowed.
        retry_or_park_locked(p->second, "consumer left");
      }
    }
    ++generation_;
  }
  cv_.notify_all();
}

EmitterPool::Consumer* EmitterPool::consumer_locked(uint64_t id) {
  for (auto& c : consumers_)
    if (c.id == id) return &c;
  return nullptr;
}

EmitterPool::Pending& EmitterPool::add_locked(Pending p) {
  if (per_stream()) {
    // The one place a stream's events get in line: behind its outstanding event, if any.
    StreamLine& line = emitters_[p.emitter]->lines[p.event.stream_id];
    if (line.outstanding) {
      p.state = State::kHeld;
    } else {
      line.outstanding = p.position;
    }
  }
  const Position pos = p.position;
  auto& slot = pending_.emplace(pos, std::move(p)).first->second;
  index_locked(slot);
  return slot;
}

void EmitterPool::set_state_locked(Pending& p, State state) {
  unindex_locked(p);
  p.state = state;
  index_locked(p);
}

void EmitterPool::erase_locked(std::map<Position, Pending>::iterator it) {
  unindex_locked(it->second);
  if (per_stream()) release_stream_locked(it->second);
  pending_.erase(it);
}

void EmitterPool::release_stream_locked(const Pending& p) {
  Emitter& e = *emitters_[p.emitter];
  auto it = e.lines.find(p.event.stream_id);
  if (it == e.lines.end()) return;
  StreamLine& line = it->second;
  if (line.outstanding == p.position) {
    line.outstanding.reset();
    if (!line.held.empty()) {
      Pending& next = pending_.at(*line.held.begin());
      line.outstanding = next.position;
      set_state_locked(next, State::kWaiting);  // leaves line.held
    }
  }
  if (!line.outstanding && line.held.empty()) e.lines.erase(it);
}

void EmitterPool::index_locked(Pending& p) {
  Emitter& e = *emitters_[p.emitter];
  switch (p.state) {
    case State::kHeld:
      e.lines[p.event.stream_id].held.insert(p.position);
      ++e.held;
      break;
    case State::kWaiting:
      e.waiting.insert(p.position);
      break;
    case State::kInFlight:
      e.deadlines.emplace(p.deadline, p.position);
      if (Consumer* c = consumer_locked(p.consumer)) c->in_flight.insert(p.position);
      break;
    case State::kParking:
      e.parking.insert(p.position);
      break;
  }
}

// Leaving kInFlight also frees the consumer's slot.
void EmitterPool::unindex_locked(Pending& p) {
  Emitter& e = *emitters_[p.emitter];
  switch (p.state) {
    case State::kHeld:
      if (auto it = e.lines.find(p.event.stream_id); it != e.lines.end()) it->second.held.erase(p.position);
      --e.held;
      break;
    case State::kWaiting:
      e.waiting.erase(p.position);
      break;
    case State::kInFlight:
      e.deadlines.erase({p.deadline, p.position});
      if (Consumer* c = consumer_locked(p.consumer)) c->in_flight.erase(p.position);
      p.consumer = 0;
      break;
    case State::kParking:
      e.parking.erase(p.position);
      break;
  }
}

bool EmitterPool::any_consumer_has_room_locked() const {
  return std::any_of(consumers_.begin(), consumers_.end(),
                     [](const Consumer& c) { return c.in_flight.size() < c.max_in_flight; });
}

void EmitterPool::handled_locked(Position position, bool acked) {
  auto it = pending_.find(position);
  if (it == pending_.end()) return;
  Pending& p = it->second;
  Emitter& e = *emitters_[p.emitter];
  if (p.replay) {
    e.unpark.push_back(position);
  } else {
    e.tracker.finish(position);
  }
  if (acked && ctx_.observer) ctx_.observer->acked(ctx_.store_id, subscription_.name, 1);
  erase_locked(it);
}

bool EmitterPool::answer_counts_locked(const Pending& p, uint64_t consumer) const {
  if (p.state == State::kParking) return false;
  return !per_stream() || p.state != State::kInFlight || p.consumer == consumer;
}

void EmitterPool::ack(uint64_t consumer, const std::vector<Position>& positions) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    // An ack from any consumer counts: after a timeout the first delivery may still be acked
    // (with per-stream ordering, only until the event is in flight again).
    for (Position pos : positions) {
      auto it = pending_.find(pos);
      if (it == pending_.end() || !answer_counts_locked(it->second, consumer)) continue;
      handled_locked(pos, true);
    }
    ++generation_;
  }
  cv_.notify_all();
}

void EmitterPool::retry_or_park_locked(Pending& p, const std::string& reason) {
  if (p.attempts >= subscription_.options.max_retries) {
    p.reason = reason.empty() ? "retry limit reached" : reason + " (retry limit reached)";
    set_state_locked(p, State::kParking);
  } else {
    set_state_locked(p, State::kWaiting);
  }
}

void EmitterPool::nack(uint64_t consumer, const std::vector<Position>& positions, NackAction action,
                       const std::string& reason) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (Position pos : positions) {
      auto it = pending_.find(pos);
      if (it == pending_.end() || !answer_counts_locked(it->second, consumer)) continue;
      Pending& p = it->second;
      switch (action) {
        case NackAction::kSkip:
          handled_locked(pos, false);
          break;
        case NackAction::kPark:
          p.reason = reason.empty() ? "parked by consumer" : reason;
          set_state_locked(p, State::kParking);
          break;
        case NackAction::kRetry:
          // A held-back event was never handed out here (a stale answer): it stays in line.
          if (p.state != State::kHeld) retry_or_park_locked(p, reason.empty() ? "nack" : reason);
          break;
      }
    }
    ++generation_;
  }
  cv_.notify_all();
}

Result<uint64_t> EmitterPool::replay_parked(const std::vector<Position>& positions) {
  std::vector<Event> events;
  for (Position pos : positions) {
    ReadAllOptions o;
    o.from_position = pos;
    o.max_count = 1;
    RECKON_ASSIGN_OR_RETURN(auto page, ctx_.store->read_all(o));
    if (!page.events.empty() && page.events.front().position == pos) events.push_back(std::move(page.events.front()));
  }
  uint64_t queued = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return Status::unavailable("subscription '" + subscription_.name + "' is not served here any more");
    for (auto& e : events) {
      if (pending_.count(e.position)) continue;  // still being delivered or parked
      Pending p;
      p.position = e.position;
      p.emitter = emitter_for_stream(e.stream_id, emitters_.size());
      p.replay = true;
      p.state = State::kWaiting;
      p.event = std::move(e);
      add_locked(std::move(p));
      ++queued;
    }
    ++generation_;
  }
  cv_.notify_all();
  return queued;
}

Position EmitterPool::checkpoint() {
  std::lock_guard<std::mutex> lock(mu_);
  if (emitters_.empty()) return subscription_.checkpoint;
  Position cp = kEndPosition;
  for (auto& e : emitters_) cp = std::min(cp, e->tracker.checkpoint());
  return cp;
}

size_t EmitterPool::consumers() {
  std::lock_guard<std::mutex> lock(mu_);
  return consumers_.size();
}

bool EmitterPool::send_locked(Pending& p) {
  std::vector<ConsumerLoad> loads;
  loads.reserve(consumers_.size());
  for (auto& c : consumers_) {
    loads.push_back(ConsumerLoad{static_cast<uint32_t>(c.in_flight.size()), c.max_in_flight});
  }
  auto chosen = pick_consumer(subscription_.options.strategy, loads, p.event.stream_id, round_robin_);
  if (!chosen) return false;
  Consumer& c = consumers_[*chosen];
  ++p.attempts;
  unindex_locked(p);  // leaves the waiting index before the in-flight fields change
  p.state = State::kInFlight;
  p.consumer = c.id;
  p.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(subscription_.options.message_timeout_ms);
  index_locked(p);
  c.sink->deliver(p.event, p.attempts);
  if (ctx_.observer) ctx_.observer->delivered(ctx_.store_id, subscription_.name, 1);
  return true;
}

// Hands out this emitter's waiting events in position order (held-back ones are not waiting:
// the pass never sees them). Pinned: a stream whose next event found its consumer full is
// blocked for the rest of the pass, so its later events cannot overtake it (with ordering none
// a stream may have several waiting). The pass ends as soon as no consumer has room: its cost
// is the events sent plus the streams blocked, not the events waiting.
bool EmitterPool::dispatch_locked(size_t index) {
  if (consumers_.empty() || !ctx_.leading->load()) return false;
  Emitter& e = *emitters_[index];
  if (e.waiting.empty() || !any_consumer_has_room_locked()) return false;
  bool sent = false;
  std::set<std::string_view> blocked;
  const bool pinned = subscription_.options.strategy == DeliveryStrategy::kPinned;
  for (auto it = e.waiting.begin(); it != e.waiting.end();) {
    const Position pos = *it;
    ++it;  // the entry leaves the waiting index below; `it` stays valid
    Pending& p = pending_.at(pos);
    if (pinned && blocked.count(p.event.stream_id)) continue;
    if (p.attempts >= subscription_.options.max_retries) {  // e.g. its consumer left at the limit
      p.reason = "retry limit reached";
      set_state_locked(p, State::kParking);
      continue;
    }
    if (send_locked(p)) {
      sent = true;
      continue;
    }
    if (!pinned || !any_consumer_has_room_locked()) break;  // every consumer is full
    blocked.insert(p.event.stream_id);
  }
  return sent;
}

// Deliveries whose deadline passed, earliest first: only those are touched.
void EmitterPool::expire_locked(size_t index, SteadyTime now) {
  Emitter& e = *emitters_[index];
  while (!e.deadlines.empty() && e.deadlines.begin()->first <= now) {
    auto it = pending_.find(e.deadlines.begin()->second);
    if (it == pending_.end() || it->second.state != State::kInFlight) {
      e.deadlines.erase(e.deadlines.begin());  // cannot happen: the index follows the states
      continue;
    }
    retry_or_park_locked(it->second, "message timeout");  // leaves the deadline index
  }
}

// Writes this emitter's parked events and unparks its handled replays (replicated commands;
// run without the lock). Returns whether anything was done.
bool EmitterPool::write_parked_unlocked(size_t index, std::unique_lock<std::mutex>& lock) {
  Emitter& e = *emitters_[index];
  std::vector<ParkedEvent> park;
  park.reserve(e.parking.size());
  for (Position pos : e.parking) {
    const Pending& p = pending_.at(pos);
    park.push_back(ParkedEvent{pos, p.reason, p.attempts, 0});
  }
  std::vector<Position> unpark;
  unpark.swap(e.unpark);
  if (park.empty() && unpark.empty()) return false;
  lock.unlock();
  Status parked = park.empty() ? Status::ok() : ctx_.store->park_events(subscription_.key, park);
  Status unparked = unpark.empty() ? Status::ok() : ctx_.store->unpark(subscription_.key, unpark);
  lock.lock();
  if (!unparked.is_ok()) {
    spdlog::warn("subscription {}: unpark failed: {}", subscription_.name, unparked.to_string());
    e.unpark.insert(e.unpark.end(), unpark.begin(), unpark.end());
  }
  if (!parked.is_ok()) {
    spdlog::warn("subscription {}: park failed: {}", subscription_.name, parked.to_string());
    return false;
  }
  for (const auto& pe : park) {
    // Still parking: acks, nacks and deliveries leave parking events alone.
    auto it = pending_.find(pe.position);
    if (it == pending_.end() || it->second.state != State::kParking) continue;
    // Durably parked: handled, as far as the checkpoint is concerned.
    if (!it->second.replay) e.tracker.finish(pe.position);
    erase_locked(it);
  }
  if (ctx_.observer) ctx_.observer->parked(ctx_.store_id, subscription_.name, park.size());
  return true;
}

// Reads the next matching events of this emitter's streams (without the lock). Returns whether
// the cursor moved.
bool EmitterPool::read_batch_unlocked(size_t index, std::unique_lock<std::mutex>& lock) {
  Emitter& e = *emitters_[index];
  const Position from = e.cursor;
  const size_t n = emitters_.size();
  lock.unlock();
  const Position before = ctx_.store->last_position();
  if (before < from) {
    // Nothing appended past the cursor: no read. A live pool passes here after every ack.
    lock.lock();
    e.caught_up = true;
    return false;
  }
  std::vector<Event> matched;
  Position last_seen = from - 1;
  Result<ReadAllResult> page = Status::ok();
  const subscriptions::Selector& sel = matcher_.selector();
  bool scan = true;
  if (sel.type == SubscriptionType::kEventType || sel.type == SubscriptionType::kTags) {
    // The type and tag indexes hold exactly the matching events, in global order: read those
    // instead of scanning $all (a selective subscription over a large store examines only what
    // it delivers).
    IndexReadOptions o;
    o.from_position = from;
    o.max_count = kBufferedEvents;
    page = sel.type == SubscriptionType::kEventType ? ctx_.store->read_by_event_types(sel.event_types, o)
                                                    : ctx_.store->read_by_tags(sel.tags, sel.tag_match, o);
    if (page) {
      examined_.fetch_add(page->events.size(), std::memory_order_relaxed);
      for (auto& ev : page->events) {
        last_seen = ev.position;
        if (emitter_for_stream(ev.stream_id, n) == index) matched.push_back(std::move(ev));
      }
    }
    // A name the index reader refuses (the selector rules are the looser): scan instead.
    scan = !page && page.code() == ErrorCode::kInvalidArgument;
  }
  if (scan) {
    ReadAllOptions o;
    o.from_position = from;
    o.max_count = kScanPerRead;
    uint64_t seen = 0;
    page = ctx_.store->read_all_refs(o, [&](const EventRef& r) {
      last_seen = r.position;
      ++seen;
      if (emitter_for_stream(r.stream_id, n) == index && matcher_.matches(r)) matched.push_back(to_event(r));
      return matched.size() < kBufferedEvents;
    });
    examined_.fetch_add(seen, std::memory_order_relaxed);
  }
  lock.lock();
  if (!page) {
    spdlog::warn("subscription {}: read failed: {}", subscription_.name, page.status().to_string());
    return false;
  }
  Position next;
  if (!page->end) {
    next = std::max(page->next_position, last_seen + 1);
  } else {
    next = std::max(last_seen + 1, before + 1);  // everything up to `before` was examined
  }
  e.caught_up = page->end;
  for (auto& ev : matched) {
    Position pos = ev.position;
    e.tracker.begin(pos);
    Pending p;
    p.position = pos;
    p.emitter = index;
    p.state = State::kWaiting;
    p.event = std::move(ev);
    add_locked(std::move(p));
  }
  e.tracker.scanned_to(next - 1);
  const bool moved = next != e.cursor;
  e.cursor = next;
  return moved;
}

void EmitterPool::run(size_t index) {
  Emitter& e = *emitters_[index];
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    loop_passes_.fetch_add(1, std::memory_order_relaxed);
    bool progressed = false;
    expire_locked(index, std::chrono::steady_clock::now());
    if (ctx_.leading->load()) progressed |= write_parked_unlocked(index, lock);
    if (stopping_) break;
    if (consumers_.empty() && !progressed) {
      // Nobody to deliver to: read nothing ahead and ignore the live tail until a consumer
      // attaches (generation_ moves). A subscription without consumers — like the default
      // all-events one — then costs no CPU however fast events are appended.
      const uint64_t generation = generation_;
      cv_.wait(lock, [&] { return stopping_ || generation_ != generation; });
      continue;
    }
    progressed |= dispatch_locked(index);
    if (e.waiting.size() < kBufferedEvents / 2 && e.held < kHeldBackEvents && ctx_.leading->load()) {
      progressed |= read_batch_unlocked(index, lock);
      if (stopping_) break;
      progressed |= dispatch_locked(index);
    }
    if (progressed) continue;
    // Idle: sleep until the live tail moves, a consumer acks or attaches, or the next message
    // deadline passes.
    auto wake = std::chrono::steady_clock::now() + kIdleWait;
    if (!e.deadlines.empty()) wake = std::min(wake, e.deadlines.begin()->first);
    const Position after = e.cursor - 1;
    const uint64_t generation = generation_;
    e.tail_moved.store(false);
    lock.unlock();
    std::weak_ptr<EmitterPool> weak = weak_from_this();
    uint64_t wait_id = 0;
    if (e.caught_up) {
      // The callback may run at once on this thread: it must not need mu_ held by us.
      wait_id = ctx_.store->wait_for_position(after, kIdleWait, [weak, index](WaitOutcome) {
        if (auto self = weak.lock()) {
          self->emitters_[index]->tail_moved.store(true);
          { std::lock_guard<std::mutex> l(self->mu_); }
          self->cv_.notify_all();
        }
      });
    }
    lock.lock();
    cv_.wait_until(lock, wake, [&] { return stopping_ || e.tail_moved.load() || generation_ != generation; });
    if (wait_id != 0) {
      lock.unlock();
      ctx_.store->cancel_wait(wait_id);
      lock.lock();
    }
  }
}

}  // namespace reckon::subscriptions_runtime
