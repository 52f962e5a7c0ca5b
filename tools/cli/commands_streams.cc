// Stream and snapshot commands: append, read, read-all, version, streams, delete, snapshot.
#include <fstream>
#include <iostream>
#include <memory>

#include "commands.h"
#include "core/json.h"
#include "event_json.h"
#include "option_checks.h"
#include "output.h"

namespace reckon::cli {

namespace {

// The row an event shows in a table (JSON mode prints event_to_json as is).
Json event_table_row(const Event& e, const Json& full) {
  Json row = full;
  row["created"] = format_timestamp_us(e.created_us);
  std::string tags;
  for (const auto& t : e.tags) tags += (tags.empty() ? "" : ",") + t;
  row["tags"] = tags;
  return row;
}

const std::vector<std::string> kEventColumns = {"position", "stream_id", "version", "event_type",
                                                "event_id", "created",   "tags",    "data"};

void add_event(Output::List& list, Output& out, const Event& e) {
  Json j = event_to_json(e);
  if (out.json()) {
    list.add(j);
  } else {
    list.add(event_table_row(e, j));
  }
}

// Resolves --expected; prints a usage error and returns false when it does not parse.
bool resolve_expected(const std::string& text, ExpectedVersion* out, int* exit_code) {
  auto parsed = parse_expected_version(text);
  if (!parsed) {
    *exit_code = report_usage_error("--expected: " + parsed.status().message());
    return false;
  }
  *out = *parsed;
  return true;
}

std::string state_name(StreamState s) {
  switch (s) {
    case StreamState::kLive: return "live";
    case StreamState::kSoftDeleted: return "deleted";
    case StreamState::kTombstoned: return "tombstoned";
  }
  return "unknown";
}

// ---------------------------------------------------------------- append
struct AppendArgs {
  std::string stream;
  std::string type;
  std::string data;
  std::string metadata;
  std::vector<std::string> tags;
  std::string id;
  std::string expected = "any";
  std::string file;
  bool binary = false;
};

// Reads every event line of `path` ("-" = stdin); blank lines are skipped.
Result<std::vector<NewEvent>> read_event_file(const std::string& path) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (path != "-") {
    file.open(path);
    if (!file) return Status::io_error("cannot open '" + path + "'");
    in = &file;
  }
  std::vector<NewEvent> events;
  std::string line;
  size_t line_no = 0;
  while (std::getline(*in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto parsed = event_from_line(line, path + ":" + std::to_string(line_no));
    if (!parsed) return parsed.status();
    events.push_back(std::move(parsed->event));
  }
  if (in->bad()) return Status::io_error("error reading '" + path + "'");
  return events;
}

int run_append(Session& s, const AppendArgs& a) {
  ExpectedVersion expected = kExpectAny;
  int code = 0;
  if (!resolve_expected(a.expected, &expected, &code)) return code;

  std::vector<NewEvent> events;
  if (!a.file.empty()) {
    auto read = read_event_file(a.file);
    if (!read) return report_error(read.status());
    events = std::move(read).value();
    if (events.empty()) return report_usage_error("--file: '" + a.file + "' holds no event");
  } else {
    if (a.type.empty()) return report_usage_error("append: --type is required (or --file)");
    NewEvent e;
    e.event_type = a.type;
    if (a.binary) {
      auto decoded = base64_decode(a.data);
      if (!decoded) return report_usage_error("--data: with --binary, " + decoded.status().message());
      e.data = std::move(decoded).value();
      e.data_content_type = ContentType::kBinary;
    } else {
      e.data = a.data;
    }
    e.metadata = a.metadata;
    e.tags = a.tags;
    if (!a.id.empty()) {
      auto id = Uuid::parse(a.id);
      if (!id) return report_usage_error("--id: " + id.status().message());
      e.event_id = *id;
    }
    events.push_back(std::move(e));
  }

  auto client = s.client();
  if (!client) return report_error(client.status());
  auto r = (*client)->append(a.stream, expected, std::move(events));
  if (!r) return report_error(r.status());
  Json j;
  j["stream_id"] = r->stream_id.empty() ? a.stream : r->stream_id;
  j["first_version"] = r->first_version;
  j["last_version"] = r->last_version;
  j["position"] = r->position;
  s.out().record(j);
  return kExitOk;
}

void add_append(CLI::App& app, Runner* selected) {
  auto a = std::make_shared<AppendArgs>();
  auto* sub = app.add_subcommand("append", "Append events to a stream (one atomic append)");
  sub->add_option("stream", a->stream, "Stream id")->required();
  auto* type = sub->add_option("--type", a->type, "Event type");
  auto* data = sub->add_option("--data", a->data,
                               "Event data: JSON (sent as application/json), or base64 with --binary");
  auto* metadata = sub->add_option("--metadata", a->metadata, "Event metadata (JSON)");
  auto* tag = sub->add_option("--tag", a->tags, "Tag (repeatable)")->allow_extra_args(false);
  auto* id = sub->add_option("--id", a->id, "Event id (UUID; generated when absent)");
  auto* binary = sub->add_flag("--binary", a->binary,
                               "--data is base64 of binary bytes (application/octet-stream)");
  sub->add_option("--expected", a->expected, "any | no-stream | exists | N")->capture_default_str();
  auto* file = sub->add_option("--file", a->file,
                               "JSON-lines file of events ('-' = stdin); all lines = one append");
  for (auto* o : {type, data, metadata, tag, id, binary}) file->excludes(o);
  data->needs(type);
  type->needs(data);
  sub->callback([a, selected] { *selected = [a](Session& s) { return run_append(s, *a); }; });
}

// ---------------------------------------------------------------- read
struct ReadArgs {
  std::string stream;
  int64_t from = 0;
  uint64_t count = 0;
  bool backward = false;
  CLI::Option* from_opt = nullptr;
};

int run_read(Session& s, const ReadArgs& a) {
  auto client = s.client();
  if (!client) return report_error(client.status());
  ReadStreamOptions o;
  o.direction = a.backward ? Direction::kBackward : Direction::kForward;
  o.from_version = a.from_opt->count() > 0 ? a.from : (a.backward ? kEndVersion : 0);
  o.max_count = a.count;
  Output::List list(s.out(), kEventColumns);
  Status st = (*client)->read_streaming(a.stream, o, [&](const Event& e) {
    add_event(list, s.out(), e);
    return true;
  });
  if (!st) return report_error(st);  // before finish(): no empty table above the error
  list.finish();
  return kExitOk;
}

void add_read(CLI::App& app, Runner* selected) {
  auto a = std::make_shared<ReadArgs>();
  auto* sub = app.add_subcommand("read", "Read the events of a stream");
  sub->add_option("stream", a->stream, "Stream id")->required();
  a->from_opt = sub->add_option("--from", a->from,
                                "First version (inclusive; default: first, or last with --backward)")
                    ->check(integer_at_least(0));
  sub->add_option("--count", a->count, "Most events to print (0 = all)")
      ->check(integer_at_least(0))
      ->capture_default_str();
  sub->add_flag("--backward", a->backward, "Newest first");
  sub->callback([a, selected] { *selected = [a](Session& s) { return run_read(s, *a); }; });
}

// ---------------------------------------------------------------- read-all
struct ReadAllArgs {
  uint64_t from = 0;
  uint64_t count = 0;
  bool backward = false;
  std::vector<std::string> types;
  std::vector<std::string> prefixes;
  std::vector<std::string> tags;
  bool all_tags = false;
  bool exclude_system = false;
  CLI::Option* from_opt = nullptr;
};

int run_read_all(Session& s, const ReadAllArgs& a) {
  auto client = s.client();
  if (!client) return report_error(client.status());
  ReadAllOptions o;
  o.direction = a.backward ? Direction::kBackward : Direction::kForward;
  o.from_position = a.from_opt->count() > 0 ? a.from : (a.backward ? kEndPosition : kStartPosition);
  o.max_count = a.count;
  o.filter.event_types = a.types;
  o.filter.stream_prefixes = a.prefixes;
  o.filter.tags = a.tags;
  o.filter.tag_match = a.all_tags ? TagMatch::kAll : TagMatch::kAny;
  o.filter.exclude_system_streams = a.exclude_system;
  Output::List list(s.out(), kEventColumns);
  Status st = (*client)->read_all_streaming(o, [&](const Event& e) {
    add_event(list, s.out(), e);
    return true;
  });
  if (!st) return report_error(st);  // before finish(): no empty table above the error
  list.finish();
  return kExitOk;
}

void add_read_all(CLI::App& app, Runner* selected) {
  auto a = std::make_shared<ReadAllArgs>();
  auto* sub = app.add_subcommand("read-all", "Read $all (every stream) in global order");
  a->from_opt = sub->add_option("--from", a->from,
                                "First position (inclusive; default: first, or last with --backward)")
                    ->check(integer_at_least(0));
  sub->add_option("--count", a->count, "Most events to print (0 = all)")
      ->check(integer_at_least(0))
      ->capture_default_str();
  sub->add_flag("--backward", a->backward, "Newest first");
  sub->add_option("--type", a->types, "Only this event type (repeatable: any of them)")
      ->allow_extra_args(false);
  sub->add_option("--stream-prefix", a->prefixes, "Only streams with this prefix (repeatable)")
      ->allow_extra_args(false);
  sub->add_option("--tag", a->tags, "Only events with this tag (repeatable: any of them)")
      ->allow_extra_args(false);
  sub->add_flag("--all-tags", a->all_tags, "With several --tag: events must carry all of them");
  sub->add_flag("--exclude-system", a->exclude_system, "Skip system streams ($...)");
  sub->callback([a, selected] { *selected = [a](Session& s) { return run_read_all(s, *a); }; });
}

// ---------------------------------------------------------------- version
void add_version(CLI::App& app, Runner* selected) {
  auto stream = std::make_shared<std::string>();
  auto* sub = app.add_subcommand(
      "version", "Print a stream's last version (-1 when it has none; exit 4 when it is tombstoned)");
  sub->add_option("stream", *stream, "Stream id")->required();
  sub->callback([stream, selected] {
    *selected = [stream](Session& s) {
      auto client = s.client();
      if (!client) return report_error(client.status());
      auto v = (*client)->get_version(*stream);
      if (!v) return report_error(v.status());
      if (*v == kNoVersion) {
        // -1 also stands for a tombstoned stream, which will never have a version again: say so,
        // as `read` does. (Absent and soft-deleted streams stay -1: they can be appended to.)
        auto info = (*client)->stream_info(*stream);
        if (info && info->state == StreamState::kTombstoned) return report_error(Status::stream_deleted(*stream));
      }
      Json j;
      j["stream_id"] = *stream;
      j["version"] = *v;
      s.out().record(j);
      return kExitOk;
    };
  });
}

// ---------------------------------------------------------------- streams
struct StreamsArgs {
  std::string prefix;
  uint64_t limit = 0;
  bool include_deleted = false;
};

int run_streams(Session& s, const StreamsArgs& a) {
  auto client = s.client();
  if (!client) return report_error(client.status());
  ListStreamsOptions o;
  o.prefix = a.prefix;
  o.include_deleted = a.include_deleted;
  o.limit = 1000;
  uint64_t printed = 0;
  Output::List list(s.out(), {"stream_id", "last_version", "state", "last_position"});
  while (true) {
    if (a.limit > 0) o.limit = std::min<uint64_t>(1000, a.limit - printed);
    auto page = (*client)->list_streams(o);
    if (!page) {
      list.finish();
      return report_error(page.status());
    }
    for (const auto& info : page->streams) {
      Json j;
      j["stream_id"] = info.stream_id;
      j["last_version"] = info.last_version;
      j["state"] = state_name(info.state);
      j["last_position"] = info.last_position;
      list.add(j);
      ++printed;
    }
    if (page->next_after.empty() || page->streams.empty()) break;
    if (a.limit > 0 && printed >= a.limit) break;
    o.after = page->next_after;
  }
  list.finish();
  return kExitOk;
}

void add_streams(CLI::App& app, Runner* selected) {
  auto a = std::make_shared<StreamsArgs>();
  auto* sub = app.add_subcommand("streams", "List streams in byte order");
  sub->add_option("--prefix", a->prefix, "Only streams with this prefix");
  sub->add_option("--limit", a->limit, "Most streams to list (0 = all)")
      ->check(integer_at_least(0))
      ->capture_default_str();
  sub->add_flag("--include-deleted", a->include_deleted, "Also list deleted streams");
  sub->callback([a, selected] { *selected = [a](Session& s) { return run_streams(s, *a); }; });
}

// ---------------------------------------------------------------- delete
struct DeleteArgs {
  std::string stream;
  bool tombstone = false;
  std::string expected = "any";
};

int run_delete(Session& s, const DeleteArgs& a) {
  ExpectedVersion expected = kExpectAny;
  int code = 0;
  if (!resolve_expected(a.expected, &expected, &code)) return code;
  auto client = s.client();
  if (!client) return report_error(client.status());
  Status st = a.tombstone ? (*client)->tombstone_stream(a.stream, expected)
                          : (*client)->delete_stream(a.stream, expected);
  if (!st) return report_error(st);
  Json j;
  j["stream_id"] = a.stream;
  j["deleted"] = true;
  j["tombstone"] = a.tombstone;
  s.out().record(j);
  return kExitOk;
}

void add_delete(CLI::App& app, Runner* selected) {
  auto a = std::make_shared<DeleteArgs>();
  auto* sub = app.add_subcommand("delete", "Delete a stream (soft), or tombstone it for good");
  sub->add_option("stream", a->stream, "Stream id")->required();
  sub->add_flag("--tombstone", a->tombstone, "Permanent: the stream can never be written again");
  sub->add_option("--expected", a->expected, "any | no-stream | exists | N")->capture_default_str();
  sub->callback([a, selected] { *selected = [a](Session& s) { return run_delete(s, *a); }; });
}

// ---------------------------------------------------------------- snapshot
struct SnapshotArgs {
  std::string stream;
  int64_t version = 0;
  std::string data;
  std::string metadata;
  bool binary = false;
  CLI::Option* version_opt = nullptr;
};

int run_snapshot_save(Session& s, const SnapshotArgs& a) {
  Snapshot snap;
  snap.stream_id = a.stream;
  snap.version = a.version;
  // The server stores snapshot bytes as they come (they carry no content type), so the CLI
  // itself refuses what append would refuse: data that is not JSON unless --binary says so.
  if (a.binary) {
    auto decoded = base64_decode(a.data);
    if (!decoded) return report_usage_error("--data: with --binary, " + decoded.status().message());
    snap.data = std::move(decoded).value();
  } else {
    if (Status st = json::validate(a.data, "snapshot data"); !st) return report_error(st);
    snap.data = a.data;
  }
  if (!a.metadata.empty()) {
    if (Status st = json::validate(a.metadata, "snapshot metadata"); !st) return report_error(st);
  }
  snap.metadata = a.metadata;
  auto client = s.client();
  if (!client) return report_error(client.status());
  Status st = (*client)->save_snapshot(snap);
  if (!st) return report_error(st);
  Json j;
  j["stream_id"] = a.stream;
  j["version"] = a.version;
  s.out().record(j);
  return kExitOk;
}

int run_snapshot_load(Session& s, const SnapshotArgs& a) {
  auto client = s.client();
  if (!client) return report_error(client.status());
  auto snap = a.version_opt->count() > 0 ? (*client)->load_snapshot_at(a.stream, a.version)
                                         : (*client)->load_snapshot(a.stream);
  if (!snap) return report_error(snap.status());
  s.out().record(snapshot_to_json(*snap));
  return kExitOk;
}

int run_snapshot_list(Session& s, const SnapshotArgs& a) {
  auto client = s.client();
  if (!client) return report_error(client.status());
  auto snaps = (*client)->list_snapshots(a.stream);
  if (!snaps) return report_error(snaps.status());
  Output::List list(s.out(), {"stream_id", "version", "created", "data", "metadata"});
  for (const auto& snap : *snaps) {
    Json j = snapshot_to_json(snap);
    if (!s.out().json()) j["created"] = format_timestamp_us(snap.created_us);
    list.add(j);
  }
  list.finish();
  return kExitOk;
}

int run_snapshot_delete(Session& s, const SnapshotArgs& a) {
  auto client = s.client();
  if (!client) return report_error(client.status());
  bool one = a.version_opt->count() > 0;
  Status st = one ? (*client)->delete_snapshot_at(a.stream, a.version)
                  : (*client)->delete_snapshots(a.stream);
  if (!st) return report_error(st);
  Json j;
  j["stream_id"] = a.stream;
  if (one) j["version"] = a.version;
  j["deleted"] = true;
  s.out().record(j);
  return kExitOk;
}

void add_snapshot(CLI::App& app, Runner* selected) {
  auto* group = app.add_subcommand("snapshot", "Save, load, list and delete snapshots");
  group->require_subcommand(1);

  auto save = std::make_shared<SnapshotArgs>();
  auto* sub = group->add_subcommand("save", "Save a snapshot of a stream at a version");
  sub->add_option("stream", save->stream, "Stream id")->required();
  save->version_opt = sub->add_option("--version", save->version, "Stream version")
                          ->required()
                          ->check(integer_at_least(0));
  sub->add_option("--data", save->data, "Snapshot state: JSON, or base64 with --binary")->required();
  sub->add_option("--metadata", save->metadata, "Snapshot metadata (JSON)");
  sub->add_flag("--binary", save->binary, "--data is base64 of binary bytes");
  sub->callback([save, selected] {
    *selected = [save](Session& s) { return run_snapshot_save(s, *save); };
  });

  auto load = std::make_shared<SnapshotArgs>();
  sub = group->add_subcommand("load", "Print the latest snapshot, or the one at --version");
  sub->add_option("stream", load->stream, "Stream id")->required();
  load->version_opt = sub->add_option("--version", load->version, "Exact version")
                          ->check(integer_at_least(0));
  sub->callback([load, selected] {
    *selected = [load](Session& s) { return run_snapshot_load(s, *load); };
  });

  auto list = std::make_shared<SnapshotArgs>();
  sub = group->add_subcommand("list", "List a stream's snapshots in version order");
  sub->add_option("stream", list->stream, "Stream id")->required();
  sub->callback([list, selected] {
    *selected = [list](Session& s) { return run_snapshot_list(s, *list); };
  });

  auto del = std::make_shared<SnapshotArgs>();
  sub = group->add_subcommand("delete", "Delete a stream's snapshots, or the one at --version");
  sub->add_option("stream", del->stream, "Stream id")->required();
  del->version_opt = sub->add_option("--version", del->version, "Exact version")
                         ->check(integer_at_least(0));
  sub->callback([del, selected] {
    *selected = [del](Session& s) { return run_snapshot_delete(s, *del); };
  });
}

}  // namespace

void add_stream_commands(CLI::App& app, Runner* selected) {
  add_append(app, selected);
  add_read(app, selected);
  add_read_all(app, selected);
  add_version(app, selected);
  add_streams(app, selected);
  add_delete(app, selected);
  add_snapshot(app, selected);
}

}  // namespace reckon::cli
