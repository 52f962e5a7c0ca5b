// EmitterPool: delivery of one persistent subscription on the leader. `pool_size` emitter
// threads each own the streams that hash to them (dispatch.h), scan $all from the checkpoint
// with the subscription's SelectorMatcher, and hand matching events to the attached consumers
// by the subscription's strategy, at most max_in_flight unacknowledged per consumer. An event
// is outstanding until a consumer acks it, nacks it with skip, or it is durably parked (nack
// park, or max_retries deliveries without an ack — a delivery unacknowledged after
// message_timeout_ms counts as a failed one). Each emitter's ContiguousAckTracker gives its
// checkpoint; the pool's is the lowest of them. The leader worker writes it, coalesced.
// At-least-once: nothing at or below the checkpoint is outstanding, and everything above it is
// delivered again after a failover or restart. Per stream, events are handed out in position
// order (one emitter per stream); a retried event is handed out again before newer ones. With
// the subscription's ordering per_stream (the default), an event whose stream already has one
// outstanding is held back until that one is handled (acked, skipped, durably parked), so a
// stream's events — retries included — go out one at a time and in order; ordering none hands
// them out as soon as a consumer has room (docs/SUBSCRIPTIONS.md, "Delivery").
// Idle emitters sleep on the store's live tail (LocalStore::wait_for_position), not a poll.
//
// Thread-safety: every public method may be called from any thread. ConsumerSink callbacks run
// with the pool's mutex held: sinks must not call back into the pool from them.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "reckon/store.h"
#include "subscriptions/selector.h"
#include "subscriptions_runtime/checkpoint_tracker.h"
#include "subscriptions_runtime/delivery_observer.h"

namespace reckon::subscriptions_runtime {

enum class NackAction { kRetry, kSkip, kPark };

// A consumer as the pool sees it (the gRPC Consume call, or a test double).
class ConsumerSink {
 public:
  virtual ~ConsumerSink() = default;
  // One delivery (attempt 1 = first); queue it, do not block.
  virtual void deliver(const Event& event, uint32_t attempt) = 0;
  // The pool stopped serving this consumer: tell it to attach again (at `leader_address` when
  // not empty) and end. No call follows.
  virtual void end(const std::string& leader_address, const std::string& reason) = 0;
};

struct PoolContext {
  LocalStore* store = nullptr;
  std::string store_id;
  DeliveryObserver* observer = nullptr;  // may be null
  // False as soon as this node stops leading: emitters then hand nothing out.
  std::shared_ptr<std::atomic<bool>> leading;
};

class EmitterPool : public std::enable_shared_from_this<EmitterPool> {
 public:
  EmitterPool(Subscription subscription, PoolContext context);
  ~EmitterPool();

  Status start();
  // Stops the emitters (joined on return) and ends every consumer with `leader_address`.
  void stop(const std::string& leader_address, const std::string& reason);

  // Returns the consumer id; max_in_flight 0 = the subscription's setting.
  Result<uint64_t> attach(ConsumerSink* sink, uint32_t max_in_flight);
  // The consumer left: what it had in flight is delivered again (to others, or to it later).
  void detach(uint64_t consumer);
  void ack(uint64_t consumer, const std::vector<Position>& positions);
  void nack(uint64_t consumer, const std::vector<Position>& positions, NackAction action,
            const std::string& reason);
  // Delivers parked events again; each is unparked once handled. Returns how many were queued.
  Result<uint64_t> replay_parked(const std::vector<Position>& positions);

  Position checkpoint();
  const Subscription& subscription() const { return subscription_; }
  size_t consumers();
  // Passes of the emitters' loops since start (diagnostics and tests: an idle pool stays put).
  uint64_t loop_passes() const { return loop_passes_.load(std::memory_order_relaxed); }
  // Events the emitters read from the store to find matching ones: every event of $all for a
  // scanning selector, only the matching ones for an index-served one (event_type, tags).
  uint64_t events_examined() const { return examined_.load(std::memory_order_relaxed); }

