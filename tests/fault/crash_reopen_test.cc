// Crash test: kill -9 a process that is appending under load, then reopen the store and check
// that every acknowledged append survived and that the store is internally consistent.
//
// The loader (tests/fault/crash_loader_main.cc, path in RECKON_CRASH_LOADER) prints one
// "ack ..." line per acknowledged append; this test reads them through a pipe, sends SIGKILL at a
// random moment, and verifies in-process:
//   - the store opens;
//   - every acked append is there: versions first..last readable in its stream, positions
//     consecutive and ending at the acked position, the last event's id as acked (when the
//     client supplied it); get_version >= the acked last version;
//   - read_all positions are dense 1..N, event ids are unique, and each event is the event its
//     stream holds at that version;
//   - every stream's versions are gapless 0..last, the stream heads (get_version, stream_info)
//     agree with the events, and the stream sizes add up to N;
//   - the type and tag indexes list exactly the events of read_all of that type / tag.
// Rounds reuse the data dir, so later rounds crash on top of earlier crashes; acks accumulate.
//
// Seed: printed at the start; set RECKON_CRASH_SEED to replay the kill timings.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "reckon/options.h"
#include "reckon/status.h"
#include "reckon/store.h"
#include "reckon/types.h"
#include "support/temp_dir.h"

#ifndef RECKON_CRASH_LOADER
#error "RECKON_CRASH_LOADER must be defined to the path of the reckon-crash-loader binary"
#endif

extern char** environ;

namespace reckon {
namespace {

using Clock = std::chrono::steady_clock;

struct Ack {
  std::string stream;
  int64_t first_version = 0;
  int64_t last_version = 0;
  Position position = 0;
  std::string last_id;  // "-" when the store generated it
  std::string line;
};

// Owns a running child: SIGKILLs and reaps it on destruction, whatever happened in between.
class ChildGuard {
 public:
  ChildGuard() = default;
  ChildGuard(const ChildGuard&) = delete;
  ChildGuard& operator=(const ChildGuard&) = delete;
  ~ChildGuard() {
    kill_and_reap();
    if (read_fd_ >= 0) ::close(read_fd_);
  }

  // Starts `RECKON_CRASH_LOADER dir` with stdout on a pipe; stderr is inherited.
  bool spawn(const std::string& dir, std::string* error) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      *error = std::string("pipe2: ") + std::strerror(errno);
      return false;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);  // clears CLOEXEC on 1
    std::string loader = RECKON_CRASH_LOADER;
    std::vector<char*> argv{loader.data(), const_cast<char*>(dir.c_str()), nullptr};
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, loader.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) {
      ::close(fds[0]);
      *error = "posix_spawn " + loader + ": " + std::strerror(rc);
      return false;
    }
    pid_ = pid;
    read_fd_ = fds[0];
    return true;
  }

  // Reads ack output until `deadline` (keeps the pipe from filling up while the child runs).
  // Returns false early if the child closed its stdout (it exited).
  bool pump_until(Clock::time_point deadline) {
    for (;;) {
      auto now = Clock::now();
      if (now >= deadline) return true;
      int ms = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count());
      pollfd p{read_fd_, POLLIN, 0};
      int rc = ::poll(&p, 1, ms < 1 ? 1 : ms);
      if (rc < 0 && errno == EINTR) continue;
      if (rc <= 0) continue;
      if (!read_some()) return false;
    }
  }

  // SIGKILL, reap, and read the rest of the pipe. Returns the wait status.
  int kill_and_drain() {
    int status = kill_and_reap();
    while (read_fd_ >= 0 && read_some()) {
    }
    return status;
  }

  // Only complete lines: a line cut by the kill was never fully reported.
  std::vector<std::string> complete_lines() const {
    std::vector<std::string> lines;
    size_t start = 0;
    for (;;) {
      size_t nl = out_.find('\n', start);
      if (nl == std::string::npos) break;
      lines.push_back(out_.substr(start, nl - start));
      start = nl + 1;
    }
    return lines;
  }

 private:
  bool read_some() {
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(read_fd_, buf, sizeof buf);
      if (n > 0) {
        out_.append(buf, static_cast<size_t>(n));
        return true;
      }
      if (n < 0 && errno == EINTR) continue;
      return false;  // EOF or error
    }
  }

  int kill_and_reap() {
    int status = 0;
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      pid_ = -1;
      last_status_ = status;
      return status;
    }
    return last_status_;
  }

  pid_t pid_ = -1;
  int read_fd_ = -1;
  int last_status_ = 0;
  std::string out_;
};

