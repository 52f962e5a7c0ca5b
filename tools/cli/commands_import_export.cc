// import / export: JSON lines, one event per line, the fields of `read` (event_json.h).
//
// export streams $all (read_all_streaming: nothing buffered beyond one page) into a file.
// import reads a file, groups events by stream and appends them in batches (default 500) with
// their original event ids, so per-stream order is kept and re-running an interrupted import
// with the same batches is an idempotent retry. Batches of different streams are appended
// concurrently (--parallel lanes; one stream always on the same lane, so in order). Memory is
// bounded: when more than --max-buffered events wait in partial batches, every pending batch is
// flushed, and each lane holds at most a few queued batches.
//
// import --ordered keeps the file's order across streams too (the global order of an export):
// consecutive events of one stream form a part, and parts go out in file order as one
// multi-stream append (positions follow part order) until the batch is full or a stream comes
// back; one append in flight at a time. Batches are also cut at --batch-bytes, below the
// server's 16 MiB limit per append.
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "commands.h"
#include "event_json.h"
#include "option_checks.h"
#include "output.h"
#include "progress.h"

namespace reckon::cli {

namespace {

using SteadyClock = std::chrono::steady_clock;

double seconds_since(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

std::function<std::string(double, bool)> rate_line(const std::string& verb,
                                                   const std::atomic<uint64_t>& count) {
  return [verb, &count](double elapsed, bool /*final*/) {
    uint64_t n = count.load(std::memory_order_relaxed);
    double rate = elapsed > 0 ? static_cast<double>(n) / elapsed : 0;
    char buf[200];
    std::snprintf(buf, sizeof buf, "%s %s events  %.1fs  %s events/s", verb.c_str(),
                  with_thousands(n).c_str(), elapsed,
                  with_thousands(static_cast<uint64_t>(rate)).c_str());
    return std::string(buf);
  };
}

// ---------------------------------------------------------------- import
struct ImportArgs {
  std::string file;
  uint64_t batch = 500;
  uint64_t batch_bytes = 4u << 20;
  uint64_t max_buffered = 50'000;
  int parallel = 4;
  bool ordered = false;
  bool quiet = false;
};

// What an event adds to an append's size as the server counts it.
uint64_t event_bytes(const NewEvent& e) { return e.data.size() + e.metadata.size() + e.event_type.size(); }

// Appends batches on `lanes` threads. Every batch of one stream goes to the same lane, and a
// lane appends its batches one at a time in submission order, so each stream keeps its order
// while different streams are written concurrently (the server folds them into one group
// commit). After the first error nothing more is appended.
class AppendPipeline {
 public:
  AppendPipeline(Client& client, int lanes, size_t max_queued_per_lane)
      : client_(client), max_queued_(max_queued_per_lane) {
    for (int i = 0; i < lanes; ++i) {
      lanes_.push_back(std::make_unique<Lane>());
      lanes_.back()->thread = std::thread([this, lane = lanes_.back().get()] { run(*lane); });
    }
  }
  ~AppendPipeline() { finish(); }

  // Queues one append; blocks while the stream's lane is full. Returns the first error so far.
  Status submit(std::string stream, std::vector<NewEvent> events) {
    Lane& lane = *lanes_[std::hash<std::string>{}(stream) % lanes_.size()];
    std::unique_lock lock(mu_);
    space_.wait(lock, [&] { return lane.jobs.size() < max_queued_ || !first_error_.is_ok(); });
    if (!first_error_.is_ok()) return first_error_;
    lane.jobs.push_back({std::move(stream), std::move(events)});
    lane.ready.notify_one();
    return Status::ok();
  }

  // Waits until every queued append is done; the first error, if any.
  Status finish() {
    {
      std::lock_guard lock(mu_);
      closing_ = true;
    }
    for (auto& lane : lanes_) {
      lane->ready.notify_all();
      if (lane->thread.joinable()) lane->thread.join();
    }
    std::lock_guard lock(mu_);
    return first_error_;
  }

  std::atomic<uint64_t> imported{0};
  std::atomic<uint64_t> appends{0};

 private:
  struct Job {
    std::string stream;
    std::vector<NewEvent> events;
  };
  struct Lane {
    std::deque<Job> jobs;
    std::condition_variable ready;
    std::thread thread;
  };

  void run(Lane& lane) {
    std::unique_lock lock(mu_);
    while (true) {
      lane.ready.wait(lock, [&] { return !lane.jobs.empty() || closing_; });
      if (lane.jobs.empty()) return;  // closing and drained
      Job job = std::move(lane.jobs.front());
      lane.jobs.pop_front();
      space_.notify_all();
      if (!first_error_.is_ok()) continue;  // drop the rest after an error
      lock.unlock();
      size_t n = job.events.size();
      auto r = client_.append(job.stream, kExpectAny, std::move(job.events));
      lock.lock();
      if (!r) {
        if (first_error_.is_ok()) {
          first_error_ = Status(r.code(), "importing into '" + job.stream + "' after " +
                                              std::to_string(imported.load()) + " events: " +
                                              r.status().message());
        }
        space_.notify_all();
        continue;
      }
      appends.fetch_add(1, std::memory_order_relaxed);
      imported.fetch_add(n, std::memory_order_relaxed);
    }
  }

  Client& client_;
  const size_t max_queued_;
  std::mutex mu_;
  std::condition_variable space_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  bool closing_ = false;
  Status first_error_;
};

// Groups the events of a file by stream into batches and hands full batches to the pipeline.
// At most `max_buffered` events wait in partial batches; then every partial batch is flushed.
// The batches depend only on the file and the options, so re-running an interrupted import
// resends the same batches: an idempotent retry for those already written.
class Importer {
 public:
  Importer(AppendPipeline& pipeline, const ImportArgs& args) : pipeline_(pipeline), args_(args) {}

  Status add(std::string stream, NewEvent event) {
    auto [it, inserted] = pending_.try_emplace(stream);
    if (inserted) order_.push_back(stream);
    Pending& batch = it->second;
    const uint64_t size = event_bytes(event);
    if (!batch.events.empty() && batch.bytes + size > args_.batch_bytes) {
      RECKON_RETURN_IF_ERROR(flush(it->first));
    }
    batch.events.push_back(std::move(event));
    batch.bytes += size;
    ++buffered_;
    if (batch.events.size() >= args_.batch) RECKON_RETURN_IF_ERROR(flush(it->first));
    if (buffered_ >= args_.max_buffered) RECKON_RETURN_IF_ERROR(flush_all());
    return Status::ok();
  }

  // Flushes every pending batch, in the order their streams first appeared.
  Status flush_all() {
    for (const auto& stream : order_) RECKON_RETURN_IF_ERROR(flush(stream));
    pending_.clear();
    order_.clear();
    return Status::ok();
  }

  size_t streams() const { return streams_.size(); }

 private:
  struct Pending {
    std::vector<NewEvent> events;
    uint64_t bytes = 0;
  };

  Status flush(const std::string& stream) {
    auto it = pending_.find(stream);
    if (it == pending_.end() || it->second.events.empty()) return Status::ok();
    buffered_ -= it->second.events.size();
    streams_.insert(stream);
    std::vector<NewEvent> batch;
    batch.swap(it->second.events);
    it->second.bytes = 0;
    return pipeline_.submit(stream, std::move(batch));
  }

  AppendPipeline& pipeline_;
  const ImportArgs& args_;
  std::unordered_map<std::string, Pending> pending_;
  std::vector<std::string> order_;
  std::unordered_set<std::string> streams_;
  uint64_t buffered_ = 0;
};

// import --ordered: the file's order across streams, one multi-stream append at a time. The
// batches depend only on the file and the options, so a re-run is an idempotent retry.
class OrderedImporter {
 public:
  OrderedImporter(Client& client, const ImportArgs& args) : client_(client), args_(args) {}

  Status add(std::string stream, NewEvent event) {
    const uint64_t size = event_bytes(event);
    const bool continues_part = !parts_.empty() && parts_.back().stream_id == stream;
    const bool stream_returns = !continues_part && in_batch_.count(stream) > 0;
    if (events_ > 0 && (stream_returns || events_ >= args_.batch || bytes_ + size > args_.batch_bytes)) {
      RECKON_RETURN_IF_ERROR(flush());
    }
    if (parts_.empty() || parts_.back().stream_id != stream) {
      in_batch_.insert(stream);
      streams_.insert(stream);
      StreamAppend part;
      part.stream_id = std::move(stream);
      part.expected = kExpectAny;
      parts_.push_back(std::move(part));
    }
    parts_.back().events.push_back(std::move(event));
    ++events_;
    bytes_ += size;
    return Status::ok();
  }

  Status flush() {
    if (parts_.empty()) return Status::ok();
    const uint64_t n = events_;
    const std::string first_stream = parts_.front().stream_id;
    auto r = client_.append_multi(std::move(parts_));
    parts_.clear();
    in_batch_.clear();
    events_ = bytes_ = 0;
    if (!r) {
      return Status(r.code(), "importing into '" + first_stream + "' and the streams after it, after " +
                                  std::to_string(imported.load()) + " events: " + r.status().message());
    }
    appends.fetch_add(1, std::memory_order_relaxed);
    imported.fetch_add(n, std::memory_order_relaxed);
    return Status::ok();
  }

  size_t streams() const { return streams_.size(); }

  std::atomic<uint64_t> imported{0};
  std::atomic<uint64_t> appends{0};

 private:
  Client& client_;
  const ImportArgs& args_;
  std::vector<StreamAppend> parts_;
  std::unordered_set<std::string> in_batch_;  // a stream appears once per append
  std::unordered_set<std::string> streams_;
  uint64_t events_ = 0, bytes_ = 0;
};

int run_import(Session& s, const ImportArgs& a) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (a.file != "-") {
    file.open(a.file);
    if (!file) return report_error(Status::io_error("cannot open '" + a.file + "'"));
    in = &file;
  }
  auto client = s.client();
  if (!client) return report_error(client.status());

  auto t0 = SteadyClock::now();
  // Either importer, behind the same three steps.
  std::unique_ptr<AppendPipeline> pipeline;
  std::unique_ptr<Importer> importer;
  std::unique_ptr<OrderedImporter> ordered;
  std::function<Status(std::string, NewEvent)> add;
  std::function<Status()> finish;
  const std::atomic<uint64_t>* imported = nullptr;
  const std::atomic<uint64_t>* appends = nullptr;
  if (a.ordered) {
    ordered = std::make_unique<OrderedImporter>(**client, a);
    add = [&](std::string stream, NewEvent e) { return ordered->add(std::move(stream), std::move(e)); };
    finish = [&] { return ordered->flush(); };
    imported = &ordered->imported;
    appends = &ordered->appends;
  } else {
    pipeline = std::make_unique<AppendPipeline>(**client, a.parallel, /*max_queued_per_lane=*/4);
    importer = std::make_unique<Importer>(*pipeline, a);
    add = [&](std::string stream, NewEvent e) { return importer->add(std::move(stream), std::move(e)); };
    finish = [&] {
      Status flushed = importer->flush_all();
      Status appended = pipeline->finish();
      return flushed.is_ok() ? appended : flushed;
    };
    imported = &pipeline->imported;
    appends = &pipeline->appends;
  }
  std::unique_ptr<ProgressLine> progress;
  if (!a.quiet) progress = std::make_unique<ProgressLine>(rate_line("imported", *imported));

  Status st;
  std::string line;
  uint64_t line_no = 0;
  while (st.is_ok() && std::getline(*in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string where = a.file + ":" + std::to_string(line_no);
    auto parsed = event_from_line(line, where);
    if (!parsed) {
      st = parsed.status();
      break;
    }
    if (parsed->stream_id.empty()) {
      st = Status::invalid_argument(where + ": missing field 'stream_id'");
      break;
    }
    st = add(std::move(parsed->stream_id), std::move(parsed->event));
  }
  if (st.is_ok() && in->bad()) st = Status::io_error("error reading '" + a.file + "'");
  if (st.is_ok()) {
    st = finish();
  } else if (pipeline) {
    pipeline->finish();  // appends already queued still complete; the first error is reported
  }
  if (progress) progress->stop();
  if (!st) return report_error(st);

  Json j;
  j["file"] = a.file;
  j["events"] = imported->load();
  j["streams"] = ordered ? ordered->streams() : importer->streams();
  j["appends"] = appends->load();
  j["ordered"] = a.ordered;
  j["duration_s"] = std::round(seconds_since(t0) * 1000) / 1000;
  s.out().record(j);
  return kExitOk;
}

// ---------------------------------------------------------------- export
struct ExportArgs {
  std::string file;
  uint64_t from = 0;
  std::vector<std::string> types;
  std::vector<std::string> prefixes;
  bool include_system = false;
  bool quiet = false;
};

int run_export(Session& s, const ExportArgs& a) {
  auto client = s.client();
  if (!client) return report_error(client.status());
  const bool to_stdout = a.file == "-";
  std::FILE* out = to_stdout ? stdout : std::fopen(a.file.c_str(), "w");
  if (out == nullptr) return report_error(Status::io_error("cannot create '" + a.file + "'"));

  auto t0 = SteadyClock::now();
  std::atomic<uint64_t> exported{0};
  std::unique_ptr<ProgressLine> progress;
  if (!a.quiet) progress = std::make_unique<ProgressLine>(rate_line("exported", exported));

  ReadAllOptions o;
  o.from_position = a.from;
  o.max_count = 0;  // to the end
  o.filter.event_types = a.types;
  o.filter.stream_prefixes = a.prefixes;
  o.filter.exclude_system_streams = !a.include_system;
  bool write_failed = false;
  Position last = 0;
  Status st = (*client)->read_all_streaming(o, [&](const Event& e) {
    std::string line = dump_json(event_to_json(e));
    line.push_back('\n');
    if (std::fwrite(line.data(), 1, line.size(), out) != line.size()) {
      write_failed = true;
      return false;
    }
    last = e.position;
    exported.fetch_add(1, std::memory_order_relaxed);
    return true;
  });
  if (std::fflush(out) != 0) write_failed = true;
  if (!to_stdout && std::fclose(out) != 0) write_failed = true;
  if (progress) progress->stop();
  if (write_failed) return report_error(Status::io_error("cannot write '" + a.file + "'"));
  if (!st) return report_error(st);

  Json j;
  j["file"] = a.file;
  j["events"] = exported.load();
  j["last_position"] = last;
  j["duration_s"] = std::round(seconds_since(t0) * 1000) / 1000;
  if (to_stdout) {
    std::cerr << dump_json(j) << "\n";  // stdout holds the events
  } else {
    s.out().record(j);
  }
  return kExitOk;
}

}  // namespace

void add_import_export_commands(CLI::App& app, Runner* selected) {
  auto im = std::make_shared<ImportArgs>();
  auto* sub = app.add_subcommand("import", "Append the events of a JSON-lines file (from export)");
  sub->add_option("file", im->file, "JSON-lines file ('-' = stdin)")->required();
  sub->add_option("--batch", im->batch, "Events per append")
      ->check(integer_in_range(1, 10'000))
      ->capture_default_str();
  sub->add_option("--max-buffered", im->max_buffered,
                  "Flush every stream's batch when this many events wait")
      ->check(integer_in_range(1, 10'000'000))
      ->capture_default_str();
  sub->add_option("--parallel", im->parallel,
                  "Appends in flight (streams are spread over this many lanes)")
      ->check(integer_in_range(1, 64))
      ->capture_default_str();
  sub->add_option("--batch-bytes", im->batch_bytes, "Cut a batch before it exceeds this many bytes")
      ->check(integer_in_range(1, 16u << 20))
      ->capture_default_str();
  sub->add_flag("--ordered", im->ordered,
                "Keep the file's order across streams (multi-stream appends, one at a time)");
  sub->add_flag("--quiet", im->quiet, "No progress line");
  sub->callback([im, selected] { *selected = [im](Session& s) { return run_import(s, *im); }; });

  auto ex = std::make_shared<ExportArgs>();
  sub = app.add_subcommand("export", "Write $all (or a filtered part) to a JSON-lines file");
  sub->add_option("file", ex->file, "Output file ('-' = stdout)")->required();
  sub->add_option("--from", ex->from, "First position (inclusive)")
      ->check(integer_at_least(0))
      ->capture_default_str();
  sub->add_option("--type", ex->types, "Only this event type (repeatable)")->allow_extra_args(false);
  sub->add_option("--stream-prefix", ex->prefixes, "Only streams with this prefix (repeatable)")
      ->allow_extra_args(false);
  sub->add_flag("--include-system", ex->include_system, "Also export system streams ($...)");
  sub->add_flag("--quiet", ex->quiet, "No progress line");
  sub->callback([ex, selected] { *selected = [ex](Session& s) { return run_export(s, *ex); }; });
}

}  // namespace reckon::cli