 private:
  // kHeld: per_stream ordering only, behind the outstanding event of its stream; not handed
  // out, no consumer's in-flight slot. The other states are "outstanding": to be handed out
  // (first time or again), with a consumer, or being written to the parked list.
  enum class State { kHeld, kWaiting, kInFlight, kParking };
  using SteadyTime = std::chrono::steady_clock::time_point;
  struct Pending {
    Position position = 0;
    size_t emitter = 0;
    Event event;
    uint32_t attempts = 0;
    bool replay = false;  // a parked event delivered again: unparked when handled
    State state = State::kWaiting;
    uint64_t consumer = 0;  // kInFlight: who has it
    SteadyTime deadline{};  // kInFlight: when the delivery counts as failed
    std::string reason;     // why it is being parked
  };
  struct Consumer {
    uint64_t id;
    ConsumerSink* sink;
    uint32_t max_in_flight = 1;
    std::set<Position> in_flight;  // index: what it has unacknowledged
  };
  // Per-stream ordering: the one event of a stream that is outstanding (waiting, in flight or
  // parking) and the stream's events held back behind it, in position order. The stream is
  // released when its outstanding event leaves pending_; the lowest held one then becomes
  // outstanding. A stream with neither has no line.
  struct StreamLine {
    std::optional<Position> outstanding;
    std::set<Position> held;  // index: State::kHeld
  };
  // Every pending event is in pending_ and in exactly one index of its emitter, by state, so an
  // emitter's pass touches only what it can act on: the waiting events (in position order), the
  // deliveries whose deadline passed (in deadline order) and the events to park; never the whole
  // pending map, nor the held-back events.
  struct Emitter {
    explicit Emitter(Position checkpoint) : tracker(checkpoint), cursor(checkpoint + 1) {}
    ContiguousAckTracker tracker;
    Position cursor;                                      // next position to examine
    std::set<Position> waiting;                           // index: State::kWaiting
    std::set<std::pair<SteadyTime, Position>> deadlines;  // index: State::kInFlight
    std::set<Position> parking;                           // index: State::kParking
    std::unordered_map<std::string, StreamLine> lines;    // per_stream ordering, by stream id
    size_t held = 0;                                      // events in State::kHeld
    std::vector<Position> unpark;  // replayed events handled: remove from the parked list
    bool caught_up = false;
    std::atomic<bool> tail_moved{false};
    std::thread thread;
  };

  void run(size_t index);
  bool read_batch_unlocked(size_t index, std::unique_lock<std::mutex>& lock);
  bool dispatch_locked(size_t index);
  void expire_locked(size_t index, SteadyTime now);
  bool write_parked_unlocked(size_t index, std::unique_lock<std::mutex>& lock);
  bool send_locked(Pending& p);
  void handled_locked(Position position, bool acked);
  void retry_or_park_locked(Pending& p, const std::string& reason);
  // The only ways pending_ and its indexes change: add, change state, erase.
  Pending& add_locked(Pending p);
  void set_state_locked(Pending& p, State state);
  void erase_locked(std::map<Position, Pending>::iterator it);
  void index_locked(Pending& p);
  void unindex_locked(Pending& p);
  // Per-stream ordering: `p` leaves pending_; when it was its stream's outstanding event, the
  // next held one of the stream becomes waiting.
  void release_stream_locked(const Pending& p);
  bool per_stream() const { return subscription_.options.ordering == DeliveryOrdering::kPerStream; }
  // Whether `consumer`'s ack or nack of `p` counts: never while `p` is being parked. With
  // per-stream ordering, not while `p` is in flight to another consumer (the answering one's
  // delivery timed out and went out again): acting on it would release the stream, or hand the
  // event out once more, while that consumer still works on it. Its answer, or its timeout,
  // decides.
  bool answer_counts_locked(const Pending& p, uint64_t consumer) const;
  bool any_consumer_has_room_locked() const;
  Consumer* consumer_locked(uint64_t id);

  const Subscription subscription_;
  PoolContext ctx_;
  subscriptions::SelectorMatcher matcher_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool started_ = false;
  std::atomic<uint64_t> loop_passes_{0};
  std::atomic<uint64_t> examined_{0};
  uint64_t generation_ = 0;  // bumped by every consumer action: wakes idle emitters
  std::vector<std::unique_ptr<Emitter>> emitters_;
  std::map<Position, Pending> pending_;  // every outstanding event, by position
  std::vector<Consumer> consumers_;      // attach order
  uint64_t next_consumer_ = 1;
  uint64_t round_robin_ = 0;
};

}  // namespace reckon::subscriptions_runtime
