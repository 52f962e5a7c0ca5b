#include "consensus/raft_node.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "consensus/libraft.h"
#include "consensus/nodelay_transport.h"
#include "consensus/raft_errors.h"
#include "consensus/replica_core.h"
#include "consensus/segment_prefill.h"

namespace reckon::consensus {

namespace {

// Bounds one raft_apply (and so one log write and one AppendEntries message).
constexpr size_t kMaxCommandsPerRequest = 256;

// A unit of work handed to the loop thread: a command to propose, or a task to run.
struct QueueItem {
  std::string command;
  RaftNode::SubmitDone done;
  std::function<void()> task;
};

struct Subscriber {
  uint64_t id = 0;
  RaftNode::LeadershipCallback callback;
  bool active = true;
};

Status uv_status(int rv, std::string_view what) {
  return Status::io_error(std::string(what) + ": " + uv_strerror(rv));
}

// libuv writes to sockets with write(2); a peer closing its end would raise SIGPIPE and kill
// the process. Ignore it unless the embedding program installed its own handler.
void ignore_sigpipe_if_default() {
  struct sigaction current {};
  if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
    signal(SIGPIPE, SIG_IGN);
  }
}

Status validate(const RaftOptions& o) {
  if (o.node_id == 0) return Status::invalid_argument("raft: node_id must be > 0");
  if (o.address.empty()) return Status::invalid_argument("raft: address is required");
  if (o.data_dir.empty()) return Status::invalid_argument("raft: data_dir is required");
  if (o.election_timeout.count() <= 0 || o.heartbeat_timeout.count() <= 0 ||
      o.heartbeat_timeout >= o.election_timeout) {
    return Status::invalid_argument("raft: need 0 < heartbeat_timeout < election_timeout");
  }
  if (!o.initial_members.empty()) {
    auto self = o.initial_members.find(o.node_id);
    if (self == o.initial_members.end()) {
      return Status::invalid_argument("raft: initial_members does not contain node " +
                                      std::to_string(o.node_id));
    }
    if (self->second != o.address) {
      return Status::invalid_argument("raft: initial_members gives node " +
                                      std::to_string(o.node_id) + " address '" + self->second +
                                      "', but its address is '" + o.address + "'");
    }
    for (const auto& [id, address] : o.initial_members) {
      if (id == 0 || address.empty()) {
        return Status::invalid_argument("raft: initial_members needs ids > 0 and addresses");
      }
    }
  }
  return Status::ok();
}

}  // namespace

// The state machine's background writes (LoopOffload) on libuv's thread pool: the work runs on
// a pool thread, the continuation on the loop thread, whose check phase then settles the core.
class UvOffload final : public LoopOffload {
 public:
  UvOffload(uv_loop_t* loop, std::function<void(std::function<void()>)> after_next_poll)
      : loop_(loop), after_next_poll_(std::move(after_next_poll)) {}

  void after_next_poll(std::function<void()> fn) override { after_next_poll_(std::move(fn)); }

  void run(std::function<void()> work, std::function<void()> then_on_loop) override {
    auto* job = new Job{{}, std::move(work), std::move(then_on_loop)};
    job->req.data = job;
    if (uv_queue_work(loop_, &job->req, &UvOffload::on_work, &UvOffload::on_done) != 0) {
      // Only possible with null callbacks; keep the promise anyway.
      std::unique_ptr<Job> owned(job);
      owned->work();
      owned->then();
    }
  }

 private:
  struct Job {
    uv_work_t req;
    std::function<void()> work;
    std::function<void()> then;
  };
  static void on_work(uv_work_t* req) { static_cast<Job*>(req->data)->work(); }
  static void on_done(uv_work_t* req, int /*status: never cancelled*/) {
    std::unique_ptr<Job> job(static_cast<Job*>(req->data));
    job->then();
  }

  uv_loop_t* loop_;
  std::function<void(std::function<void()>)> after_next_poll_;
};

