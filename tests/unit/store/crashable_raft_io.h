// CrashableRaftIo: a raft_io between libraft's fixture stub (raft/fixture.h) and one simulated
// server, keeping what that server's disk would hold — term, vote, the last snapshot and the
// log — so the server can crash and restart from it. libraft's fixture cannot do that itself:
// raft_fixture_kill only freezes a server (its whole in-memory instance survives), and its
// in-memory "disk" mis-indexes its entries once a snapshot was installed.
//
// The model follows libraft's libuv backend: set_term and set_vote are durable when they
// return; appends, truncations and snapshot puts take effect on disk in the order libraft
// issued them, and each completes after the fixture's disk latency (a timer in the stub's
// queue, so the fixture's clock and step order stay in charge). A snapshot put drops the log
// entries older than `trailing` before its index (all of them for an installed snapshot).
//
// crash() is a power cut under a running instance: of the writes still in flight, a random
// prefix reached the disk and the rest is lost; libraft is closed without learning anything
// more (in-flight appends complete — libraft discards them while closing — everything else is
// cancelled). The next raft_init()/raft_start() on the same raft struct loads the durable
// state: the local snapshot is restored into the state machine, the log above it replays.
//
// Everything handed to the stub is memory of this object (messages are copied), so nothing in
// the stub's queues points into a closed instance; completions of requests issued before a
// crash are dropped when they fire.
//
// Threading: the simulation's thread only.
#pragma once

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "consensus/libraft.h"

namespace reckon::store::testing {

class CrashableRaftIo {
 public:
  struct Entry {
    raft_term term = 0;
    unsigned short type = 0;
    std::string data;
  };
  struct Server {
    raft_id id = 0;
    std::string address;
    int role = 0;
  };
  struct Snapshot {
    raft_index index = 0;
    raft_term term = 0;
    std::vector<Server> conf;
    raft_index conf_index = 0;
    std::string data;
  };
  // What the disk holds.
  struct Durable {
    raft_term term = 0;
    raft_id vote = 0;
    bool has_snapshot = false;
    Snapshot snapshot;
    raft_index start = 1;  // index of entries[0]
    std::vector<Entry> entries;
  };

  explicit CrashableRaftIo(struct raft_io* stub) : stub_(stub) {
    stub_->data = this;  // the stub hands its io back to our callbacks; libraft never reads it
    std::memset(&outer_, 0, sizeof outer_);
    outer_.version = stub->version;
    outer_.impl = this;
    outer_.init = &CrashableRaftIo::init;
    outer_.close = &CrashableRaftIo::close;
    outer_.load = &CrashableRaftIo::load;
    outer_.start = &CrashableRaftIo::start;
    outer_.bootstrap = &CrashableRaftIo::bootstrap;
    outer_.recover = &CrashableRaftIo::recover;
    outer_.set_term = &CrashableRaftIo::set_term;
    outer_.set_vote = &CrashableRaftIo::set_vote;
    outer_.send = &CrashableRaftIo::send;
    outer_.append = &CrashableRaftIo::append;
    outer_.truncate = &CrashableRaftIo::truncate;
    outer_.snapshot_put = &CrashableRaftIo::snapshot_put;
    outer_.snapshot_get = &CrashableRaftIo::snapshot_get;
    outer_.time = &CrashableRaftIo::time;
    outer_.random = &CrashableRaftIo::random;
    outer_.async_work =
        nullptr;  // only for asynchronous FSM snapshots, which FsmAdapter never asks
  }
  // Only after raft_fixture_close(): the stub may still fire requests until then.
  ~CrashableRaftIo() {
    for (auto& [seq, op] : ops_) delete op;
  }
  CrashableRaftIo(const CrashableRaftIo&) = delete;
  CrashableRaftIo& operator=(const CrashableRaftIo&) = delete;

  // Puts this layer under an instance raft_fixture_grow() initialised on the stub (before
  // ReplicaCore::attach, which puts GuardedIo on top).
  void install(struct raft* r) {
    outer_.data = r;  // what raft_init() would have set
    r->io = &outer_;
  }
  // For a restart: the io to wrap in the new GuardedIo and hand to raft_init().
  struct raft_io* io() {
    return &outer_;
  }