std::string describe_status(int status) {
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  return "status " + std::to_string(status);
}

// Runs the loader on `dir` for `run_for`, kills it with SIGKILL, appends its acks to `acks`.
void run_and_kill(const std::string& dir, std::chrono::milliseconds run_for,
                  std::vector<Ack>* acks) {
  ChildGuard child;
  std::string error;
  ASSERT_TRUE(child.spawn(dir, &error)) << error;
  bool still_running = child.pump_until(Clock::now() + run_for);
  int status = child.kill_and_drain();
  ASSERT_TRUE(still_running && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the loader stopped before it was killed: " << describe_status(status)
      << " (its stderr is above)";
  for (const std::string& line : child.complete_lines()) {
    std::istringstream in(line);
    std::string word;
    Ack a;
    a.line = line;
    ASSERT_TRUE(in >> word >> a.stream >> a.first_version >> a.last_version >> a.position >>
                a.last_id)
        << "unparsable loader line: '" << line << "'";
    ASSERT_EQ(word, "ack") << line;
    ASSERT_LE(a.first_version, a.last_version) << line;
    ASSERT_GE(a.position, static_cast<Position>(a.last_version - a.first_version + 1)) << line;
    acks->push_back(std::move(a));
  }
}

struct Slim {
  int64_t version = 0;
  Position position = 0;
  std::string id;
  std::string type;
  std::vector<std::string> tags;
};

// Reads a whole stream forward, in pages.
void read_stream(Store& store, const std::string& stream, std::vector<Slim>* out) {
  int64_t from = 0;
  for (;;) {
    ReadStreamOptions o;
    o.from_version = from;
    o.max_count = 1000;
    auto r = store.read(stream, o);
    ASSERT_TRUE(r.is_ok()) << "read " << stream << " from " << from << ": "
                           << r.status().to_string();
    for (const Event& e : r->events) {
      ASSERT_EQ(e.stream_id, stream);
      out->push_back(Slim{e.version, e.position, e.event_id.to_string(), e.event_type, e.tags});
    }
    if (r->end_of_stream || r->events.empty()) break;
    ASSERT_GT(r->next_version, from) << stream;
    from = r->next_version;
  }
}

// Every event of the index read, by position.
void read_index(Store& store, bool by_type, const std::string& key, std::vector<Position>* out) {
  Position from = kStartPosition;
  for (;;) {
    IndexReadOptions o;
    o.from_position = from;
    o.max_count = 4096;
    auto r = by_type ? store.read_by_event_types({key}, o)
                     : store.read_by_tags({key}, TagMatch::kAny, o);
    ASSERT_TRUE(r.is_ok()) << (by_type ? "read_by_event_types " : "read_by_tags ") << key << ": "
                           << r.status().to_string();
    for (const Event& e : r->events) out->push_back(e.position);
    if (r->end) break;
    ASSERT_GT(r->next_position, from);
    from = r->next_position;
  }
}

// Opens the store in `dir` and checks it against `acks` (see the file comment).
void verify_store(const std::string& dir, const std::vector<Ack>& acks) {
  StoreOptions options;
  options.data_dir = dir;
  options.create_if_missing = true;  // a kill before creation finished may leave nothing
  options.sync_writes = true;
  auto opened = Store::open(options);
  ASSERT_TRUE(opened.is_ok()) << "reopen after SIGKILL failed: " << opened.status().to_string();
  std::unique_ptr<Store> store = std::move(opened).value();

  // $all: dense positions 1..N, unique ids.
  std::vector<Event> all;
  std::set<std::string> ids;
  {
    Position from = kStartPosition;
    for (;;) {
      ReadAllOptions o;
      o.from_position = from;
      o.max_count = 4096;
      auto r = store->read_all(o);
      ASSERT_TRUE(r.is_ok()) << "read_all from " << from << ": " << r.status().to_string();
      for (Event& e : r->events) {
        ASSERT_EQ(e.position, static_cast<Position>(all.size() + 1))
            << "read_all positions are not dense: after " << all.size() << " events";
        ASSERT_TRUE(ids.insert(e.event_id.to_string()).second)
            << "event id " << e.event_id.to_string() << " appears twice in $all (position "
            << e.position << ")";
        all.push_back(std::move(e));
      }
      if (r->end) break;
      ASSERT_GT(r->next_position, from);
      from = r->next_position;
    }
  }
  const uint64_t n = all.size();
  EXPECT_EQ(store->stats().last_position, n) << "stats().last_position vs events in $all";

  // Streams: every stream of list_streams, read whole; gapless versions; heads agree.
  std::map<std::string, std::vector<Slim>> streams;
  {
    ListStreamsOptions o;
    o.limit = 1000;
    for (;;) {
      auto r = store->list_streams(o);
      ASSERT_TRUE(r.is_ok()) << "list_streams: " << r.status().to_string();
      for (const StreamInfo& info : r->streams) {
        std::vector<Slim>& events = streams[info.stream_id];
        read_stream(*store, info.stream_id, &events);
        if (::testing::Test::HasFatalFailure()) return;
        for (size_t v = 0; v < events.size(); ++v) {
          ASSERT_EQ(events[v].version, static_cast<int64_t>(v))
              << "stream " << info.stream_id << " has a version gap";
        }
        const int64_t last = static_cast<int64_t>(events.size()) - 1;
        EXPECT_EQ(info.last_version, last) << "list_streams head of " << info.stream_id;
        auto version = store->get_version(info.stream_id);
        ASSERT_TRUE(version.is_ok()) << version.status().to_string();
        EXPECT_EQ(*version, last) << "get_version of " << info.stream_id;
        if (!events.empty()) {
          EXPECT_EQ(info.last_position, events.back().position)
              << "stream head last_position of " << info.stream_id;
        }
      }
      if (r->next_after.empty()) break;
      o.after = r->next_after;
    }
  }
  uint64_t sum = 0;
  for (const auto& [name, events] : streams) sum += events.size();
  EXPECT_EQ(sum, n) << "the streams hold a different number of events than $all";

  // Each $all event is the event its stream holds at that version.
  for (const Event& e : all) {
    auto it = streams.find(e.stream_id);
    ASSERT_TRUE(it != streams.end()) << "stream " << e.stream_id << " of position " << e.position
                                     << " is missing from list_streams";
    ASSERT_GE(e.version, 0);
    ASSERT_LT(e.version, static_cast<int64_t>(it->second.size()))
        << e.stream_id << " position " << e.position;
    const Slim& s = it->second[static_cast<size_t>(e.version)];
    ASSERT_EQ(s.position, e.position) << e.stream_id << "@" << e.version;
    ASSERT_EQ(s.id, e.event_id.to_string()) << e.stream_id << "@" << e.version;
  }

  // Every acknowledged append survived.
  std::map<std::string, int64_t> acked_last;
  for (const Ack& a : acks) {
    auto& m = acked_last.try_emplace(a.stream, kNoVersion).first->second;
    m = std::max(m, a.last_version);

    ReadStreamOptions o;
    o.from_version = a.first_version;
    o.max_count = static_cast<uint64_t>(a.last_version - a.first_version + 1);
    auto r = store->read(a.stream, o);
    ASSERT_TRUE(r.is_ok()) << "acknowledged append lost: '" << a.line
                           << "': " << r.status().to_string();
    ASSERT_EQ(r->events.size(), o.max_count) << "acknowledged append lost: '" << a.line << "'";
    for (size_t i = 0; i < r->events.size(); ++i) {
      const Event& e = r->events[i];
      ASSERT_EQ(e.version, a.first_version + static_cast<int64_t>(i)) << a.line;
      ASSERT_EQ(e.position, a.position - (r->events.size() - 1 - i))
          << "positions of acked append '" << a.line << "' (event " << i << ")";
    }
    if (a.last_id != "-") {
      ASSERT_EQ(r->events.back().event_id.to_string(), a.last_id)
          << "last event id of acked append '" << a.line << "'";
    }
  }
  for (const auto& [stream, last] : acked_last) {
    auto v = store->get_version(stream);
    ASSERT_TRUE(v.is_ok()) << v.status().to_string();
    EXPECT_GE(*v, last) << "get_version(" << stream << ") is below an acknowledged version";
  }

  // Indexes agree with $all (they are written in the same batch as the events).
  std::map<std::string, std::vector<Position>> by_type, by_tag;
  for (const Event& e : all) {
    by_type[e.event_type].push_back(e.position);
    for (const std::string& t : e.tags) by_tag[t].push_back(e.position);
  }
  for (const char* type : {"Crash0", "Crash1", "Crash2"}) {
    std::vector<Position> got;
    read_index(*store, true, type, &got);
    if (::testing::Test::HasFatalFailure()) return;
    EXPECT_EQ(got, by_type[type]) << "type index of " << type << " disagrees with $all";
  }
  for (const char* tag : {"loader", "thread-0", "thread-1", "thread-2", "thread-3"}) {
    std::vector<Position> got;
    read_index(*store, false, tag, &got);
    if (::testing::Test::HasFatalFailure()) return;
    EXPECT_EQ(got, by_tag[tag]) << "tag index of " << tag << " disagrees with $all";
  }
  std::printf("  verified: %zu acked appends, %llu events, %zu streams\n", acks.size(),
              static_cast<unsigned long long>(n), streams.size());
}

uint64_t seed_from_env() {
  const char* s = std::getenv("RECKON_CRASH_SEED");
  uint64_t seed = s && *s ? std::strtoull(s, nullptr, 10) : std::random_device{}();
  std::printf("  RECKON_CRASH_SEED=%llu\n", static_cast<unsigned long long>(seed));
  return seed;
}

TEST(CrashReopen, AcknowledgedAppendsSurviveRepeatedSigkill) {
  reckon::testing::TempDir tmp;
  const std::string dir = tmp.sub("data");
  std::mt19937_64 rng(seed_from_env());
  std::vector<Ack> acks;
  const auto start = Clock::now();
  constexpr int kRounds = 5;
  int rounds = 0;
  for (; rounds < kRounds; ++rounds) {
    if (rounds >= 2 && Clock::now() - start > std::chrono::seconds(20)) break;  // time bound
    const auto run_for = std::chrono::milliseconds(100 + rng() % 501);
    const size_t before = acks.size();
    run_and_kill(dir, run_for, &acks);
    if (HasFatalFailure()) return;
    std::printf("round %d: killed after %lld ms, %zu new acks\n", rounds,
                static_cast<long long>(run_for.count()), acks.size() - before);
    verify_store(dir, acks);
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(acks.size(), 0u) << "the loader acknowledged nothing in " << rounds << " rounds";
}

// Kills during the first second, mostly while the store is still being created: each kill on
// a fresh dir, then the store must open (or be created) cleanly and hold every ack; then a
// second kill on top of it.
TEST(CrashReopen, SigkillDuringStoreCreation) {
  std::mt19937_64 rng(seed_from_env());
  for (int delay_ms : {0, 2, 5, 10, 20, 40, 80, 150, 300, 0}) {
    reckon::testing::TempDir tmp;
    const std::string dir = tmp.sub("data");
    const int jitter = delay_ms == 0 ? 0 : static_cast<int>(rng() % (delay_ms / 2 + 1));
    std::vector<Ack> acks;
    run_and_kill(dir, std::chrono::milliseconds(delay_ms + jitter), &acks);
    if (HasFatalFailure()) return;
    verify_store(dir, acks);
    if (HasFatalFailure()) return;
    run_and_kill(dir, std::chrono::milliseconds(150 + rng() % 200), &acks);
    if (HasFatalFailure()) return;
    verify_store(dir, acks);
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace reckon