struct RaftNode::Loop {
  Loop(const RaftOptions& o, ReplicatedStateMachine& machine) : options(o), core(machine) {}

  // --- set up by start(), then owned by the loop thread -----------------------------------
  RaftOptions options;
  ReplicaCore core;
  uv_loop_t loop{};
  struct raft_uv_transport transport {};
  NoDelayHooks nodelay;
  struct raft_io io {};
  struct raft raft {};
  uv_async_t wake{};
  uv_prepare_t prepare{};
  uv_check_t check{};
  uv_timer_t stop_timer{};
  uv_timer_t defer_timer{};  // runs `deferred` on the next loop turn
  UvOffload offload{&loop, [this](std::function<void()> fn) { defer_past_poll(std::move(fn)); }};
  std::function<void()> deferred;
  // after_next_poll(): functions run in the check phase once a poll has happened since they
  // were queued; the idle handle keeps that poll from blocking meanwhile.
  uv_idle_t poll_idle{};
  std::vector<std::function<void()>> after_poll;
  uint64_t polls = 0;             // check phases so far (each follows a poll)
  uint64_t after_poll_since = 0;  // `polls` when `after_poll` was first filled
  bool loop_ready = false, transport_ready = false, io_ready = false, raft_ready = false,
       handles_ready = false;

  // --- loop thread only -------------------------------------------------------------------
  bool shutting_down = false;  // shutdown sequence started
  bool raft_closing = false;   // raft_close() called

  // --- shared, guarded by mu --------------------------------------------------------------
  std::mutex mu;
  std::vector<QueueItem> queue;
  bool stopping = false;  // no more work accepted; `wake` may be closed
  std::atomic<size_t> pending_commands{0};

  // --- subscribers, guarded by subscribers_mu (recursive: callbacks may (un)subscribe) ---
  std::recursive_mutex subscribers_mu;
  std::vector<std::shared_ptr<Subscriber>> subscribers;
  LeadershipEvent last_event;
  uint64_t next_subscription = 1;

  // --- lifecycle --------------------------------------------------------------------------
  std::thread thread;
  std::atomic<std::thread::id> loop_thread_id{};
  std::mutex stop_mu;
  bool joined = false;
  Status close_status;

  bool on_loop_thread() const { return loop_thread_id.load() == std::this_thread::get_id(); }

  // Queues work for the loop, moving from `item`; false (and `item` untouched) once the node
  // is stopping.
  bool post(QueueItem& item) {
    std::lock_guard<std::mutex> lock(mu);
    if (stopping) return false;
    queue.push_back(std::move(item));
    uv_async_send(&wake);  // under mu: `wake` is closed only after `stopping` is set
    return true;
  }

  bool post_task(std::function<void()> task) {
    QueueItem item;
    item.task = std::move(task);
    return post(item);
  }

  void publish(const LeadershipEvent& event) {
    std::lock_guard<std::recursive_mutex> lock(subscribers_mu);
    last_event = event;
    auto snapshot = subscribers;  // callbacks may unsubscribe (and so edit the vector)
    for (auto& s : snapshot) {
      if (s->active) s->callback(event);
    }
  }

  void settle() {
    auto event = core.settle();
    if (event) publish(*event);
  }

  // --- libuv callbacks --------------------------------------------------------------------
  static void on_wake(uv_async_t* handle) { static_cast<Loop*>(handle->data)->drain(); }
  static void on_prepare(uv_prepare_t* handle) { static_cast<Loop*>(handle->data)->settle(); }
  static void on_check(uv_check_t* handle) {
    auto* self = static_cast<Loop*>(handle->data);
    self->polls++;
    self->run_after_poll();
    self->settle();
  }
  static void on_poll_idle(uv_idle_t*) {}  // being active is its job: the poll does not block

