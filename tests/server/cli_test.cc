// End-to-end tests of the `reckon` CLI against a real reckond: every command's --json output
// field by field, every exit code, RECKON_SERVER, table output, import/export round trip, bench.
#include <filesystem>
#include <fstream>

#include "server/server_test_util.h"

namespace reckon::testing {
namespace {

using nlohmann::json;

std::string describe(const ProgramResult& r) {
  return "exit " + std::to_string(r.exit_code) + (r.timed_out ? " (timed out)" : "") +
         "\n--- stdout:\n" + r.out + "\n--- stderr:\n" + r.err;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

class CliTest : public SharedServerTest {
 protected:
  // `reckon --server <addr> --json args...`
  ProgramResult Cli(std::vector<std::string> args, bool as_json = true) {
    std::vector<std::string> full = {"--server", server().grpc_address()};
    if (as_json) full.push_back("--json");
    full.insert(full.end(), args.begin(), args.end());
    return run_cli(full);
  }
  // Runs a command that must succeed and print exactly one JSON object.
  json CliObject(std::vector<std::string> args) {
    auto r = Cli(std::move(args));
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    auto lines = json_lines(r.out);
    EXPECT_EQ(lines.size(), 1u) << describe(r);
    return lines.empty() ? json::object() : lines[0];
  }
  // Runs a command that must succeed; its JSON lines.
  std::vector<json> CliLines(std::vector<std::string> args) {
    auto r = Cli(std::move(args));
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    return json_lines(r.out);
  }
  // Runs a command that must fail with `exit_code` and print "error: <code_name>: ..." on stderr.
  ProgramResult CliFails(std::vector<std::string> args, int exit_code, const std::string& code_name) {
    auto r = Cli(std::move(args));
    EXPECT_EQ(r.exit_code, exit_code) << describe(r);
    EXPECT_EQ(r.err.rfind("error: " + code_name, 0), 0u) << describe(r);
    EXPECT_TRUE(r.out.empty()) << describe(r);
    return r;
  }
};

std::vector<int64_t> versions_in(const std::vector<json>& lines) {
  std::vector<int64_t> out;
  for (const auto& l : lines) out.push_back(l.at("version").get<int64_t>());
  return out;
}

// ---------------------------------------------------------------- append and read

TEST_F(CliTest, AppendPrintsStreamVersionsAndPosition) {
  const std::string s = unique_name("cli-append");
  json r = CliObject({"append", s, "--type", "Created", "--data", R"({"a":1})"});
  EXPECT_EQ(r.size(), 4u) << r;
  EXPECT_EQ(r.at("stream_id"), s);
  EXPECT_EQ(r.at("first_version"), 0);
  EXPECT_EQ(r.at("last_version"), 0);
  EXPECT_GT(r.at("position").get<uint64_t>(), 0u);

  json r2 = CliObject({"append", s, "--type", "Updated", "--data", "{}", "--expected", "0"});
  EXPECT_EQ(r2.at("first_version"), 1);
  EXPECT_EQ(r2.at("last_version"), 1);
  EXPECT_GT(r2.at("position").get<uint64_t>(), r.at("position").get<uint64_t>());
  EXPECT_EQ(client().get_version(s).value(), 1);
}

TEST_F(CliTest, AppendWithEveryFlagThenReadShowsEveryField) {
  const std::string s = unique_name("cli-full");
  const std::string id = Uuid::v7().to_string();
  json a = CliObject({"append", s, "--type", "OrderPlaced", "--data", R"({"id":7,"items":["x"]})",
                      "--metadata", R"({"correlation_id":"c-9"})", "--tag", "vip", "--tag",
                      "eu", "--id", id, "--expected", "no-stream"});
  auto lines = CliLines({"read", s});
  ASSERT_EQ(lines.size(), 1u);
  const json& e = lines[0];
  EXPECT_EQ(e.at("stream_id"), s);
  EXPECT_EQ(e.at("version"), 0);
  EXPECT_EQ(e.at("position"), a.at("position"));
  EXPECT_EQ(e.at("event_id"), id);
  EXPECT_EQ(e.at("event_type"), "OrderPlaced");
  EXPECT_EQ(e.at("data"), json::parse(R"({"id":7,"items":["x"]})")) << "data must be a JSON value";
  EXPECT_EQ(e.at("metadata"), json::parse(R"({"correlation_id":"c-9"})"));
  auto tags = e.at("tags").get<std::vector<std::string>>();
  EXPECT_EQ(sorted(tags), (std::vector<std::string>{"eu", "vip"}));
  auto created = e.at("created_us").get<int64_t>();
  auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_GT(created, now_us - 600'000'000);
  EXPECT_LE(created, now_us + 60'000'000);
  for (const char* f : {"stream_id", "version", "position", "event_id", "event_type", "data",
                        "metadata", "tags", "created_us"}) {
    EXPECT_TRUE(e.contains(f)) << f;
  }

  // Empty metadata reads as null; the event as stored is what the client sees.
  CliObject({"append", s, "--type", "Plain", "--data", "[1,2]"});
  auto both = CliLines({"read", s});
  ASSERT_EQ(both.size(), 2u);
  EXPECT_TRUE(both[1].at("metadata").is_null());
  EXPECT_EQ(both[1].at("data"), json::parse("[1,2]"));
  EXPECT_EQ(both[1].at("tags"), json::array());
  auto stored = client().read(s, ReadStreamOptions{}).value().events;
  EXPECT_EQ(stored[0].event_id.to_string(), id);
  EXPECT_EQ(stored[0].data_content_type, ContentType::kJson);
}

TEST_F(CliTest, GlobalFlagsWorkBeforeAndAfterTheSubcommand) {
  const std::string s = unique_name("cli-flags");
  auto r = run_cli({"append", s, "--type", "T", "--data", "{}", "--json", "--server",
                    server().grpc_address()});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(json::parse(r.out).at("stream_id"), s);
  r = run_cli({"--json", "version", s, "--server", server().grpc_address()});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(json::parse(r.out).at("version"), 0);
  r = run_cli({"snapshot", "list", s, "--server", server().grpc_address(), "--json"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(r.out.empty()) << describe(r);
}

TEST_F(CliTest, BinaryDataIsBase64) {
  const std::string s = unique_name("cli-bin");
  std::string bytes("\x00\x01\xfe\xff hello", 10);
  CliObject({"append", s, "--type", "Blob", "--binary", "--data", "AAH+/yBoZWxsbw=="});
  auto stored = client().read(s, ReadStreamOptions{}).value().events;
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].data, bytes);
  EXPECT_EQ(stored[0].data_content_type, ContentType::kBinary);
  auto lines = CliLines({"read", s});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].at("data"), "AAH+/yBoZWxsbw==");
  EXPECT_EQ(lines[0].at("data_content_type"), "application/octet-stream");
  CliFails({"append", s, "--type", "Blob", "--binary", "--data", "not base64!"}, 2, "");
}

TEST_F(CliTest, AppendFileIsOneAtomicAppend) {
  TempDir dir;
  const std::string s = unique_name("cli-file");
  const std::string id = Uuid::v7().to_string();
  const std::string path = dir.sub("events.jsonl");
  {
    std::ofstream f(path);
    f << R"({"event_type":"A","data":{"n":1},"tags":["x"],"event_id":")" << id << "\"}\n";
    f << "\n";
    f << R"({"type":"B","data":[1,2,3],"metadata":{"m":true}})" << "\n";
    f << R"({"type":"C","data_base64":"AAEC"})" << "\n";
    f << R"({"type":"D","data":"AwQ=","data_content_type":"application/octet-stream"})" << "\n";
  }
  json r = CliObject({"append", s, "--file", path, "--expected", "no-stream"});
  EXPECT_EQ(r.at("stream_id"), s);
  EXPECT_EQ(r.at("first_version"), 0);
  EXPECT_EQ(r.at("last_version"), 3);
  auto events = client().read(s, ReadStreamOptions{}).value().events;
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].event_id.to_string(), id);
  EXPECT_EQ(events[0].tags, std::vector<std::string>{"x"});
  EXPECT_EQ(json::parse(events[0].data), json::parse(R"({"n":1})"));
  EXPECT_EQ(events[1].event_type, "B");
  EXPECT_EQ(json::parse(events[1].metadata), json::parse(R"({"m":true})"));
  EXPECT_EQ(events[2].data, std::string("\x00\x01\x02", 3));
  EXPECT_EQ(events[2].data_content_type, ContentType::kBinary);
  EXPECT_EQ(events[3].data, std::string("\x03\x04", 2));
  EXPECT_EQ(positions_of(events).back(), r.at("position").get<uint64_t>());

  // One bad line: nothing is appended.
  const std::string s2 = unique_name("cli-file-bad");
  const std::string bad = dir.sub("bad.jsonl");
  {
    std::ofstream f(bad);
    f << R"({"type":"A","data":{}})" << "\n" << R"({"type":"B","data":)" << "\n";
  }
  auto fail = CliFails({"append", s2, "--file", bad}, 1, "InvalidArgument");
  EXPECT_NE(fail.err.find("bad.jsonl:2"), std::string::npos) << fail.err;
  EXPECT_EQ(client().get_version(s2).value(), -1);

  // One line with invalid data for the server (invalid UTF-8 in JSON is refused locally; an
  // event too large is refused by the server): still nothing is appended.
  const std::string big = dir.sub("big.jsonl");
  {
    std::ofstream f(big);
    f << R"({"type":"A","data":{}})" << "\n";
    f << R"({"type":"B","data":")" << std::string(1'200'000, 'x') << "\"}\n";
  }
  CliFails({"append", s2, "--file", big}, 1, "LimitExceeded");
  EXPECT_EQ(client().get_version(s2).value(), -1);

  CliFails({"append", s2, "--file", dir.sub("missing.jsonl")}, 1, "IoError");
  // From stdin.
  RunOptions o;
  o.stdin_data = R"({"type":"S","data":{"from":"stdin"}})" "\n";
  auto piped = run_cli({"--server", server().grpc_address(), "--json", "append", s2, "--file", "-"}, o);
  ASSERT_EQ(piped.exit_code, 0) << describe(piped);
  EXPECT_EQ(json::parse(piped.out).at("last_version"), 0);
}