  // A power cut under the started instance `r`. `rng` draws how many in-flight writes made it
  // to disk. Returns true once libraft has closed the instance (it may then be raft_init'ed).
  bool crash(struct raft* r, std::mt19937_64& rng) {
    size_t in_flight = 0;
    for (auto& w : writes_) in_flight += !w.done;
    size_t survive = static_cast<size_t>(rng() % (in_flight + 1));
    for (auto& w : writes_) {
      if (survive == 0) break;
      if (!w.done) {
        w.done = true;
        survive--;
      }
    }
    drain();
    lost_writes_ += writes_.size();
    writes_.clear();
    return shut(r);
  }

  // A clean close of a started instance (the end of a simulation): nothing is lost.
  bool close_cleanly(struct raft* r) {
    for (auto& w : writes_) w.done = true;
    drain();
    return shut(r);
  }

  // Raft writes (appends, truncations, snapshots) that crashes lost.
  uint64_t lost_writes() const { return lost_writes_; }
  // Inconsistencies of the model itself (a gap in the durable log, ...): test bugs.
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  enum class Kind : uint8_t { kAppend, kSnapshotPut, kSnapshotGet, kSend };

  // One request handed to the stub. The stub's request struct comes first, so the stub's
  // callback finds the op from the pointer it is given.
  struct Op {
    union {
      struct raft_io_append timer;  // appends, snapshot puts and gets: a disk-latency timer
      struct raft_io_send send;
    } stub{};
    CrashableRaftIo* owner = nullptr;
    Kind kind = Kind::kAppend;
    uint64_t seq = 0;
    bool stale = false;  // issued before a crash: dropped when it fires
    struct raft_io_append* append_req = nullptr;
    raft_io_append_cb append_cb = nullptr;
    struct raft_io_snapshot_put* put_req = nullptr;
    raft_io_snapshot_put_cb put_cb = nullptr;
    struct raft_io_snapshot_get* get_req = nullptr;
    raft_io_snapshot_get_cb get_cb = nullptr;
    struct raft_io_send* send_req = nullptr;
    raft_io_send_cb send_cb = nullptr;
    // A send's message, with copies of what it points to.
    struct raft_message message {};
    std::string address;
    std::vector<struct raft_entry> entries;
    std::string batch;
    std::string snapshot_data;
    bool conf_owned = false;
    ~Op() {
      if (conf_owned) raft_configuration_close(&message.install_snapshot.conf);
    }
  };

  // A disk write in issue order; applied to `durable_` once it and all before it are done.
  struct Write {
    uint64_t seq = 0;
    enum class What : uint8_t { kAppend, kTruncate, kSnapshot } what = What::kAppend;
    bool done = false;
    std::vector<Entry> entries;  // kAppend
    raft_index index = 0;        // kTruncate
    Snapshot snapshot;           // kSnapshot
    unsigned trailing = 0;       // kSnapshot
  };

  static CrashableRaftIo* self(struct raft_io* io) {
    return static_cast<CrashableRaftIo*>(io->impl);
  }
  static CrashableRaftIo* from_stub(struct raft_io* io) {
    return static_cast<CrashableRaftIo*>(io->data);
  }
  int errmsg(int rv) {
    if (rv != 0) std::memcpy(outer_.errmsg, stub_->errmsg, sizeof outer_.errmsg);
    return rv;
  }

  // `seq`: the sequence number of the disk write the op completes (0 = a new one).
  Op* new_op(Kind kind, uint64_t seq = 0) {
    auto* op = new Op();
    op->owner = this;
    op->kind = kind;
    op->seq = seq != 0 ? seq : next_seq_++;
    ops_[op->seq] = op;
    return op;
  }
  void delete_op(Op* op) {
    ops_.erase(op->seq);
    delete op;
  }

  // Starts the disk-latency timer of `op`: an append of no entries to the stub.
  int start_timer(Op* op) {
    static struct raft_entry no_entry {};
    op->stub.timer.data = op;
    int rv = stub_->append(stub_, &op->stub.timer, &no_entry, 0, &CrashableRaftIo::on_timer);
    if (rv != 0) delete_op(op);
    return errmsg(rv);
  }

