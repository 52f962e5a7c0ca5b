// Durable appends through Raft (store/replicated_log): a one-voter group (reckond's single mode)
// and a three-voter group in one process over loopback (each replica with its own RocksDB and
// Raft log on disk; every acknowledged append is fsynced in a majority of Raft logs).
//
//   build/bench/reckon_bench --benchmark_filter=Raft
#include <benchmark/benchmark.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "reckon/store.h"

namespace {

using reckon::LocalStore;
using reckon::NewEvent;

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// A Raft group of `voters` replicas in temp dirs; removed when it dies.
struct Group {
  std::string dir;
  std::map<uint64_t, std::unique_ptr<LocalStore>> nodes;
  LocalStore* leader = nullptr;

  explicit Group(int voters, bool pipelined_writes = reckon::ReplicationOptions{}.pipelined_writes) {
    char pattern[] = "/tmp/reckon-bench-raft-XXXXXX";
    dir = mkdtemp(pattern);
    std::map<uint64_t, std::string> members;
    for (uint64_t id = 1; id <= uint64_t(voters); ++id) {
      members[id] = "127.0.0.1:" + std::to_string(voters == 1 ? 0 : free_port());
    }
    for (auto& [id, address] : members) {
      reckon::StoreOptions o;
      o.data_dir = dir + "/node" + std::to_string(id);
      reckon::ReplicationOptions r;
      r.node_id = id;
      r.raft_address = address;
      r.initial_members = members;
      r.election_timeout = std::chrono::milliseconds(300);
      r.heartbeat_timeout = std::chrono::milliseconds(50);
      r.pipelined_writes = pipelined_writes;
      o.replication = r;
      auto s = LocalStore::open_local(o);
      if (!s.is_ok()) {
        std::fprintf(stderr, "open failed: %s\n", s.status().to_string().c_str());
        std::abort();
      }
      nodes[id] = std::move(s).value();
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (leader == nullptr && std::chrono::steady_clock::now() < deadline) {
      for (auto& [id, n] : nodes) {
        if (n->replication()->is_leader()) leader = n.get();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (leader == nullptr) std::abort();
    // Measure the steady state: let the start-up I/O (libraft preparing its first log
    // segments, RocksDB creating its files) finish before the clock starts.
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  }
  ~Group() {
    nodes.clear();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

Group* g_group = nullptr;

void SetupOne(const benchmark::State&) { g_group = new Group(1); }
void SetupThree(const benchmark::State&) { g_group = new Group(3); }
void SetupOneUnpipelined(const benchmark::State&) { g_group = new Group(1, /*pipelined_writes=*/false); }
void Teardown(const benchmark::State&) {
  delete g_group;
  g_group = nullptr;
}

NewEvent event(uint64_t n) {
  NewEvent e;
  e.event_type = "OrderPlaced";
  e.data = "{\"order_id\":\"order-" + std::to_string(n) +
           "\",\"amount_cents\":1999,\"currency\":\"EUR\",\"items\":[{\"sku\":\"SKU-1\",\"qty\":2}]}";
  return e;
}

// CPU time of the whole process (every thread: writers, Raft loops, RocksDB).
double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

void append_events(benchmark::State& state, int per_append) {
  LocalStore& store = *g_group->leader;
  const double cpu_start = process_cpu_seconds();
  const std::string stream = "order-t" + std::to_string(state.thread_index());
  uint64_t n = static_cast<uint64_t>(state.thread_index()) << 40;
  for (auto _ : state) {
    std::vector<NewEvent> events;
    for (int i = 0; i < per_append; ++i) events.push_back(event(n++));
    auto r = store.append(stream, reckon::kExpectAny, std::move(events));
    if (!r.is_ok()) {
      state.SkipWithError(r.status().to_string().c_str());
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * per_append);
  if (state.thread_index() == 0) {
    // The process's CPU per append over this thread's run (the others run alongside): on a
    // machine with few cores this, not latency, bounds throughput.
    const double appends = double(state.iterations()) * state.threads();
    state.counters["cpu_us_per_append"] = (process_cpu_seconds() - cpu_start) * 1e6 / appends;
    // How well the leader's state machine batches: commands applied per RocksDB commit.
    const auto stats = store.stats();
    state.counters["cmds_per_commit"] =
        stats.commits == 0 ? 0.0 : double(stats.commands) / double(stats.commits);
  }
}

void BM_RaftOneVoterAppend(benchmark::State& state) { append_events(state, 1); }
BENCHMARK(BM_RaftOneVoterAppend)->Setup(SetupOne)->Teardown(Teardown)
    ->Threads(1)->Threads(8)->Threads(32)->MinTime(2.0)->UseRealTime();

// The same without ReplicationOptions::pipelined_writes (the default): the Raft loop writes
// each turn to RocksDB before it answers it.
void BM_RaftOneVoterAppendUnpipelined(benchmark::State& state) { append_events(state, 1); }
BENCHMARK(BM_RaftOneVoterAppendUnpipelined)->Setup(SetupOneUnpipelined)->Teardown(Teardown)
    ->Threads(1)->Threads(8)->Threads(32)->MinTime(2.0)->UseRealTime();

void BM_RaftThreeVotersAppend(benchmark::State& state) { append_events(state, 1); }
BENCHMARK(BM_RaftThreeVotersAppend)->Setup(SetupThree)->Teardown(Teardown)
    ->Threads(1)->Threads(8)->Threads(32)->MinTime(2.0)->UseRealTime();

void BM_RaftOneVoterAppendBatch100(benchmark::State& state) { append_events(state, 100); }
BENCHMARK(BM_RaftOneVoterAppendBatch100)->Setup(SetupOne)->Teardown(Teardown)
    ->Threads(8)->MinTime(2.0)->UseRealTime();

void BM_RaftThreeVotersAppendBatch100(benchmark::State& state) { append_events(state, 100); }
BENCHMARK(BM_RaftThreeVotersAppendBatch100)->Setup(SetupThree)->Teardown(Teardown)
    ->Threads(8)->MinTime(2.0)->UseRealTime();

}  // namespace