TEST_F(CliTest, ReadFromCountBackward) {
  const std::string s = unique_name("cli-read");
  MustAppend(s, kExpectAny, make_events(5));
  EXPECT_EQ(versions_in(CliLines({"read", s})), iota_versions(0, 4));
  EXPECT_EQ(versions_in(CliLines({"read", s, "--from", "1", "--count", "2"})),
            (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(versions_in(CliLines({"read", s, "--backward", "--count", "2"})),
            (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(versions_in(CliLines({"read", s, "--backward", "--from", "2"})),
            (std::vector<int64_t>{2, 1, 0}));
  EXPECT_TRUE(CliLines({"read", s, "--from", "5"}).empty());
  auto lines = CliLines({"read", s, "--count", "1"});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].at("data"), json::parse(R"({"i":0})"));
  EXPECT_EQ(lines[0].at("event_type"), "Tested");
}

TEST_F(CliTest, ReadAllWithFilters) {
  const std::string p = unique_name("cli-all") + "-";
  const std::string ta = unique_name("CliTypeA");
  auto r1 = MustAppend(p + "1", kExpectAny,
                       {make_event(ta, "{}", {"red"}), make_event("CliTypeB", "{}", {"blue"})});
  auto r2 = MustAppend(p + "2", kExpectAny, {make_event(ta, R"({"k":2})", {"red", "blue"})});

  auto all = CliLines({"read-all", "--stream-prefix", p});
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].at("position"), r1.first_position);
  EXPECT_EQ(all[2].at("position"), r2.position);
  EXPECT_EQ(all[2].at("stream_id"), p + "2");
  EXPECT_EQ(all[2].at("data"), json::parse(R"({"k":2})"));
  for (const char* f : {"stream_id", "version", "position", "event_id", "event_type", "data",
                        "metadata", "tags", "created_us"}) {
    EXPECT_TRUE(all[0].contains(f)) << f;
  }

  auto by_type = CliLines({"read-all", "--stream-prefix", p, "--type", ta});
  ASSERT_EQ(by_type.size(), 2u);
  EXPECT_EQ(by_type[0].at("position"), r1.first_position);
  EXPECT_EQ(by_type[1].at("position"), r2.position);
  EXPECT_EQ(CliLines({"read-all", "--stream-prefix", p, "--type", ta, "--type", "CliTypeB"}).size(), 3u);
  auto by_tag = CliLines({"read-all", "--stream-prefix", p, "--tag", "blue"});
  ASSERT_EQ(by_tag.size(), 2u);
  EXPECT_EQ(by_tag[0].at("event_type"), "CliTypeB");
  EXPECT_EQ(CliLines({"read-all", "--stream-prefix", p, "--tag", "blue", "--tag", "red",
                      "--all-tags"}).size(), 1u);
  auto last = CliLines({"read-all", "--stream-prefix", p, "--backward", "--count", "1"});
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].at("position"), r2.position);
  auto from = CliLines({"read-all", "--stream-prefix", p, "--from",
                        std::to_string(r1.position)});
  ASSERT_EQ(from.size(), 2u);
  EXPECT_EQ(from[0].at("position"), r1.position);
  // No filter: the newest event of the store comes first backward.
  auto newest = CliLines({"read-all", "--backward", "--count", "1"});
  ASSERT_EQ(newest.size(), 1u);
  EXPECT_GE(newest[0].at("position").get<uint64_t>(), r2.position);
}

