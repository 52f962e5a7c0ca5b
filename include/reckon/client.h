// reckon::Client — the C++ client of a reckond server (native gRPC API reckon.v1).
//
// A Client is a reckon::Store: the same calls, the same results and error codes, over the
// network. It connects to one or several endpoints, follows NotLeader answers to the leader,
// and retries with exponential backoff only where it is safe: reads, and appends whose events
// all carry ids (the client gives every event without an id a UUIDv7 before the first try, so
// a retried append is an idempotent retry on the server).
//
// Thread-safety: all methods may be called from any number of threads at once.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "reckon/store.h"

namespace reckon {

struct ClientOptions {
  std::vector<std::string> endpoints = {"127.0.0.1:2113"};  // host:port of any members
  std::string store;                                         // empty = the server's default
  int64_t timeout_ms = 10'000;                               // deadline of each call
  int max_attempts = 6;             // per call, over endpoints and leader redirects
  int64_t initial_backoff_ms = 25;  // doubled after each failed attempt
  int64_t max_backoff_ms = 1'000;
  bool require_leader_reads = false;  // reads see the leader's up-to-date view
  // append_multi_async sends over one multiplexed AppendSession call instead of one unary
  // call per append: much cheaper per append for many concurrent appends. Asynchronous
  // appends (either way) follow a NotLeader that names the leader, but do not retry otherwise
  // and do not wait out an election (the blocking calls do). Destroying the client waits for
  // the callbacks of asynchronous appends: never destroy it from inside one.
  bool multiplex_appends = false;
};

struct ClusterMember {
  uint64_t node_id = 0;
  std::string address;       // client (gRPC) address
  std::string raft_address;
  std::string role;          // leader | follower | candidate | spare | unknown
  bool voter = true;
  // Replication progress, known on the leader only (nullopt in a follower's answer).
  std::optional<uint64_t> match_index;
  std::optional<uint64_t> lag;
};

struct ClusterStatus {
  uint64_t node_id = 0;
  std::string role;
  uint64_t leader_id = 0;
  std::string leader;  // leader's client address
  uint64_t term = 0;
  std::vector<ClusterMember> members;
  uint64_t applied_index = 0;
  uint64_t commit_index = 0;
  std::string store;
  std::string mode;  // single | cluster
  Position last_position = 0;
  bool is_active = false;  // this node runs the persistent-subscription emitter pools
  uint64_t digest = 0;  // of the applied state: replicas at one applied_index hold the same
  // Failed Raft log writes on this node, and the last one's error while none succeeded since
  // (empty when healthy): it stores no new entries until restarted with the fault removed.
  uint64_t log_write_failures = 0;
  std::string log_write_error;
};

// A persistent subscription consumer (the server keeps the checkpoint). consume() attaches to
// the leader, and when the leader changes (or the subscription is restarted) attaches again —
// to the new leader when the server names it, else over the configured endpoints in turn.
// Stops a running consume() from another thread (consume() then returns Ok).
class ConsumeStopper {
 public:
  void stop() {
    // Under the lock: the consume() that set the canceller cannot end (and unset it) meanwhile.
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    if (canceller_) canceller_();
  }
  bool stopped() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stopped_;
  }
  // Used by the client: how to break the consume() in progress.
  void set_canceller(std::function<void()> c) {
    std::lock_guard<std::mutex> lock(mu_);
    canceller_ = std::move(c);
    if (stopped_ && canceller_) canceller_();
  }

 private:
  mutable std::mutex mu_;
  bool stopped_ = false;
  std::function<void()> canceller_;
};

enum class ConsumeAction : int;

// Answers given outside the handler, from any thread, while consume() runs: the handler returned
// kLeave for an event and its answer comes later (`reckon consume --ack manual` reads them from
// stdin). An answer goes to the attachment current when it is given; with none (between a
// failover and the re-attach) answer() returns false and the event comes back after its message
// timeout.
class ConsumeAnswers {
 public:
  // kAck, kRetry, kSkip or kPark for the event at `position`.
  bool answer(Position position, ConsumeAction action) {
    std::lock_guard<std::mutex> lock(mu_);  // the consume() that set the sink cannot end meanwhile
    if (!sink_) return false;
    sink_(position, action);
    return true;
  }
  // Used by the client: where answers go (empty: nowhere).
  void set_sink(std::function<void(Position, ConsumeAction)> sink) {
    std::lock_guard<std::mutex> lock(mu_);
    sink_ = std::move(sink);
  }

 private:
  std::mutex mu_;
  std::function<void(Position, ConsumeAction)> sink_;
};