  // Closes `r` (libraft sees every request of the old instance complete or cancelled) and
  // marks everything still in the stub's queues stale.
  bool shut(struct raft* r) {
    std::vector<Op*> orphans;
    for (auto& [seq, op] : ops_) {
      if (!op->stale) orphans.push_back(op);
    }
    for (Op* op : orphans) op->stale = true;
    closing_ = true;
    closed_ = false;
    r->data = this;
    raft_close(r, &CrashableRaftIo::on_raft_closed);
    // In-flight appends complete (libraft, closing, discards them; GuardedIo holds back the
    // close until they did), then everything else is cancelled.
    for (Op* op : orphans) {
      if (op->kind == Kind::kAppend && op->append_cb) op->append_cb(op->append_req, 0);
    }
    for (Op* op : orphans) {
      switch (op->kind) {
        case Kind::kAppend:
          break;
        case Kind::kSnapshotPut:
          if (op->put_cb) op->put_cb(op->put_req, RAFT_CANCELED);
          break;
        case Kind::kSnapshotGet:
          if (op->get_cb) op->get_cb(op->get_req, nullptr, RAFT_CANCELED);
          break;
        case Kind::kSend:
          if (op->send_cb) op->send_cb(op->send_req, RAFT_CANCELED);
          break;
      }
    }
    closing_ = false;
    if (raft_close_cb_ != nullptr) {
      live_ = false;
      auto cb = raft_close_cb_;
      raft_close_cb_ = nullptr;
      cb(&outer_);  // GuardedIo -> libraft frees the instance -> on_raft_closed
    } else {
      problems_.push_back("libraft did not close its io (a close held back?)");
    }
    bool ok = closed_;
    closed_ = false;
    return ok;
  }

  static void on_raft_closed(struct raft* r) {
    static_cast<CrashableRaftIo*>(r->data)->closed_ = true;
  }

  // Applies the done writes at the head of the queue to the disk.
  void drain() {
    while (!writes_.empty() && writes_.front().done) {
      Write& w = writes_.front();
      switch (w.what) {
        case Write::What::kAppend:
          for (auto& e : w.entries) durable_.entries.push_back(std::move(e));
          break;
        case Write::What::kTruncate:
          if (w.index < durable_.start) {
            problems_.push_back("truncate at " + std::to_string(w.index) + " below the log start " +
                                std::to_string(durable_.start));
          } else if (w.index - durable_.start < durable_.entries.size()) {
            durable_.entries.resize(w.index - durable_.start);
          }
          break;
        case Write::What::kSnapshot: {
          const raft_index s = w.snapshot.index;
          durable_.has_snapshot = true;
          durable_.snapshot = std::move(w.snapshot);
          if (w.trailing == 0) {
            durable_.entries.clear();
            durable_.start = s + 1;
          } else if (s > w.trailing) {
            const raft_index keep_from = s - w.trailing + 1;
            if (keep_from > durable_.start) {
              const size_t drop =
                  std::min<size_t>(keep_from - durable_.start, durable_.entries.size());
              durable_.entries.erase(durable_.entries.begin(),
                                     durable_.entries.begin() + static_cast<ptrdiff_t>(drop));
              durable_.start += drop;
            }
          }
          break;
        }
      }
      writes_.pop_front();
    }
  }

  Write& push_write(Write::What what) {
    Write& w = writes_.emplace_back();
    w.seq = next_seq_++;
    w.what = what;
    return w;
  }
  Write* find_write(uint64_t seq) {
    for (auto& w : writes_) {
      if (w.seq == seq) return &w;
    }
    return nullptr;
  }

  static void copy_conf(const struct raft_configuration& from, std::vector<Server>& to) {
    to.clear();
    for (unsigned i = 0; i < from.n; i++) {
      to.push_back(Server{from.servers[i].id,
                          from.servers[i].address ? from.servers[i].address : "",
                          from.servers[i].role});
    }
  }
  static int build_conf(const std::vector<Server>& from, struct raft_configuration* to) {
    raft_configuration_init(to);
    for (const auto& s : from) {
      int rv = raft_configuration_add(to, s.id, s.address.c_str(), s.role);
      if (rv != 0) {
        raft_configuration_close(to);
        return rv;
      }
    }
    return 0;
  }
  static struct raft_snapshot* build_snapshot(const Snapshot& from) {
    auto* s = static_cast<struct raft_snapshot*>(raft_malloc(sizeof(struct raft_snapshot)));
    std::memset(s, 0, sizeof *s);
    s->index = from.index;
    s->term = from.term;
    build_conf(from.conf, &s->configuration);
    s->configuration_index = from.conf_index;
    s->bufs = static_cast<struct raft_buffer*>(raft_malloc(sizeof(struct raft_buffer)));
    s->bufs[0].len = from.data.size();
    s->bufs[0].base = raft_malloc(std::max<size_t>(from.data.size(), 1));
    std::memcpy(s->bufs[0].base, from.data.data(), from.data.size());
    s->n_bufs = 1;
    return s;
  }