// ---------------------------------------------------------------- stream state

TEST_F(CliTest, VersionAndStreams) {
  const std::string p = unique_name("cli-streams") + "-";
  json v = CliObject({"version", p + "x"});
  EXPECT_EQ(v.at("stream_id"), p + "x");
  EXPECT_EQ(v.at("version"), -1);
  MustAppend(p + "b", kExpectAny, make_events(3));
  MustAppend(p + "a", kExpectAny, make_events(1));
  v = CliObject({"version", p + "b"});
  EXPECT_EQ(v.size(), 2u);
  EXPECT_EQ(v.at("version"), 2);

  auto streams = CliLines({"streams", "--prefix", p});
  ASSERT_EQ(streams.size(), 2u);
  EXPECT_EQ(streams[0].at("stream_id"), p + "a");
  EXPECT_EQ(streams[1].at("stream_id"), p + "b");
  EXPECT_EQ(streams[1].at("last_version"), 2);
  EXPECT_EQ(streams[1].at("state"), "live");
  EXPECT_GT(streams[1].at("last_position").get<uint64_t>(), 0u);
  EXPECT_TRUE(CliLines({"streams", "--prefix", p + "zzz"}).empty());
}

TEST_F(CliTest, DeleteAndTombstone) {
  const std::string s = unique_name("cli-del");
  MustAppend(s, kExpectAny, make_events(2));
  auto wev = CliFails({"delete", s, "--expected", "7"}, 3, "WrongExpectedVersion");
  json d = CliObject({"delete", s, "--expected", "1"});
  EXPECT_EQ(d.at("stream_id"), s);
  EXPECT_EQ(d.at("deleted"), true);
  EXPECT_EQ(d.at("tombstone"), false);
  CliFails({"read", s}, 4, "StreamDeleted");
  EXPECT_EQ(CliObject({"version", s}).at("version"), -1);
  EXPECT_EQ(CliLines({"streams", "--prefix", s}).size(), 0u);

  const std::string t = unique_name("cli-tomb");
  MustAppend(t, kExpectAny, make_events(1));
  json tomb = CliObject({"delete", t, "--tombstone"});
  EXPECT_EQ(tomb.at("tombstone"), true);
  CliFails({"read", t}, 4, "StreamDeleted");
  CliFails({"append", t, "--type", "T", "--data", "{}"}, 4, "StreamDeleted");
  CliFails({"version", t}, 4, "StreamDeleted");  // it will never have a version again
}

TEST_F(CliTest, Snapshots) {
  const std::string s = unique_name("cli-snap");
  CliFails({"snapshot", "load", s}, 4, "NotFound");
  json saved = CliObject({"snapshot", "save", s, "--version", "3", "--data", R"({"total":30})",
                          "--metadata", R"({"by":"cli"})"});
  EXPECT_EQ(saved.at("stream_id"), s);
  EXPECT_EQ(saved.at("version"), 3);
  CliObject({"snapshot", "save", s, "--version", "7", "--data", R"({"total":70})"});

  json latest = CliObject({"snapshot", "load", s});
  EXPECT_EQ(latest.at("stream_id"), s);
  EXPECT_EQ(latest.at("version"), 7);
  EXPECT_EQ(latest.at("data"), json::parse(R"({"total":70})"));
  EXPECT_TRUE(latest.at("metadata").is_null());
  EXPECT_GT(latest.at("created_us").get<int64_t>(), 0);
  json at3 = CliObject({"snapshot", "load", s, "--version", "3"});
  EXPECT_EQ(at3.at("data"), json::parse(R"({"total":30})"));
  EXPECT_EQ(at3.at("metadata"), json::parse(R"({"by":"cli"})"));
  CliFails({"snapshot", "load", s, "--version", "4"}, 4, "NotFound");

  auto list = CliLines({"snapshot", "list", s});
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].at("version"), 3);
  EXPECT_EQ(list[1].at("version"), 7);

  json del = CliObject({"snapshot", "delete", s, "--version", "7"});
  EXPECT_EQ(del.at("deleted"), true);
  EXPECT_EQ(CliObject({"snapshot", "load", s}).at("version"), 3);
  CliObject({"snapshot", "delete", s});
  EXPECT_TRUE(CliLines({"snapshot", "list", s}).empty());
  CliFails({"snapshot", "load", s}, 4, "NotFound");
}

TEST_F(CliTest, SnapshotSaveRefusesDataThatIsNotJsonUnlessBinary) {
  const std::string s = unique_name("cli-snap-json");
  // Refused like `append --data notjson`: exit 1, "error: InvalidArgument: ...", nothing saved.
  auto r = CliFails({"snapshot", "save", s, "--version", "1", "--data", "notjson"}, 1, "InvalidArgument");
  EXPECT_NE(r.err.find("snapshot data is not valid JSON"), std::string::npos) << describe(r);
  r = CliFails({"snapshot", "save", s, "--version", "1", "--data", "{}", "--metadata", "[1,"}, 1,
               "InvalidArgument");
  EXPECT_NE(r.err.find("snapshot metadata is not valid JSON"), std::string::npos) << describe(r);
  EXPECT_EQ(client().load_snapshot(s).code(), ErrorCode::kNotFound);

  // --binary, as for append: --data is base64 of the bytes.
  CliFails({"snapshot", "save", s, "--version", "1", "--binary", "--data", "not base64!"}, 2, "");
  CliObject({"snapshot", "save", s, "--version", "1", "--binary", "--data", "AAH+/w=="});
  auto stored = client().load_snapshot(s);
  ASSERT_TRUE(stored.is_ok()) << stored.status().to_string();
  EXPECT_EQ(stored->data, std::string("\x00\x01\xfe\xff", 4));
}

TEST_F(CliTest, BinarySnapshotsPrintAsBase64) {
  const std::string s = unique_name("cli-snap-bin");
  Snapshot snap;
  snap.stream_id = s;
  snap.version = 2;
  snap.data = std::string("\x00\x01\xfe\xff", 4);
  snap.metadata = "\xff not json";
  RECKON_ASSERT_OK(client().save_snapshot(snap));
  snap.version = 4;
  snap.data = R"("a JSON string")";
  snap.metadata = "";
  RECKON_ASSERT_OK(client().save_snapshot(snap));

  json binary = CliObject({"snapshot", "load", s, "--version", "2"});
  EXPECT_EQ(binary.at("data"), "AAH+/w==");
  EXPECT_EQ(binary.at("data_content_type"), "application/octet-stream");
  EXPECT_EQ(binary.at("metadata"), "/yBub3QganNvbg==");
  EXPECT_EQ(binary.at("metadata_content_type"), "application/octet-stream");
  json text = CliObject({"snapshot", "load", s});
  EXPECT_EQ(text.at("data"), "a JSON string") << "JSON data stays a JSON value";
  EXPECT_FALSE(text.contains("data_content_type")) << text;
  EXPECT_TRUE(text.at("metadata").is_null());
  auto list = CliLines({"snapshot", "list", s});
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].at("data"), "AAH+/w==");
  EXPECT_EQ(list[1].at("data"), "a JSON string");
}