struct ConsumeOptions {
  std::shared_ptr<ConsumeStopper> stopper;  // optional
  std::shared_ptr<ConsumeAnswers> answers;  // optional: answers given outside the handler
  uint32_t max_in_flight = 0;        // unacknowledged events at once; 0 = the subscription's
  int max_reattach_attempts = 30;    // consecutive failed attaches before consume() gives up
  // consume() returns Timeout once this passes (tests, batch jobs); default: never.
  std::chrono::system_clock::time_point deadline = std::chrono::system_clock::time_point::max();
};

struct DeliveredEvent {
  Event event;
  uint32_t attempt = 1;  // 1 = first delivery
  std::string subscription_key;
};

// What the handler does with a delivered event. Under the subscription's default ordering
// (per_stream), no later event of the event's stream is delivered to any consumer until it is
// acked, skipped or parked: kRetry and kLeave hold its stream back until the redelivery is
// answered.
enum class ConsumeAction {
  kAck,    // handled
  kRetry,  // nack: deliver again (parked after max_retries deliveries)
  kSkip,   // nack: never deliver again, do not park
  kPark,   // nack: park now (listable, replayable)
  kLeave,  // no answer now: redelivered after the message timeout
  kStop,   // leave it unanswered and stop consuming (consume() returns Ok)
};

// A catch-up subscription: the client keeps the position; the server sends history, then
// "caught up", then live events as they are acknowledged. Starts are exclusive.
struct SubscribeOptions {
  std::string stream_id;  // empty = $all
  enum class Start { kBeginning, kEnd, kAfter } start = Start::kBeginning;
  Position after_position = 0;  // $all, with kAfter
  int64_t after_version = -1;   // stream, with kAfter
  EventFilter filter;           // $all only
};

struct SubscriptionMessage {
  enum class Kind { kConfirmed, kEvent, kCaughtUp, kCheckpoint } kind = Kind::kConfirmed;
  Event event;              // kEvent
  Position position = 0;    // $all: everything up to here delivered or filtered out
  int64_t version = -1;     // stream: everything up to here delivered
};

class Client : public Store {
 public:
  static Result<std::unique_ptr<Client>> connect(const ClientOptions& options);

  virtual Result<ClusterStatus> cluster_status() = 0;
  virtual Result<std::vector<std::string>> list_stores() = 0;

  // ---- Membership (cluster mode; run by the leader, NotLeader answers are followed) ----
  // None of these may be blindly retried: after a lost answer a second AddMember fails with
  // AlreadyExists, a second RemoveMember with NotFound, and a second transfer may move the
  // leadership again. A call is therefore re-sent only when the server certainly did not run
  // it: after NotLeader, and when no connection to the endpoint could be made (nothing was
  // sent). Any other failure (Unavailable after sending, Timeout) is returned as it is: look
  // at cluster_status() before trying again.
  //
  // Adds node `node_id` (started with --join) at its Raft address; it replicates without
  // voting until promoted.
  virtual Status add_member(uint64_t node_id, const std::string& raft_address) = 0;
  virtual Status promote_member(uint64_t node_id) = 0;  // makes a member a voter
  virtual Status remove_member(uint64_t node_id) = 0;
  virtual Status transfer_leadership(uint64_t node_id) = 0;  // 0 = the most up-to-date voter

  // Streams a stream read to `visitor` batch by batch (nothing is buffered beyond one batch);
  // max_count 0 = to the end. The visitor returns false to stop.
  virtual Status read_streaming(const std::string& stream_id, const ReadStreamOptions& options,
                                const std::function<bool(const Event&)>& visitor) = 0;
  // Same for $all with filters.
  virtual Status read_all_streaming(const ReadAllOptions& options,
                                    const std::function<bool(const Event&)>& visitor) = 0;

  // Runs a catch-up subscription until `handler` returns false (Ok) or the subscription fails
  // (the server shut down, the stream was deleted, the connection broke). No automatic
  // reconnect: resume with kAfter from the last position/version the handler saw.
  virtual Status subscribe(const SubscribeOptions& options,
                           const std::function<bool(const SubscriptionMessage&)>& handler) = 0;

  // Consumes the persistent subscription `name_or_key` until `handler` returns kStop (Ok),
  // the subscription is deleted (NotFound), or no node accepts the attach any more.
  virtual Status consume(const std::string& name_or_key, const ConsumeOptions& options,
                         const std::function<ConsumeAction(const DeliveredEvent&)>& handler) = 0;
  // Persistent subscriptions by name (reckon::Store names them by key).
  virtual Result<Subscription> get_subscription_by_name(const std::string& name) = 0;
  // Delivers parked events again (all when `positions` is empty); returns how many.
  virtual Result<uint64_t> replay_parked(const std::string& key, const std::vector<Position>& positions) = 0;

  // The endpoint the client currently talks to.
  virtual std::string current_endpoint() const = 0;
};

}  // namespace reckon