  // ---- raft_io methods ----

  static int init(struct raft_io* io, raft_id id, const char* address) {
    CrashableRaftIo* me = self(io);
    return me->errmsg(me->stub_->init(me->stub_, id, address));
  }

  static void close(struct raft_io* io, raft_io_close_cb cb) {
    CrashableRaftIo* me = self(io);
    if (me->closing_) {
      me->raft_close_cb_ = cb;  // shut() finishes it once the old requests are answered
      return;
    }
    // A close outside shut(): an instance that was initialised but never started (parked), or
    // a start that failed. Nothing of it can be in flight.
    me->live_ = false;
    cb(io);
  }

  static int load(struct raft_io* io, raft_term* term, raft_id* voted_for,
                  struct raft_snapshot** snapshot, raft_index* start_index,
                  struct raft_entry* entries[], size_t* n_entries) {
    CrashableRaftIo* me = self(io);
    Durable& d = me->durable_;
    *term = d.term;
    *voted_for = d.vote;
    *snapshot = nullptr;
    if (d.has_snapshot && d.entries.empty()) d.start = d.snapshot.index + 1;
    if (d.has_snapshot && d.start > d.snapshot.index + 1) {
      me->problems_.push_back("durable log starts at " + std::to_string(d.start) +
                              ", after the snapshot at " + std::to_string(d.snapshot.index));
    }
    if (d.has_snapshot) *snapshot = build_snapshot(d.snapshot);
    *start_index = d.start;
    *n_entries = d.entries.size();
    *entries = nullptr;
    if (d.entries.empty()) return 0;
    size_t total = 0;
    for (auto& e : d.entries) total += e.data.size();
    auto* array =
        static_cast<struct raft_entry*>(raft_calloc(d.entries.size(), sizeof(struct raft_entry)));
    auto* batch = static_cast<char*>(raft_malloc(std::max<size_t>(total, 1)));
    char* cursor = batch;
    for (size_t i = 0; i < d.entries.size(); i++) {
      std::memcpy(cursor, d.entries[i].data.data(), d.entries[i].data.size());
      array[i].term = d.entries[i].term;
      array[i].type = d.entries[i].type;
      array[i].buf.base = cursor;
      array[i].buf.len = d.entries[i].data.size();
      array[i].batch = batch;
      cursor += d.entries[i].data.size();
    }
    *entries = array;
    return 0;
  }

  static int start(struct raft_io* io, unsigned msecs, raft_io_tick_cb tick, raft_io_recv_cb recv) {
    CrashableRaftIo* me = self(io);
    me->raft_tick_ = tick;
    me->raft_recv_ = recv;
    int rv =
        me->stub_->start(me->stub_, msecs, &CrashableRaftIo::on_tick, &CrashableRaftIo::on_recv);
    if (rv == 0) me->live_ = true;
    return me->errmsg(rv);
  }

  static int bootstrap(struct raft_io* io, const struct raft_configuration* conf) {
    CrashableRaftIo* me = self(io);
    Durable& d = me->durable_;
    if (d.term != 0) return RAFT_CANTBOOTSTRAP;
    struct raft_buffer buf {};
    int rv = raft_configuration_encode(conf, &buf);
    if (rv != 0) return rv;
    d.term = 1;
    d.vote = 0;
    d.start = 1;
    d.entries.push_back(Entry{1, RAFT_CHANGE, std::string(static_cast<char*>(buf.base), buf.len)});
    raft_free(buf.base);
    // The stub keeps one entry of its own, so its (unused) entry array never shrinks to zero.
    (void)me->stub_->bootstrap(me->stub_, conf);
    return 0;
  }