TEST_F(CliTest, Status) {
  json st = CliObject({"status"});
  EXPECT_GT(st.at("node_id").get<uint64_t>(), 0u);
  EXPECT_EQ(st.at("role"), "leader");
  EXPECT_FALSE(st.at("leader").get<std::string>().empty());
  EXPECT_GE(st.at("term").get<uint64_t>(), 1u);
  ASSERT_TRUE(st.at("members").is_array());
  ASSERT_EQ(st.at("members").size(), 1u);
  const json& m = st.at("members")[0];
  EXPECT_EQ(m.at("node_id"), st.at("node_id"));
  EXPECT_EQ(m.at("address"), st.at("leader"));
  EXPECT_TRUE(m.contains("raft_address"));
  EXPECT_EQ(m.at("role"), "leader");
  EXPECT_EQ(m.at("voter"), true);
  EXPECT_TRUE(m.at("match_index").is_number_unsigned());
  EXPECT_EQ(m.at("lag"), 0);
}

// ---------------------------------------------------------------- exit codes

TEST_F(CliTest, UsageErrorsExitTwo) {
  const std::vector<std::vector<std::string>> cases = {
      {},
      {"frobnicate"},
      {"append"},
      {"append", "s", "--type", "T"},
      {"append", "s", "--data", "{}"},
      {"append", "s"},
      {"append", "s", "--type", "T", "--data", "{}", "--expected", "sometimes"},
      {"append", "s", "--type", "T", "--data", "{}", "--id", "not-a-uuid"},
      {"append", "s", "--file", "x.jsonl", "--type", "T"},
      {"read"},
      {"read", "s", "--count", "abc"},
      {"read", "s", "--bogus"},
      {"read-all", "--from", "-3"},
      {"delete", "s", "--expected", "-7"},
      {"snapshot"},
      {"snapshot", "save", "s", "--data", "{}"},
      {"bench"},
      {"bench", "append", "--clients", "0"},
      {"import"},
  };
  for (const auto& args : cases) {
    auto r = Cli(args);
    std::string cmd;
    for (const auto& a : args) cmd += a + " ";
    EXPECT_EQ(r.exit_code, 2) << "reckon " << cmd << "\n" << describe(r);
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << "reckon " << cmd << "\n" << describe(r);
  }
  auto r = run_cli({"--server", "", "version", "s"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  auto help = run_cli({"--help"});
  EXPECT_EQ(help.exit_code, 0) << describe(help);
  EXPECT_NE(help.out.find("append"), std::string::npos);
  help = run_cli({"read-all", "--help"});
  EXPECT_EQ(help.exit_code, 0) << describe(help);
  EXPECT_NE(help.out.find("--stream-prefix"), std::string::npos) << help.out;
}

TEST_F(CliTest, UsageErrorsSayWhatIsWrong) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"frob"}, "error: unknown command 'frob'"},
      {{"snapshot", "frob", "s1"}, "error: unknown command 'snapshot frob'"},
      {{"cluster", "frob"}, "error: unknown command 'cluster frob'"},
      {{"read", "s1", "--from", "-1"}, "error: --from: must be >= 0 (got '-1')"},
      {{"read", "s1", "--count", "x"}, "error: --count: must be an integer >= 0 (got 'x')"},
      {{"read", "s1", "--from", "99999999999999999999"},
       "error: --from: must be at most 9223372036854775807 (got '99999999999999999999')"},
      {{"--timeout", "0", "version", "s1"}, "error: --timeout: must be >= 1 (got '0')"},
      {{"read-all", "--from", "-3"}, "error: --from: must be >= 0 (got '-3')"},
      {{"bench", "append", "--clients", "0"}, "error: --clients: must be from 1 to 4096 (got '0')"},
      {{"bench", "append", "--duration", "0"},
       "error: --duration: must be from 0.001 to 86400 (got '0')"},
      {{"cluster", "remove", "0"}, "error: ID: must be >= 1 (got '0')"},
  };
  for (const auto& [args, says] : cases) {
    auto r = Cli(args);
    std::string cmd;
    for (const auto& a : args) cmd += a + " ";
    EXPECT_EQ(r.exit_code, 2) << "reckon " << cmd << "\n" << describe(r);
    EXPECT_EQ(first_line(r.err), says) << "reckon " << cmd << "\n" << describe(r);
  }
}

TEST_F(CliTest, WrongExpectedVersionExitsThreeWithDetails) {
  const std::string s = unique_name("cli-wev");
  MustAppend(s, kExpectAny, make_events(6));
  auto r = CliFails({"append", s, "--type", "T", "--data", "{}", "--expected", "3"}, 3,
                    "WrongExpectedVersion");
  EXPECT_EQ(first_line(r.err), "error: WrongExpectedVersion: stream '" + s +
                                   "' expected version 3, current version 5");
  CliFails({"append", s, "--type", "T", "--data", "{}", "--expected", "no-stream"}, 3,
           "WrongExpectedVersion");
  CliFails({"append", unique_name("cli-wev-absent"), "--type", "T", "--data", "{}", "--expected",
            "exists"},
           3, "WrongExpectedVersion");
  EXPECT_EQ(client().get_version(s).value(), 5);
  CliObject({"append", s, "--type", "T", "--data", "{}", "--expected", "exists"});
  CliObject({"append", s, "--type", "T", "--data", "{}", "--expected", "6"});
}

TEST_F(CliTest, NotFoundAndDeletedExitFour) {
  CliFails({"read", unique_name("cli-none")}, 4, "StreamNotFound");
  CliFails({"snapshot", "load", unique_name("cli-none")}, 4, "NotFound");
  const std::string gone = unique_name("cli-gone");
  MustAppend(gone, kExpectAny, make_events(1));
  RECKON_ASSERT_OK(client().delete_stream(gone, kExpectAny));
  CliFails({"read", gone}, 4, "StreamDeleted");
  CliFails({"read", gone, "--backward"}, 4, "StreamDeleted");
  RECKON_ASSERT_OK(client().tombstone_stream(gone, kExpectAny));
  CliFails({"append", gone, "--type", "T", "--data", "{}"}, 4, "StreamDeleted");
}

