#include "output.h"

#include <algorithm>
#include <cctype>
#include <iostream>

namespace reckon::cli {

int exit_code_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return kExitOk;
    case ErrorCode::kWrongExpectedVersion:
      return kExitWrongExpectedVersion;
    case ErrorCode::kStreamNotFound:
    case ErrorCode::kStreamDeleted:
    case ErrorCode::kNotFound:
      return kExitNotFound;
    default:
      return kExitError;
  }
}

int report_error(const Status& status) {
  std::cout.flush();
  std::cerr << "error: " << error_code_name(status.code()) << ": " << status.message() << "\n";
  return exit_code_for(status.code());
}

int report_usage_error(const std::string& message) {
  std::cout.flush();
  std::cerr << "error: " << message << "\nRun with --help for more information.\n";
  return kExitUsage;
}

std::string dump_json(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string cell_text(const Json& value) {
  if (value.is_null()) return "";
  if (value.is_string()) return value.get<std::string>();
  return dump_json(value);
}

namespace {

// Width in terminal columns, counting UTF-8 code points (not bytes).
size_t display_width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string shorten(std::string s, size_t max_chars) {
  for (char& c : s) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (max_chars == 0 || display_width(s) <= max_chars) return s;
  // Cut at a code point boundary.
  size_t chars = 0;
  size_t i = 0;
  for (; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (chars == max_chars - 1) break;
      ++chars;
    }
  }
  s.resize(i);
  return s + "…";
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

TableWriter::TableWriter(std::ostream& os, std::vector<std::string> headers, size_t block_rows)
    : os_(os), headers_(std::move(headers)), block_rows_(std::max<size_t>(block_rows, 1)) {
  widths_.resize(headers_.size());
  for (size_t i = 0; i < headers_.size(); ++i) widths_[i] = display_width(headers_[i]);
}

// Rows not yet shown are printed; a table that never got a row (the command failed before
// finish()) prints nothing, so an error does not come after an empty header.
TableWriter::~TableWriter() {
  if (!pending_.empty()) flush();
}

void TableWriter::row(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  pending_.push_back(std::move(cells));
  if (pending_.size() >= block_rows_) flush();
}

void TableWriter::flush() {
  if (pending_.empty() && header_printed_) return;
  for (const auto& r : pending_) {
    for (size_t i = 0; i < r.size(); ++i) widths_[i] = std::max(widths_[i], display_width(r[i]));
  }
  if (!header_printed_) {
    print_row(headers_);
    header_printed_ = true;
  }
  for (const auto& r : pending_) print_row(r);
  pending_.clear();
  os_.flush();
}

void TableWriter::print_row(const std::vector<std::string>& cells) {
  std::string line;
  for (size_t i = 0; i < cells.size(); ++i) {
    line += cells[i];
    if (i + 1 < cells.size()) {
      size_t w = display_width(cells[i]);
      line.append(widths_[i] - std::min(w, widths_[i]) + 2, ' ');
    }
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  os_ << line << '\n';
}

Output::Output(bool json, std::ostream& os) : json_(json), os_(os) {}

void Output::record(const Json& object) {
  if (json_) {
    os_ << dump_json(object) << '\n';
    os_.flush();
    return;
  }
  size_t width = 0;
  for (const auto& [key, value] : object.items()) width = std::max(width, key.size());
  for (const auto& [key, value] : object.items()) {
    std::string line = key + std::string(width - key.size() + 2, ' ') + cell_text(value);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    os_ << line << '\n';
  }
  os_.flush();
}

Output::List::List(Output& out, std::vector<std::string> columns, size_t max_cell)
    : out_(out), columns_(std::move(columns)), max_cell_(max_cell) {
  if (!out_.json()) {
    std::vector<std::string> headers;
    for (const auto& c : columns_) headers.push_back(upper(c));
    table_ = std::make_unique<TableWriter>(out_.stream(), std::move(headers));
  }
}

void Output::List::add(const Json& object) {
  if (out_.json()) {
    out_.stream() << dump_json(object) << '\n';
    return;
  }
  std::vector<std::string> cells;
  cells.reserve(columns_.size());
  for (const auto& c : columns_) {
    auto it = object.find(c);
    cells.push_back(it == object.end() ? "" : shorten(cell_text(*it), max_cell_));
  }
  table_->row(std::move(cells));
}

void Output::List::finish() {
  if (table_) table_->flush();
  out_.stream().flush();
}

}  // namespace reckon::cli
