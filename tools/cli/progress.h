// ProgressLine: a live status line on stderr for long commands (bench, import, export),
// rewritten in place with '\r' about once a second from a background thread, and finished with
// a newline by stop() (or the destructor). The render function is called from that thread, so
// it must only read atomics or other thread-safe state.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace reckon::cli {

class ProgressLine {
 public:
  // render(elapsed_seconds, final) returns the text of the line; `final` is true for the last
  // print, made by stop() (show totals and averages there rather than a rate over the last
  // fraction of a second).
  explicit ProgressLine(std::function<std::string(double, bool)> render,
                        std::chrono::milliseconds period = std::chrono::milliseconds(1000));
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  // Prints the line one last time, then a newline; idempotent.
  void stop();

 private:
  void print(const std::string& text);

  std::function<std::string(double, bool)> render_;
  std::chrono::milliseconds period_;
  std::chrono::steady_clock::time_point start_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool stopped_ = false;
  size_t last_width_ = 0;
  std::thread thread_;
};

// 1234567 -> "1,234,567"
std::string with_thousands(uint64_t n);

}  // namespace reckon::cli