TEST_F(CliTest, OtherErrorsExitOne) {
  const std::string s = unique_name("cli-other");
  CliFails({"append", s, "--type", "T", "--data", "{not json"}, 1, "InvalidArgument");
  CliFails({"append", "$reserved", "--type", "T", "--data", "{}"}, 1, "InvalidArgument");
  CliFails({"append", s, "--type", "T", "--data", "{}", "--metadata", "[1,"}, 1,
           "InvalidArgument");
  std::vector<std::string> tags = {"append", s, "--type", "T", "--data", "{}"};
  for (int i = 0; i < 65; ++i) {
    tags.push_back("--tag");
    tags.push_back("t" + std::to_string(i));
  }
  CliFails(tags, 1, "LimitExceeded");
  EXPECT_EQ(client().get_version(s).value(), -1);

  // Nothing listens on the port.
  auto port = pick_free_port();
  ASSERT_TRUE(port.is_ok());
  auto start = std::chrono::steady_clock::now();
  auto r = run_cli({"--server", "127.0.0.1:" + std::to_string(*port), "--timeout", "1000",
                    "version", "s"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_TRUE(r.err.rfind("error: Unavailable", 0) == 0 || r.err.rfind("error: Timeout", 0) == 0)
      << describe(r);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(15));
}

// ---------------------------------------------------------------- server selection

TEST_F(CliTest, ServerFromEnvironmentAndSeveralEndpoints) {
  const std::string s = unique_name("cli-env");
  MustAppend(s, kExpectAny, make_events(2));
  auto r = run_cli({"--json", "version", s}, {{"RECKON_SERVER", server().grpc_address()}});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(json::parse(r.out).at("version"), 1);

  auto port = pick_free_port();
  ASSERT_TRUE(port.is_ok());
  const std::string dead = "127.0.0.1:" + std::to_string(*port);
  // --server wins over the environment.
  r = run_cli({"--json", "--server", server().grpc_address(), "version", s},
              {{"RECKON_SERVER", dead}});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  // The environment is used: an unreachable server there fails.
  r = run_cli({"--json", "--timeout", "1000", "version", s}, {{"RECKON_SERVER", dead}});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  // Several endpoints: a dead one first, the client moves on.
  r = run_cli({"--json", "--server", dead + "," + server().grpc_address(), "--timeout", "2000",
               "version", s});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(json::parse(r.out).at("version"), 1);
}

// ---------------------------------------------------------------- tables

TEST_F(CliTest, TablesForPeopleByDefault) {
  const std::string s = unique_name("cli-table");
  MustAppend(s, kExpectAny, {make_event("Short", R"({"a":1})"), make_event("AMuchLongerType", "{}")});
  auto r = Cli({"read", s}, /*as_json=*/false);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  std::vector<std::string> lines;
  std::istringstream in(r.out);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  for (const char* h : {"POSITION", "STREAM_ID", "VERSION", "EVENT_TYPE", "EVENT_ID", "DATA"}) {
    EXPECT_NE(lines[0].find(h), std::string::npos) << h << " missing in " << lines[0];
  }
  // Aligned: the version column starts at the same offset in every line.
  size_t col = lines[0].find("VERSION");
  size_t type_col = lines[0].find("EVENT_TYPE");
  EXPECT_EQ(lines[1].substr(col, 1), "0") << r.out;
  EXPECT_EQ(lines[2].substr(col, 1), "1") << r.out;
  EXPECT_EQ(lines[1].substr(type_col, 5), "Short") << r.out;
  EXPECT_EQ(lines[2].substr(type_col, 15), "AMuchLongerType") << r.out;
  EXPECT_EQ(lines[1].find('{'), lines[1].find(R"({"a":1})")) << "data shown compactly";

  r = Cli({"version", s}, false);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("stream_id"), std::string::npos);
  EXPECT_NE(r.out.find(s), std::string::npos);
  EXPECT_NE(r.out.find("version"), std::string::npos);
  EXPECT_EQ(r.out.find('{'), std::string::npos) << "not JSON without --json: " << r.out;
  r = Cli({"status"}, false);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("leader"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("NODE_ID"), std::string::npos) << r.out;
}

// ---------------------------------------------------------------- import / export

TEST_F(CliTest, ExportImportRoundTrip) {
  TempDir dir;
  const std::string p = unique_name("cli-io") + "-";
  // Interleaved streams, binary data, metadata, tags, ids.
  for (int i = 0; i < 7; ++i) {
    MustAppend(p + "a", kExpectAny, one(make_event("A", R"({"i":)" + std::to_string(i) + "}", {"t"})));
    if (i % 2 == 0) {
      NewEvent b = make_event("B", std::string("\x00\xff", 2));
      b.data_content_type = ContentType::kBinary;
      b.metadata = R"({"m":1})";
      MustAppend(p + "b", kExpectAny, one(b));
    }
  }
  const std::string file = dir.sub("export.jsonl");
  auto ex = Cli({"export", file, "--stream-prefix", p});
  ASSERT_EQ(ex.exit_code, 0) << describe(ex);
  json summary = json::parse(first_line(ex.out));
  EXPECT_EQ(summary.at("events"), 11);
  EXPECT_NE(ex.err.find("exported"), std::string::npos) << "progress line on stderr: " << ex.err;

  std::ifstream in(file);
  std::stringstream buf;
  buf << in.rdbuf();
  auto exported = json_lines(buf.str());
  ASSERT_EQ(exported.size(), 11u);
  auto original = PrefixEvents(p);
  ASSERT_EQ(original.size(), 11u);
  for (size_t i = 0; i < exported.size(); ++i) {
    EXPECT_EQ(exported[i].at("event_id"), original[i].event_id.to_string());
    EXPECT_EQ(exported[i].at("position"), original[i].position);
    EXPECT_EQ(exported[i].at("version"), original[i].version);
  }

  // Into a second, empty server; small batches to exercise grouping.
  ServerProcess other(reckond_bin(), dir.sub("other"));
  RECKON_ASSERT_OK(other.start());
  auto im = run_cli({"--server", other.grpc_address(), "--json", "import", file, "--batch", "2"});
  ASSERT_EQ(im.exit_code, 0) << describe(im);
  json isum = json::parse(first_line(im.out));
  EXPECT_EQ(isum.at("events"), 11);
  EXPECT_EQ(isum.at("streams"), 2);
  EXPECT_NE(im.err.find("imported"), std::string::npos) << im.err;

  auto check = [&](const std::string& endpoint) {
    auto c = connect_client(endpoint);
    ASSERT_TRUE(c.is_ok());
    for (const char* name : {"a", "b"}) {
      auto want = client().read(p + name, ReadStreamOptions{}).value().events;
      auto got = (*c)->read(p + name, ReadStreamOptions{});
      ASSERT_TRUE(got.is_ok()) << got.status().to_string();
      ASSERT_EQ(got->events.size(), want.size()) << name;
      for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(got->events[i].event_id, want[i].event_id);
        EXPECT_EQ(got->events[i].version, want[i].version);
        EXPECT_EQ(got->events[i].event_type, want[i].event_type);
        EXPECT_EQ(got->events[i].data_content_type, want[i].data_content_type);
        if (want[i].data_content_type == ContentType::kJson) {
          EXPECT_EQ(json::parse(got->events[i].data), json::parse(want[i].data));
        } else {
          EXPECT_EQ(got->events[i].data, want[i].data);
        }
        EXPECT_EQ(got->events[i].metadata.empty(), want[i].metadata.empty());
        EXPECT_EQ(got->events[i].tags, want[i].tags);
      }
    }
  };
  check(other.grpc_address());

  // Importing the same file again is an idempotent retry: nothing doubles.
  im = run_cli({"--server", other.grpc_address(), "--json", "import", file, "--batch", "2"});
  ASSERT_EQ(im.exit_code, 0) << describe(im);
  check(other.grpc_address());

  // A line without a stream id fails with its line number.
  const std::string broken = dir.sub("broken.jsonl");
  std::ofstream(broken) << R"({"type":"T","data":{}})" << "\n";
  auto bad = run_cli({"--server", other.grpc_address(), "import", broken});
  EXPECT_EQ(bad.exit_code, 1) << describe(bad);
  EXPECT_NE(bad.err.find("broken.jsonl:1"), std::string::npos) << bad.err;

  // Export to stdout: events on stdout, the summary on stderr.
  auto to_stdout = Cli({"export", "-", "--stream-prefix", p + "b"});
  ASSERT_EQ(to_stdout.exit_code, 0) << describe(to_stdout);
  auto lines = json_lines(to_stdout.out);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].at("data"), "AP8=");
  EXPECT_EQ(lines[0].at("data_content_type"), "application/octet-stream");
  EXPECT_EQ(lines[0].at("metadata"), json::parse(R"({"m":1})"));
}