  void defer_past_poll(std::function<void()> fn) {
    if (after_poll.empty()) {
      after_poll_since = polls;
      uv_idle_start(&poll_idle, &Loop::on_poll_idle);
    }
    after_poll.push_back(std::move(fn));
  }
  void run_after_poll() {
    if (after_poll.empty() || polls == after_poll_since) return;
    uv_idle_stop(&poll_idle);
    auto fns = std::move(after_poll);
    after_poll.clear();
    for (auto& fn : fns) fn();
  }
  static void on_stop_timer(uv_timer_t* handle) { static_cast<Loop*>(handle->data)->close_raft(); }
  static void on_raft_closed(struct raft* r) { static_cast<Loop*>(r->data)->after_raft_closed(); }
  static void on_defer_timer(uv_timer_t* handle) {
    auto* self = static_cast<Loop*>(handle->data);
    auto fn = std::move(self->deferred);
    self->deferred = nullptr;
    if (fn) fn();
  }

  void drain() {
    std::vector<QueueItem> items;
    bool stop_requested;
    {
      std::lock_guard<std::mutex> lock(mu);
      items.swap(queue);
      stop_requested = stopping;
    }
    // Consecutive commands go to libraft as one request: one disk write and one AppendEntries
    // message per follower for all of them. A task flushes them first, so it runs after them.
    std::vector<Proposer::Proposal> proposals;
    auto flush = [&] {
      if (proposals.empty()) return;
      core.proposer().propose_all(proposals);
      proposals.clear();
    };
    for (auto& item : items) {
      if (item.task) {
        flush();
        item.task();
      } else if (shutting_down) {
        item.done(Status::unavailable("raft node is stopping"));
      } else {
        proposals.push_back({item.command, std::move(item.done)});
        if (proposals.size() == kMaxCommandsPerRequest) flush();
      }
    }
    flush();
    if (stop_requested && !shutting_down) begin_shutdown();
  }

  void begin_shutdown() {
    shutting_down = true;
    if (options.transfer_leadership_on_stop && raft_state(&raft) == RAFT_LEADER &&
        has_other_voter()) {
      core.proposer().transfer_leadership(0, [this](const Status&) { close_raft(); });
      // libraft calls the transfer back within an election timeout; this only guards against
      // it never doing so.
      uv_timer_start(&stop_timer, &Loop::on_stop_timer,
                     2 * static_cast<uint64_t>(options.election_timeout.count()) + 100, 0);
      return;
    }
    close_raft();
  }

  bool has_other_voter() const {
    for (unsigned i = 0; i < raft.configuration.n; i++) {
      const auto& s = raft.configuration.servers[i];
      if (s.id != raft.id && s.role == RAFT_VOTER) return true;
    }
    return false;
  }

  void close_raft() {
    if (raft_closing) return;
    raft_closing = true;
    uv_timer_stop(&stop_timer);
    raft_close(&raft, &Loop::on_raft_closed);
  }

  // libraft has released its I/O: tear down the backend and our handles; uv_run() then
  // returns once every handle has finished closing.
  void after_raft_closed() {
    raft_uv_close(&io);
    raft_uv_tcp_close(&transport);
    close_handles();
  }