  static int recover(struct raft_io* io, const struct raft_configuration* conf) {
    (void)io;
    (void)conf;
    return RAFT_INVALID;  // never used by the simulation
  }

  static int set_term(struct raft_io* io, raft_term term) {
    CrashableRaftIo* me = self(io);
    me->durable_.term = term;
    me->durable_.vote = 0;
    return 0;
  }

  static int set_vote(struct raft_io* io, raft_id server_id) {
    self(io)->durable_.vote = server_id;
    return 0;
  }

  static int append(struct raft_io* io, struct raft_io_append* req,
                    const struct raft_entry entries[], unsigned n, raft_io_append_cb cb) {
    CrashableRaftIo* me = self(io);
    Write& w = me->push_write(Write::What::kAppend);
    for (unsigned i = 0; i < n; i++) {
      w.entries.push_back(
          Entry{entries[i].term, entries[i].type,
                std::string(static_cast<const char*>(entries[i].buf.base), entries[i].buf.len)});
    }
    Op* op = me->new_op(Kind::kAppend, w.seq);
    op->append_req = req;
    op->append_cb = cb;
    return me->start_timer(op);
  }

  static int truncate(struct raft_io* io, raft_index index) {
    CrashableRaftIo* me = self(io);
    Write& w = me->push_write(Write::What::kTruncate);
    w.index = index;
    w.done = true;  // takes effect once the writes before it did
    me->drain();
    return 0;
  }

  static int snapshot_put(struct raft_io* io, unsigned trailing, struct raft_io_snapshot_put* req,
                          const struct raft_snapshot* snapshot, raft_io_snapshot_put_cb cb) {
    CrashableRaftIo* me = self(io);
    Write& w = me->push_write(Write::What::kSnapshot);
    w.trailing = trailing;
    w.snapshot.index = snapshot->index;
    w.snapshot.term = snapshot->term;
    copy_conf(snapshot->configuration, w.snapshot.conf);
    w.snapshot.conf_index = snapshot->configuration_index;
    for (unsigned i = 0; i < snapshot->n_bufs; i++) {
      w.snapshot.data.append(static_cast<const char*>(snapshot->bufs[i].base),
                             snapshot->bufs[i].len);
    }
    Op* op = me->new_op(Kind::kSnapshotPut, w.seq);
    op->put_req = req;
    op->put_cb = cb;
    return me->start_timer(op);
  }

  static int snapshot_get(struct raft_io* io, struct raft_io_snapshot_get* req,
                          raft_io_snapshot_get_cb cb) {
    CrashableRaftIo* me = self(io);
    Op* op = me->new_op(Kind::kSnapshotGet);
    op->get_req = req;
    op->get_cb = cb;
    return me->start_timer(op);
  }

  static int send(struct raft_io* io, struct raft_io_send* req, const struct raft_message* message,
                  raft_io_send_cb cb) {
    CrashableRaftIo* me = self(io);
    Op* op = me->new_op(Kind::kSend);
    op->send_req = req;
    op->send_cb = cb;
    op->message = *message;
    op->address = message->server_address ? message->server_address : "";
    op->message.server_address = op->address.c_str();
    if (message->type == RAFT_IO_APPEND_ENTRIES && message->append_entries.n_entries > 0) {
      const auto& args = message->append_entries;
      size_t total = 0;
      for (unsigned i = 0; i < args.n_entries; i++) total += args.entries[i].buf.len;
      op->batch.resize(std::max<size_t>(total, 1));
      op->entries.resize(args.n_entries);
      size_t at = 0;
      for (unsigned i = 0; i < args.n_entries; i++) {
        std::memcpy(&op->batch[at], args.entries[i].buf.base, args.entries[i].buf.len);
        op->entries[i] = args.entries[i];
        op->entries[i].buf.base = &op->batch[at];
        op->entries[i].batch = op->batch.data();
        at += args.entries[i].buf.len;
      }
      op->message.append_entries.entries = op->entries.data();
    } else if (message->type == RAFT_IO_INSTALL_SNAPSHOT) {
      const auto& args = message->install_snapshot;
      std::vector<Server> conf;
      copy_conf(args.conf, conf);
      build_conf(conf, &op->message.install_snapshot.conf);
      op->conf_owned = true;
      op->snapshot_data.assign(static_cast<const char*>(args.data.base), args.data.len);
      op->message.install_snapshot.data.base = op->snapshot_data.data();
      op->message.install_snapshot.data.len = op->snapshot_data.size();
    }
    op->stub.send.data = op;
    int rv = me->stub_->send(me->stub_, &op->stub.send, &op->message, &CrashableRaftIo::on_sent);
    if (rv != 0) me->delete_op(op);
    return me->errmsg(rv);
  }