// --ordered keeps the file's order across streams ($all order of an export), in multi-stream
// appends that end where a stream comes back or the batch is full.
TEST_F(CliTest, ImportOrderedKeepsTheFileOrderAcrossStreams) {
  TempDir dir;
  const std::string p = unique_name("cli-ordered") + "-";
  const std::vector<std::string> streams = {"a", "a", "b", "a", "c", "c", "b"};
  std::vector<std::string> ids;
  const std::string file = dir.sub("ordered.jsonl");
  {
    std::ofstream out(file);
    for (size_t i = 0; i < streams.size(); ++i) {
      ids.push_back(Uuid::v7().to_string());
      out << R"({"stream_id":")" << p << streams[i] << R"(","event_type":"E","event_id":")" << ids.back()
          << R"(","data":{"i":)" << i << "}}\n";
    }
  }
  auto import = [&] {
    return Cli({"import", file, "--ordered", "--batch", "3", "--quiet"});
  };
  auto im = import();
  ASSERT_EQ(im.exit_code, 0) << describe(im);
  json summary = json::parse(first_line(im.out));
  EXPECT_EQ(summary.at("events"), 7);
  EXPECT_EQ(summary.at("streams"), 3);
  EXPECT_EQ(summary.at("appends"), 3);  // [a a b] (full) [a c c] (full) [b]
  EXPECT_EQ(summary.at("ordered"), true);

  auto in_store = [&] {
    std::vector<std::string> got;
    for (const Event& e : PrefixEvents(p)) got.push_back(e.event_id.to_string());
    return got;
  };
  EXPECT_EQ(in_store(), ids) << "global order differs from the file's";
  auto a = client().read(p + "a", ReadStreamOptions{});
  ASSERT_TRUE(a.is_ok());
  ASSERT_EQ(a->events.size(), 3u);
  EXPECT_EQ(a->events[2].version, 2);

  // Re-running it is an idempotent retry: nothing doubles.
  im = import();
  ASSERT_EQ(im.exit_code, 0) << describe(im);
  EXPECT_EQ(in_store(), ids);

  // Batches are also cut by size (each event here counts 8 bytes: type "E", data {"i":N}).
  const std::string sized = dir.sub("sized.jsonl");
  {
    std::ofstream out(sized);
    for (int i = 0; i < 4; ++i) out << R"({"stream_id":")" << p << R"(d","event_type":"E","data":{"i":)" << i << "}}\n";
  }
  for (bool ordered : {true, false}) {
    std::vector<std::string> args = {"import", sized, "--batch-bytes", "20", "--quiet"};
    if (ordered) args.push_back("--ordered");
    im = Cli(args);
    ASSERT_EQ(im.exit_code, 0) << describe(im);
    EXPECT_EQ(json::parse(first_line(im.out)).at("appends"), 2) << "ordered: " << ordered;
  }
}

// ---------------------------------------------------------------- bench

