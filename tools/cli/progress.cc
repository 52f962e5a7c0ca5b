#include "progress.h"

#include <cstdio>

namespace reckon::cli {

std::string with_thousands(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  int count = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (count > 0 && count % 3 == 0) out.push_back(',');
    out.push_back(*it);
    ++count;
  }
  return {out.rbegin(), out.rend()};
}

ProgressLine::ProgressLine(std::function<std::string(double, bool)> render,
                           std::chrono::milliseconds period)
    : render_(std::move(render)), period_(period), start_(std::chrono::steady_clock::now()) {
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      if (cv_.wait_for(lock, period_, [this] { return stopping_; })) break;
      double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
      print(render_(elapsed, false));
    }
  });
}

ProgressLine::~ProgressLine() { stop(); }

void ProgressLine::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::lock_guard lock(mu_);
  print(render_(elapsed, true));
  std::fputc('\n', stderr);
  std::fflush(stderr);
}

void ProgressLine::print(const std::string& text) {
  std::string line = "\r" + text;
  // Blank out what is left of a longer previous line.
  if (text.size() < last_width_) line.append(last_width_ - text.size(), ' ');
  last_width_ = text.size();
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}

}  // namespace reckon::cli
