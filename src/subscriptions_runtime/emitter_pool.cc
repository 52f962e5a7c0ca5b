#include "subscriptions_runtime/emitter_pool.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <string_view>

#include "subscriptions_runtime/dispatch.h"

namespace reckon::subscriptions_runtime {
namespace {

constexpr size_t kBufferedEvents = 512;  // read ahead per emitter
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
  Consumer c{next_consumer_++, sink, 0, max_in_flight > 0 ? max_in_flight : subscription_.options.max_in_flight};
  c.max_in_flight = std::max<uint32_t>(1, c.max_in_flight);
  consumers_.push_back(c);
  ++generation_;
  cv_.notify_all();
  return c.id;
}

void EmitterPool::detach(uint64_t consumer) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = std::find_if(consumers_.begin(), consumers_.end(), [&](const Consumer& c) { return c.id == consumer; });
    if (it == consumers_.end()) return;
    consumers_.erase(it);
    for (auto& [pos, p] : pending_) {
      if (p.state == State::kInFlight && p.consumer == consumer) {
        // Delivered again (the attempt counts), or parked if that was the last one allowed.
        retry_or_park_locked(p, "consumer left");
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

void EmitterPool::release_consumer_locked(Pending& p) {
  if (p.state != State::kInFlight) return;
  if (Consumer* c = consumer_locked(p.consumer); c && c->in_flight > 0) --c->in_flight;
  p.consumer = 0;
}

void EmitterPool::set_state_locked(Pending& p, State state) {
  Emitter& e = *emitters_[p.emitter];
  if (p.state == State::kWaiting && e.waiting > 0) --e.waiting;
  if (state == State::kWaiting) ++e.waiting;
  p.state = state;
}

void EmitterPool::handled_locked(Position position, bool acked) {
  auto it = pending_.find(position);
  if (it == pending_.end()) return;
  Pending& p = it->second;
  release_consumer_locked(p);
  set_state_locked(p, State::kParking);  // leaves the waiting count
  Emitter& e = *emitters_[p.emitter];
  if (p.replay) {
    e.unpark.push_back(position);
  } else {
    e.tracker.finish(position);
  }
  if (acked && ctx_.observer) ctx_.observer->acked(ctx_.store_id, subscription_.name, 1);
  pending_.erase(it);
}

void EmitterPool::ack(uint64_t, const std::vector<Position>& positions) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    // An ack from any consumer counts: after a timeout the first delivery may still be acked.
    for (Position pos : positions) {
      auto it = pending_.find(pos);
      if (it == pending_.end() || it->second.state == State::kParking) continue;
      handled_locked(pos, true);
    }
    ++generation_;
  }
  cv_.notify_all();
}

void EmitterPool::retry_or_park_locked(Pending& p, const std::string& reason) {
  release_consumer_locked(p);
  if (p.attempts >= subscription_.options.max_retries) {
    p.reason = reason.empty() ? "retry limit reached" : reason + " (retry limit reached)";
    set_state_locked(p, State::kParking);
  } else {
    set_state_locked(p, State::kWaiting);
  }
}

void EmitterPool::nack(uint64_t, const std::vector<Position>& positions, NackAction action,
                       const std::string& reason) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (Position pos : positions) {
      auto it = pending_.find(pos);
      if (it == pending_.end() || it->second.state == State::kParking) continue;
      Pending& p = it->second;
      switch (action) {
        case NackAction::kSkip:
          handled_locked(pos, false);
          break;
        case NackAction::kPark:
          release_consumer_locked(p);
          p.reason = reason.empty() ? "parked by consumer" : reason;
          set_state_locked(p, State::kParking);
          break;
        case NackAction::kRetry:
          retry_or_park_locked(p, reason.empty() ? "nack" : reason);
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
      p.emitter = emitter_for_stream(e.stream_id, emitters_.size());
      p.replay = true;
      p.state = State::kParking;  // set_state_locked below counts it as waiting
      Position pos = e.position;
      p.event = std::move(e);
      auto& slot = pending_.emplace(pos, std::move(p)).first->second;
      set_state_locked(slot, State::kWaiting);
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

bool EmitterPool::send_locked(Pending& p, Position position) {
  std::vector<ConsumerLoad> loads;
  loads.reserve(consumers_.size());
  for (auto& c : consumers_) loads.push_back(ConsumerLoad{c.in_flight, c.max_in_flight});
  auto chosen = pick_consumer(subscription_.options.strategy, loads, p.event.stream_id, round_robin_);
  if (!chosen) return false;
  Consumer& c = consumers_[*chosen];
  ++c.in_flight;
  ++p.attempts;
  p.consumer = c.id;
  p.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(subscription_.options.message_timeout_ms);
  set_state_locked(p, State::kInFlight);
  (void)position;
  c.sink->deliver(p.event, p.attempts);
  if (ctx_.observer) ctx_.observer->delivered(ctx_.store_id, subscription_.name, 1);
  return true;
}

// Hands out this emitter's waiting events in position order. A stream whose next event found
// no consumer is blocked for the rest of the pass, so its later events cannot overtake it.
bool EmitterPool::dispatch_locked(size_t index) {
  if (consumers_.empty() || !ctx_.leading->load()) return false;
  Emitter& e = *emitters_[index];
  if (e.waiting == 0) return false;
  bool sent = false;
  std::set<std::string_view> blocked;
  const bool per_stream = subscription_.options.strategy == DeliveryStrategy::kPinned;
  for (auto& [pos, p] : pending_) {
    if (p.emitter != index || p.state != State::kWaiting) continue;
    if (per_stream && blocked.count(p.event.stream_id)) continue;
    if (p.attempts >= subscription_.options.max_retries) {  // e.g. its consumer left at the limit
      p.reason = "retry limit reached";
      set_state_locked(p, State::kParking);
      continue;
    }
    if (send_locked(p, pos)) {
      sent = true;
      continue;
    }
    if (!per_stream) break;  // every consumer is full
    blocked.insert(p.event.stream_id);
  }
  return sent;
}

void EmitterPool::expire_locked(size_t index, std::chrono::steady_clock::time_point now) {
  for (auto& [pos, p] : pending_) {
    if (p.emitter == index && p.state == State::kInFlight && p.deadline <= now) {
      retry_or_park_locked(p, "message timeout");
    }
  }
}

// Writes this emitter's parked events and unparks its handled replays (replicated commands;
// run without the lock). Returns whether anything was done.
bool EmitterPool::write_parked_unlocked(size_t index, std::unique_lock<std::mutex>& lock) {
  Emitter& e = *emitters_[index];
  std::vector<ParkedEvent> park;
  for (auto& [pos, p] : pending_) {
    if (p.emitter == index && p.state == State::kParking) park.push_back(ParkedEvent{pos, p.reason, p.attempts, 0});
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
    auto it = pending_.find(pe.position);
    if (it == pending_.end()) continue;
    // Durably parked: handled, as far as the checkpoint is concerned.
    if (!it->second.replay) e.tracker.finish(pe.position);
    pending_.erase(it);
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
  std::vector<Event> matched;
  ReadAllOptions o;
  o.from_position = from;
  o.max_count = kScanPerRead;
  Position last_seen = from - 1;
  auto page = ctx_.store->read_all_refs(o, [&](const EventRef& r) {
    last_seen = r.position;
    if (emitter_for_stream(r.stream_id, n) == index && matcher_.matches(r)) matched.push_back(to_event(r));
    return matched.size() < kBufferedEvents;
  });
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
    p.emitter = index;
    p.state = State::kParking;
    p.event = std::move(ev);
    auto& slot = pending_.emplace(pos, std::move(p)).first->second;
    set_state_locked(slot, State::kWaiting);
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
    if (e.waiting < kBufferedEvents / 2 && ctx_.leading->load()) {
      progressed |= read_batch_unlocked(index, lock);
      if (stopping_) break;
      progressed |= dispatch_locked(index);
    }
    if (progressed) continue;
    // Idle: sleep until the live tail moves, a consumer acks or attaches, or the next message
    // deadline passes.
    auto wake = std::chrono::steady_clock::now() + kIdleWait;
    for (auto& [pos, p] : pending_) {
      if (p.emitter == index && p.state == State::kInFlight) wake = std::min(wake, p.deadline);
    }
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