TEST_F(CliTest, BenchAppendReportsThroughputAndLatency) {
  auto r = Cli({"bench", "append", "--clients", "2", "--duration", "1", "--batch", "5", "--size",
                "64", "--streams", "4"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 1u) << describe(r);
  const json& b = lines[0];
  for (const char* f : {"events_per_s", "appends_per_s", "p50_ms", "p99_ms", "p999_ms", "events",
                        "errors", "duration_s", "clients", "batch", "size"}) {
    EXPECT_TRUE(b.contains(f)) << f << " missing: " << b;
  }
  EXPECT_GT(b.at("events").get<uint64_t>(), 0u);
  EXPECT_EQ(b.at("events").get<uint64_t>() % 5, 0u);
  EXPECT_EQ(b.at("errors"), 0);
  EXPECT_EQ(b.at("clients"), 2);
  EXPECT_EQ(b.at("batch"), 5);
  EXPECT_EQ(b.at("size"), 64);
  double d = b.at("duration_s").get<double>();
  EXPECT_GE(d, 1.0);
  EXPECT_LT(d, 10.0);
  EXPECT_GT(b.at("events_per_s").get<double>(), 0);
  EXPECT_NEAR(b.at("appends_per_s").get<double>() * 5, b.at("events_per_s").get<double>(),
              b.at("events_per_s").get<double>() * 0.01 + 1);
  EXPECT_GT(b.at("p50_ms").get<double>(), 0);
  EXPECT_LE(b.at("p50_ms").get<double>(), b.at("p99_ms").get<double>());
  EXPECT_LE(b.at("p99_ms").get<double>(), b.at("p999_ms").get<double>());
  EXPECT_NE(r.err.find("events/s"), std::string::npos) << "progress line: " << r.err;

  // Without --json: a table for people, still with the figures.
  r = Cli({"bench", "append", "--clients", "1", "--duration", "0.3"}, false);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("events_per_s"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("p99_ms"), std::string::npos) << r.out;
}

TEST_F(CliTest, BenchReadReportsThroughput) {
  auto r = Cli({"bench", "read", "--prefill", "3000", "--streams", "3", "--duration", "0.5",
                "--batch", "500"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 1u) << describe(r);
  const json& b = lines[0];
  for (const char* f : {"events_per_s", "p50_ms", "p99_ms", "p999_ms", "events", "errors",
                        "duration_s", "clients", "batch", "size"}) {
    EXPECT_TRUE(b.contains(f)) << f << " missing: " << b;
  }
  EXPECT_GT(b.at("events").get<uint64_t>(), 0u);
  EXPECT_EQ(b.at("errors"), 0);
  r = Cli({"bench", "read", "--mode", "streams", "--stream-prefix", "bench-", "--duration", "0.3"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_GT(json_lines(r.out).at(0).at("events").get<uint64_t>(), 0u);
  // The prefill spreads its events over every stream asked for (it filled 4 of 100).
  const std::string prefix = unique_name("bench-spread") + "-";
  r = Cli({"bench", "read", "--mode", "streams", "--prefill", "2000", "--streams", "100",
           "--stream-prefix", prefix, "--duration", "0.3"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(json_lines(r.out).at(0).value("streams", 0), 100) << r.out;
}

// The fields every delivery bench prints, and the ordering of its percentiles.
void ExpectDeliveryResult(const json& b) {
  for (const char* f : {"mode", "events_per_s", "p50_ms", "p99_ms", "p999_ms", "mean_ms", "max_ms",
                        "events", "errors", "duration_s", "delivered"}) {
    EXPECT_TRUE(b.contains(f)) << f << " missing: " << b;
  }
  EXPECT_EQ(b.value("errors", -1), 0) << b;
  EXPECT_GT(b.value("events_per_s", 0.0), 0) << b;
  EXPECT_LE(b.value("p50_ms", 0.0), b.value("p99_ms", 0.0)) << b;
  EXPECT_LE(b.value("p99_ms", 0.0), b.value("p999_ms", 0.0)) << b;
  EXPECT_LE(b.value("p999_ms", 0.0), b.value("max_ms", 0.0) + 0.001) << b;
}

TEST_F(CliTest, BenchSubscribeMeasuresLiveDeliveryToEverySubscriber) {
  auto r = Cli({"bench", "subscribe", "--rate", "200", "--duration", "0.5", "--subscribers", "3"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 1u) << describe(r);
  const json& b = lines[0];
  ExpectDeliveryResult(b);
  EXPECT_EQ(b.at("mode"), "subscribe");
  EXPECT_EQ(b.at("subscribers"), 3);
  EXPECT_EQ(b.at("missing"), 0);
  const uint64_t events = b.at("events").get<uint64_t>();
  EXPECT_GT(events, 50u);
  EXPECT_EQ(b.at("delivered").get<uint64_t>(), 3 * events) << "every subscriber gets every event";
  EXPECT_NEAR(b.at("delivered_per_s").get<double>(), 3 * b.at("events_per_s").get<double>(), 1.0);
  // From the scheduled send, the append included: never less than from the acknowledgement.
  EXPECT_GE(b.at("send_p50_ms").get<double>(), b.at("p50_ms").get<double>()) << b;
  EXPECT_GE(b.at("send_p99_ms").get<double>(), b.at("p99_ms").get<double>()) << b;
  EXPECT_NE(r.err.find("delivered/s"), std::string::npos) << "progress line: " << r.err;
}

TEST_F(CliTest, BenchSubscribeWithPrefillMeasuresCatchUpThroughput) {
  auto r = Cli({"bench", "subscribe", "--prefill", "3000", "--subscribers", "2", "--streams", "7"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 1u) << describe(r);
  const json& b = lines[0];
  ExpectDeliveryResult(b);
  EXPECT_EQ(b.at("mode"), "subscribe-catch-up");
  EXPECT_EQ(b.at("prefilled"), 3000);
  EXPECT_EQ(b.at("subscribers"), 2);
  EXPECT_EQ(b.at("delivered"), 6000) << "each subscriber reads the whole history";
  EXPECT_GT(b.at("per_subscriber_events_per_s").get<double>(), 0);
}

TEST_F(CliTest, BenchConsumeMeasuresLiveDeliveryAndRemovesItsSubscription) {
  auto r = Cli({"bench", "consume", "--rate", "200", "--duration", "0.5", "--consumers", "2"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 1u) << describe(r);
  const json& b = lines[0];
  ExpectDeliveryResult(b);
  EXPECT_EQ(b.at("mode"), "consume");
  EXPECT_EQ(b.at("consumers"), 2);
  EXPECT_EQ(b.at("ordering"), "per-stream") << "the subscriptions' default";
  EXPECT_EQ(b.at("missing"), 0);
  EXPECT_GT(b.at("events").get<uint64_t>(), 50u);
  EXPECT_GE(b.at("delivered").get<uint64_t>(), b.at("events").get<uint64_t>());
  uint64_t sum = 0;
  for (const auto& n : b.at("per_consumer")) sum += n.get<uint64_t>();
  EXPECT_EQ(sum, b.at("delivered").get<uint64_t>());
  for (const auto& sub : CliLines({"subscriptions", "list"})) {
    EXPECT_NE(sub.at("name").get<std::string>().rfind("bench-", 0), 0u) << "left behind: " << sub;
  }
}

TEST_F(CliTest, BenchConsumeWithPrefillDrainsTheBacklog) {
  auto r =
      Cli({"bench", "consume", "--prefill", "2000", "--consumers", "2", "--max-in-flight", "50", "--ordering", "none"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 1u) << describe(r);
  const json& b = lines[0];
  ExpectDeliveryResult(b);
  EXPECT_EQ(b.at("mode"), "consume-backlog");
  EXPECT_EQ(b.at("ordering"), "none");
  EXPECT_EQ(b.at("events"), 2000) << "each prefilled event delivered (and acked) once";
  EXPECT_EQ(b.at("missing"), 0);
  EXPECT_EQ(b.at("max_in_flight"), 50);

  auto bad = Cli({"bench", "consume", "--strategy", "nope"});
  EXPECT_EQ(bad.exit_code, 2) << describe(bad);
}

// ---------------------------------------------------------------- persistent subscriptions

TEST_F(CliTest, PersistentSubscriptionsCreateListGetConsumeDelete) {
  const std::string name = unique_name("cli-psub");
  const std::string type = unique_name("CliPsubEvent");
  json created = CliObject({"subscriptions", "create", name, "--type", "event_type", "--selector", type});
  EXPECT_EQ(created.at("name"), name);
  EXPECT_EQ(created.at("type"), "event_type");
  EXPECT_EQ(created.at("selector"), type);
  EXPECT_EQ(created.at("pool_size"), 1);
  EXPECT_EQ(created.at("ordering"), "per_stream") << "the default";
  const std::string key = created.at("key").get<std::string>();
  EXPECT_EQ(key.size(), 32u) << created;

  // list --json: one object a line, each with every listed field.
  auto list = CliLines({"subscriptions", "list"});
  const json* mine = nullptr;
  for (const auto& l : list) {
    for (const char* f : {"name", "key", "type", "selector", "pool_size", "checkpoint", "strategy", "ordering"}) {
      EXPECT_TRUE(l.contains(f)) << f << " in " << l;
    }
    if (l.value("key", "") == key) mine = &l;
  }
  ASSERT_NE(mine, nullptr) << "not listed";
  EXPECT_EQ(mine->at("name"), name);
  EXPECT_EQ(mine->at("type"), "event_type");
  EXPECT_EQ(mine->at("selector"), type);
  EXPECT_EQ(mine->at("pool_size"), 1);
  EXPECT_TRUE(mine->at("checkpoint").is_number_unsigned()) << *mine;

  // get by name and by key.
  json got = CliObject({"subscriptions", "get", name});
  EXPECT_EQ(got.at("key"), key);
  EXPECT_EQ(got.at("name"), name);
  EXPECT_EQ(CliObject({"subscriptions", "get", key}).at("name"), name);
  CliFails({"subscriptions", "get", unique_name("cli-psub-missing")}, 4, "NotFound");

  // Three matching events (and one that does not match), then consume them.
  const std::string s = unique_name("cli-psub-stream");
  std::vector<json> appended;
  for (int i = 0; i < 3; ++i) {
    appended.push_back(CliObject({"append", s, "--type", type, "--data", "{\"i\":" + std::to_string(i) + "}",
                                  "--metadata", R"({"m":1})", "--tag", "t" + std::to_string(i)}));
    CliObject({"append", s, "--type", "Other", "--data", "{}"});
  }
  auto consumed = CliLines({"consume", name, "--count", "3"});
  ASSERT_EQ(consumed.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const json& e = consumed[i];
    for (const char* f : {"stream_id", "version", "position", "event_id", "event_type", "data", "metadata",
                          "tags", "created_us"}) {
      EXPECT_TRUE(e.contains(f)) << f << " in " << e;
    }
    EXPECT_EQ(e.at("stream_id"), s);
    EXPECT_EQ(e.at("version"), 2 * i);
    EXPECT_EQ(e.at("position"), appended[i].at("position"));
    EXPECT_EQ(e.at("event_type"), type);
    EXPECT_EQ(e.at("data"), json::parse("{\"i\":" + std::to_string(i) + "}"));
    EXPECT_EQ(e.at("metadata"), json::parse(R"({"m":1})"));
    EXPECT_EQ(e.at("tags"), json::array({"t" + std::to_string(i)}));
    EXPECT_EQ(e.at("event_id").get<std::string>().size(), 36u);
    EXPECT_GT(e.at("created_us").get<int64_t>(), 0);
  }

  ProgramResult deleted = Cli({"subscriptions", "delete", name});
  EXPECT_EQ(deleted.exit_code, 0) << describe(deleted);
  CliFails({"subscriptions", "get", name}, 4, "NotFound");
  CliFails({"subscriptions", "delete", name}, 4, "NotFound");
}

// --ack manual: answers come from stdin, `ack|retry|skip|park POSITION` per line, given before or
// after the event is printed; a malformed line is reported and skipped.
TEST_F(CliTest, ConsumeWithManualAcksTakesTheAnswersFromStdin) {
  const std::string name = unique_name("cli-manual");
  const std::string type = unique_name("Manual");
  CliObject({"subscriptions", "create", name, "--type", "event_type", "--selector", type});
  const std::string stream = unique_name("cli-manual-stream");
  std::vector<uint64_t> positions;
  for (int i = 0; i < 3; ++i) {
    positions.push_back(CliObject({"append", stream, "--type", type, "--data", "{}"}).at("position").get<uint64_t>());
  }
  RunOptions o;
  o.stdin_data = "frob 1\npark " + std::to_string(positions[0]) + "\nack " + std::to_string(positions[1]) +
                 "\nack " + std::to_string(positions[2]) + "\n";
  auto r = run_cli({"--server", server().grpc_address(), "--json", "consume", name, "--ack", "manual", "--count", "3"}, o);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  auto consumed = json_lines(r.out);
  ASSERT_EQ(consumed.size(), 3u) << describe(r);
  EXPECT_NE(r.err.find("InvalidArgument"), std::string::npos) << describe(r);

  // The park is durable, the acks move the checkpoint past every event.
  auto parked = CliLines({"subscriptions", "parked", name});
  ASSERT_EQ(parked.size(), 1u);
  EXPECT_EQ(parked[0].at("position"), positions[0]);
  EXPECT_TRUE(eventually([&] {
    return CliObject({"subscriptions", "get", name}).at("checkpoint").get<uint64_t>() >= positions[2];
  }));
  EXPECT_EQ(Cli({"subscriptions", "delete", name}).exit_code, 0);
}

TEST_F(CliTest, PersistentSubscriptionOrderingIsShownEverywhere) {
  const std::string name = unique_name("cli-psub-order");
  json created = CliObject({"subscriptions", "create", name, "--type", "stream", "--selector", name,
                            "--strategy", "pinned", "--ordering", "none"});
  EXPECT_EQ(created.at("ordering"), "none");
  EXPECT_EQ(created.at("strategy"), "pinned");
  EXPECT_EQ(CliObject({"subscriptions", "get", name}).at("ordering"), "none");
  // Created again with the other ordering: the same record, its options replaced.
  json again = CliObject({"subscriptions", "create", name, "--type", "stream", "--selector", name,
                          "--ordering", "per_stream"});
  EXPECT_EQ(again.at("key"), created.at("key"));
  EXPECT_EQ(again.at("ordering"), "per_stream");

  auto r = Cli({"subscriptions", "list"}, /*as_json=*/false);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const std::string header = r.out.substr(0, r.out.find('\n'));
  EXPECT_NE(header.find("ORDERING"), std::string::npos) << header;
  const size_t line = r.out.find(name);
  ASSERT_NE(line, std::string::npos) << r.out;
  EXPECT_NE(r.out.substr(line, r.out.find('\n', line) - line).find("per_stream"), std::string::npos) << r.out;
  r = Cli({"subscriptions", "get", name}, false);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("ordering"), std::string::npos) << r.out;

  auto bad = Cli({"subscriptions", "create", unique_name("cli-psub-bad"), "--type", "stream", "--selector", "x",
                  "--ordering", "sometimes"});
  EXPECT_EQ(bad.exit_code, 2) << describe(bad);
  EXPECT_EQ(Cli({"subscriptions", "delete", name}).exit_code, 0);
}

}  // namespace
}  // namespace reckon::testing