  void close_handles() {
    if (!handles_ready) return;
    handles_ready = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&wake), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&prepare), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&check), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&stop_timer), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&defer_timer), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&poll_idle), nullptr);
  }

  // Releases everything start() set up when start() fails (loop thread not running).
  void abort_start() {
    {
      std::lock_guard<std::mutex> lock(mu);
      stopping = true;
    }
    if (raft_ready) {
      raft_closing = true;
      raft_close(&raft, &Loop::on_raft_closed);
    } else {
      if (io_ready) raft_uv_close(&io);
      if (transport_ready) raft_uv_tcp_close(&transport);
      close_handles();
    }
    if (loop_ready) {
      uv_run(&loop, UV_RUN_DEFAULT);
      core.closed(Status::unavailable("raft node failed to start"));
      uv_loop_close(&loop);
    }
  }

  void run() {
    loop_thread_id.store(std::this_thread::get_id());
    pthread_setname_np(pthread_self(), "raft-loop");  // for top -H, perf and gdb
    uv_run(&loop, UV_RUN_DEFAULT);
    // libraft and every handle are closed. Complete whatever never got an answer.
    std::vector<QueueItem> leftovers;
    {
      std::lock_guard<std::mutex> lock(mu);
      leftovers.swap(queue);
    }
    for (auto& item : leftovers) {
      if (item.task) {
        item.task();
      } else {
        item.done(Status::unavailable("raft node stopped"));
      }
    }
    auto event = core.closed(Status::unavailable("raft node stopped"));
    if (event) publish(*event);
    int rv = uv_loop_close(&loop);
    if (rv != 0) close_status = Status::internal(std::string("uv_loop_close: ") + uv_strerror(rv));
  }

  Status init_and_start() {
    const RaftOptions& o = options;
    std::error_code ec;
    std::filesystem::create_directories(o.data_dir, ec);
    if (ec) return Status::io_error("raft: cannot create " + o.data_dir + ": " + ec.message());
    ignore_sigpipe_if_default();

    int rv = uv_loop_init(&loop);
    if (rv != 0) return uv_status(rv, "uv_loop_init");
    loop_ready = true;
    loop.data = this;

    uv_async_init(&loop, &wake, &Loop::on_wake);
    uv_prepare_init(&loop, &prepare);
    uv_check_init(&loop, &check);
    uv_timer_init(&loop, &stop_timer);
    uv_timer_init(&loop, &defer_timer);
    uv_idle_init(&loop, &poll_idle);
    wake.data = prepare.data = check.data = stop_timer.data = defer_timer.data = poll_idle.data = this;
    handles_ready = true;
    core.io_guard().set_deferrer([this](std::function<void()> fn) {
      deferred = std::move(fn);
      uv_timer_start(&defer_timer, &Loop::on_defer_timer, 0, 0);
    });

    rv = raft_uv_tcp_init(&transport, &loop);
    if (rv != 0) return raft_error_status(rv, "raft_uv_tcp_init", transport.errmsg);
    transport_ready = true;
    nodelay.install(&transport);  // Nagle off on peer connections: see nodelay_transport.h

    register_segment_dir(o.data_dir);  // zero-filled segments: see segment_prefill.h
    rv = raft_uv_init(&io, &loop, o.data_dir.c_str(), &transport);
    if (rv != 0) return raft_error_status(rv, "raft_uv_init", io.errmsg);
    io_ready = true;
    raft_uv_set_connect_retry_delay(&io, static_cast<unsigned>(o.connect_retry_delay.count()));
    // libraft's "auto recovery" renames a corrupt segment (and every later one) to corrupt-*
    // and starts without them: the node forgets entries it stored and acknowledged, and votes
    // as if it never had them. Refuse to start instead (RAFT_CORRUPT names the segment); the
    // operator restores the segment or replaces the node (docs/CONSENSUS.md, quirk 14).
    raft_uv_set_auto_recovery(&io, false);

    rv = raft_init(&raft, core.guard_io(&io), core.raft_fsm(), o.node_id, o.address.c_str());
    if (rv != 0) {
      // raft_init failed: libraft has not taken the io (it closes nothing of ours).
      return raft_error_status(rv, "raft_init", raft_errmsg(&raft));
    }
    raft_ready = true;
    raft.data = this;
    core.attach(&raft);
    core.fsm().make_snapshots_durable_off_the_loop();  // libuv's async_work: its thread pool
    core.fsm().machine().set_offload(&offload);  // closed() takes it back

    raft_set_election_timeout(&raft, static_cast<unsigned>(o.election_timeout.count()));
    raft_set_heartbeat_timeout(&raft, static_cast<unsigned>(o.heartbeat_timeout.count()));
    raft_set_pre_vote(&raft, o.pre_vote);
    raft_set_snapshot_threshold(&raft, o.snapshot_threshold);
    raft_set_snapshot_trailing(&raft, o.snapshot_trailing);
    raft_set_install_snapshot_timeout(&raft,
                                      static_cast<unsigned>(o.install_snapshot_timeout.count()));

    if (!o.initial_members.empty()) {
      struct raft_configuration conf;
      raft_configuration_init(&conf);
      for (const auto& [id, address] : o.initial_members) {
        rv = raft_configuration_add(&conf, id, address.c_str(), RAFT_VOTER);
        if (rv != 0) {
          raft_configuration_close(&conf);
          return raft_error_status(rv, "raft_configuration_add");
        }
      }
      // Succeeds only on a pristine data dir: the first start of an initial member. Every
      // later start finds state and gets RAFT_CANTBOOTSTRAP, which is the expected case.
      rv = raft_bootstrap(&raft, &conf);
      raft_configuration_close(&conf);
      if (rv != 0 && rv != RAFT_CANTBOOTSTRAP) {
        return raft_error_status(rv, "raft_bootstrap", raft_errmsg(&raft));
      }
    }

    rv = raft_start(&raft);
    if (rv != 0) {
      // libraft leaves the backend's explanation in the io's or the transport's errmsg.
      std::string detail = raft_errmsg(&raft);
      for (const char* more :
           {static_cast<const char*>(io.errmsg), static_cast<const char*>(transport.errmsg)}) {
        if (more[0] != '\0' && detail.find(more) == std::string::npos) {
          detail += detail.empty() ? more : std::string("; ") + more;
        }
      }
      // libraft 0.15 often leaves all of them empty (a taken port reads "I/O error").
      if (!detail.empty()) detail += "; ";
      detail += "listening on " + o.address + ", log in " + o.data_dir;
      return raft_error_status(rv, "raft_start", detail);
    }

    // From here on libraft is only touched on the loop thread; its first turn settles the
    // initial state (follower, or leader of a one-voter group).
    uv_prepare_start(&prepare, &Loop::on_prepare);
    uv_check_start(&check, &Loop::on_check);
    return Status::ok();
  }
};