  static raft_time time(struct raft_io* io) {
    CrashableRaftIo* me = self(io);
    return me->stub_->time(me->stub_);
  }

  static int random(struct raft_io* io, int min, int max) {
    CrashableRaftIo* me = self(io);
    return me->stub_->random(me->stub_, min, max);
  }

  // ---- the stub's callbacks ----

  static void on_timer(struct raft_io_append* timer, int status) {
    Op* op = static_cast<Op*>(timer->data);
    CrashableRaftIo* me = op->owner;
    if (op->stale) return me->delete_op(op);
    switch (op->kind) {
      case Kind::kAppend:
      case Kind::kSnapshotPut: {
        if (Write* w = me->find_write(op->seq)) {
          w->done = true;
        } else {
          me->problems_.push_back("a disk write completed that is not queued");
        }
        me->drain();
        auto* append_req = op->append_req;
        auto append_cb = op->append_cb;
        auto* put_req = op->put_req;
        auto put_cb = op->put_cb;
        const Kind kind = op->kind;
        me->delete_op(op);  // before the callback, which may issue new requests
        if (kind == Kind::kAppend) {
          if (append_cb) append_cb(append_req, status);
        } else if (put_cb) {
          put_cb(put_req, status);
        }
        break;
      }
      case Kind::kSnapshotGet: {
        auto* req = op->get_req;
        auto cb = op->get_cb;
        me->delete_op(op);
        if (cb == nullptr) break;
        if (!me->durable_.has_snapshot) {
          cb(req, nullptr, RAFT_NOTFOUND);
        } else {
          cb(req, build_snapshot(me->durable_.snapshot), 0);
        }
        break;
      }
      case Kind::kSend:
        break;
    }
  }

  static void on_sent(struct raft_io_send* req, int status) {
    Op* op = static_cast<Op*>(req->data);
    CrashableRaftIo* me = op->owner;
    if (op->stale) return me->delete_op(op);
    auto* send_req = op->send_req;
    auto cb = op->send_cb;
    me->delete_op(op);
    if (cb) cb(send_req, status);
  }

  static void on_tick(struct raft_io* stub) {
    CrashableRaftIo* me = from_stub(stub);
    if (me->live_) me->raft_tick_(&me->outer_);
  }

  static void on_recv(struct raft_io* stub, struct raft_message* message) {
    CrashableRaftIo* me = from_stub(stub);
    if (me->live_) return me->raft_recv_(&me->outer_, message);
    // Nobody to give it to: free what libraft would have taken over.
    if (message->type == RAFT_IO_APPEND_ENTRIES && message->append_entries.entries != nullptr) {
      if (message->append_entries.n_entries > 0 && message->append_entries.entries[0].batch) {
        raft_free(message->append_entries.entries[0].batch);
      }
      raft_free(message->append_entries.entries);
    } else if (message->type == RAFT_IO_INSTALL_SNAPSHOT) {
      raft_configuration_close(&message->install_snapshot.conf);
      raft_free(message->install_snapshot.data.base);
    }
  }

  struct raft_io outer_ {};
  struct raft_io* stub_;
  raft_io_tick_cb raft_tick_ = nullptr;
  raft_io_recv_cb raft_recv_ = nullptr;
  raft_io_close_cb raft_close_cb_ = nullptr;
  bool live_ = false;     // a started instance is attached
  bool closing_ = false;  // inside shut()
  bool closed_ = false;   // libraft called the close callback of shut()

  Durable durable_;
  std::deque<Write> writes_;
  std::map<uint64_t, Op*> ops_;  // every request the stub holds, by sequence number
  uint64_t next_seq_ = 1;
  uint64_t lost_writes_ = 0;
  std::vector<std::string> problems_;
};

}  // namespace reckon::store::testing
