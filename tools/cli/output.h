// Rendering of command results for the `reckon` CLI, and the one mapping from error codes to
// exit codes.
//
// Every command prints through an Output: with --json each record is one JSON object on one
// line of stdout; without it, people get aligned tables (lists) or "key  value" blocks (single
// records). Errors always go to stderr as "error: <ErrorCodeName>: <message>".
//
// Exit codes (the CLI contract): 0 ok, 1 other error, 2 usage, 3 wrong expected version,
// 4 not found or deleted (StreamNotFound, StreamDeleted, NotFound).
//
// Thread-safety: an Output belongs to the command's thread.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "reckon/status.h"

namespace reckon::cli {

using Json = nlohmann::ordered_json;

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitWrongExpectedVersion = 3;
inline constexpr int kExitNotFound = 4;

int exit_code_for(ErrorCode code);

// Prints "error: <Name>: <message>" to stderr and returns the exit code for the status.
int report_error(const Status& status);
// Prints "error: <message>" to stderr and returns kExitUsage.
int report_usage_error(const std::string& message);

// Compact one-line JSON; invalid UTF-8 is replaced instead of throwing.
std::string dump_json(const Json& value);
// A JSON value as a table cell: strings bare, null empty, others compact JSON.
std::string cell_text(const Json& value);

// An aligned text table written in blocks, so a huge listing never has to be held in memory:
// column widths come from the first block and only grow afterwards.
class TableWriter {
 public:
  TableWriter(std::ostream& os, std::vector<std::string> headers, size_t block_rows = 512);
  ~TableWriter();  // flushes
  TableWriter(const TableWriter&) = delete;
  TableWriter& operator=(const TableWriter&) = delete;

  void row(std::vector<std::string> cells);
  void flush();

 private:
  void print_row(const std::vector<std::string>& cells);

  std::ostream& os_;
  std::vector<std::string> headers_;
  std::vector<size_t> widths_;
  std::vector<std::vector<std::string>> pending_;
  size_t block_rows_;
  bool header_printed_ = false;
};

class Output {
 public:
  Output(bool json, std::ostream& os);

  bool json() const { return json_; }
  std::ostream& stream() { return os_; }

  // One record: a JSON line, or "key  value" lines for people.
  void record(const Json& object);

  // A list of records with the given columns (keys of the objects). JSON mode: one line per
  // record with every field; table mode: the listed columns, aligned, values shortened to
  // `max_cell` characters.
  class List {
   public:
    List(Output& out, std::vector<std::string> columns, size_t max_cell = 80);
    void add(const Json& object);
    void finish();

   private:
    Output& out_;
    std::vector<std::string> columns_;
    size_t max_cell_;
    std::unique_ptr<TableWriter> table_;
  };

 private:
  bool json_;
  std::ostream& os_;
};

}  // namespace reckon::cli