RaftNode::RaftNode(std::unique_ptr<Loop> loop) : loop_(std::move(loop)) {}

Result<std::unique_ptr<RaftNode>> RaftNode::start(const RaftOptions& options,
                                                  ReplicatedStateMachine& machine) {
  RECKON_RETURN_IF_ERROR(validate(options));
  auto loop = std::make_unique<Loop>(options, machine);
  Status st = loop->init_and_start();
  if (!st.is_ok()) {
    loop->abort_start();
    return st;
  }
  Loop* raw = loop.get();
  raw->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<RaftNode>(new RaftNode(std::move(loop)));
}

RaftNode::~RaftNode() {
  if (loop_ == nullptr) return;
  if (loop_->on_loop_thread()) {
    std::fprintf(stderr, "reckon: RaftNode destroyed on its own loop thread\n");
    std::abort();
  }
  (void)stop();
}

void RaftNode::submit(std::string command, SubmitDone done) {
  Loop& l = *loop_;
  if (command.size() > l.options.max_command_bytes) {
    done(Status::limit_exceeded("command of " + std::to_string(command.size()) +
                                " bytes exceeds the raft entry limit of " +
                                std::to_string(l.options.max_command_bytes)));
    return;
  }
  if (l.pending_commands.fetch_add(1) >= l.options.max_pending_commands) {
    l.pending_commands.fetch_sub(1);
    done(Status::unavailable("too many commands in flight"));
    return;
  }
  QueueItem item;
  item.command = std::move(command);
  item.done = [&l, done = std::move(done)](Result<std::shared_ptr<void>> result) {
    l.pending_commands.fetch_sub(1);
    done(std::move(result));
  };
  if (!l.post(item)) item.done(Status::unavailable("raft node is stopped"));
}

void RaftNode::barrier(Done done) {
  Loop& l = *loop_;
  auto shared = std::make_shared<Done>(std::move(done));
  if (!l.post_task([&l, shared] { l.core.proposer().barrier(std::move(*shared)); })) {
    (*shared)(Status::unavailable("raft node is stopped"));
  }
}

void RaftNode::transfer_leadership(uint64_t id, Done done) {
  Loop& l = *loop_;
  auto shared = std::make_shared<Done>(std::move(done));
  if (!l.post_task(
          [&l, shared, id] { l.core.proposer().transfer_leadership(id, std::move(*shared)); })) {
    (*shared)(Status::unavailable("raft node is stopped"));
  }
}

void RaftNode::add_member(uint64_t id, std::string address, Done done) {
  Loop& l = *loop_;
  auto shared = std::make_shared<Done>(std::move(done));
  if (!l.post_task([&l, shared, id, address = std::move(address)] {
        l.core.proposer().add_member(id, address, std::move(*shared));
      })) {
    (*shared)(Status::unavailable("raft node is stopped"));
  }
}

void RaftNode::assign_role(uint64_t id, MemberRole role, Done done) {
  Loop& l = *loop_;
  auto shared = std::make_shared<Done>(std::move(done));
  if (!l.post_task([&l, shared, id, role] {
        l.core.proposer().assign_role(id, role, std::move(*shared));
      })) {
    (*shared)(Status::unavailable("raft node is stopped"));
  }
}

void RaftNode::remove_member(uint64_t id, Done done) {
  Loop& l = *loop_;
  auto shared = std::make_shared<Done>(std::move(done));
  if (!l.post_task([&l, shared, id] { l.core.proposer().remove_member(id, std::move(*shared)); })) {
    (*shared)(Status::unavailable("raft node is stopped"));
  }
}

uint64_t RaftNode::subscribe(LeadershipCallback callback) {
  Loop& l = *loop_;
  std::lock_guard<std::recursive_mutex> lock(l.subscribers_mu);
  auto s = std::make_shared<Subscriber>();
  s->id = l.next_subscription++;
  s->callback = std::move(callback);
  l.subscribers.push_back(s);
  // Under the lock: the loop cannot publish a newer event before this one is delivered.
  s->callback(l.last_event);
  return s->id;
}

void RaftNode::unsubscribe(uint64_t subscription) {
  Loop& l = *loop_;
  // Taking the lock waits out a publish in progress on the loop thread; from the loop thread
  // itself (inside a callback) the recursive mutex lets it through and the active flag stops
  // the rest of that publish.
  std::lock_guard<std::recursive_mutex> lock(l.subscribers_mu);
  for (auto it = l.subscribers.begin(); it != l.subscribers.end(); ++it) {
    if ((*it)->id == subscription) {
      (*it)->active = false;
      l.subscribers.erase(it);
      return;
    }
  }
}

NodeStatus RaftNode::status() const {
  Loop& l = *loop_;
  if (l.on_loop_thread()) return l.core.status();
  auto promise = std::make_shared<std::promise<NodeStatus>>();
  auto future = promise->get_future();
  if (!l.post_task([&l, promise] { promise->set_value(l.core.status()); })) {
    NodeStatus s;
    s.id = l.options.node_id;
    s.address = l.options.address;
    return s;
  }
  return future.get();
}

Status RaftNode::stop() {
  Loop& l = *loop_;
  if (l.on_loop_thread()) {
    return Status::internal("RaftNode::stop() called on its own loop thread");
  }
  std::lock_guard<std::mutex> stop_lock(l.stop_mu);
  if (l.joined) return l.close_status;
  {
    std::lock_guard<std::mutex> lock(l.mu);
    if (!l.stopping) {
      l.stopping = true;
      uv_async_send(&l.wake);
    }
  }
  l.thread.join();
  l.joined = true;
  return l.close_status;
}

uint64_t RaftNode::id() const { return loop_->options.node_id; }
const std::string& RaftNode::address() const { return loop_->options.address; }
bool RaftNode::on_loop_thread() const { return loop_->on_loop_thread(); }

}  // namespace reckon::consensus
