#include "option_checks.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>
#include <string>

namespace reckon::cli {

namespace {

// 0.001, 86400, 1e+06: what a person wrote, not "%f" with six decimals.
std::string number_text(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

std::string got(const std::string& text) { return " (got '" + text + "')"; }

// The largest value of an integer option without an upper bound: int64 options would take a
// larger one as a negative number.
constexpr uint64_t kIntegerMax = std::numeric_limits<int64_t>::max();

CLI::Validator integer_check(uint64_t min, uint64_t max, const std::string& description) {
  const bool unbounded = max == kIntegerMax;
  const std::string wanted = unbounded ? ">= " + std::to_string(min)
                                       : "from " + std::to_string(min) + " to " + std::to_string(max);
  return CLI::Validator(
      [min, max, unbounded, wanted](std::string& text) -> std::string {
        const bool negative = !text.empty() && text[0] == '-';
        const char* begin = text.data() + (negative ? 1 : 0);
        const char* end = text.data() + text.size();
        uint64_t magnitude = 0;
        auto [stop, ec] = std::from_chars(begin, end, magnitude);
        if (begin == end || stop != end ||
            (ec != std::errc() && ec != std::errc::result_out_of_range)) {
          return "must be an integer " + wanted + got(text);
        }
        const bool too_large = !negative && (ec == std::errc::result_out_of_range || magnitude > max);
        if (too_large && unbounded) return "must be at most " + std::to_string(max) + got(text);
        // Bounds are never negative, so a negative value is always below.
        if (too_large || (negative && magnitude != 0) || magnitude < min) {
          return "must be " + wanted + got(text);
        }
        return "";
      },
      description);
}

CLI::Validator number_check(double min, bool min_inclusive, double max,
                            const std::string& wanted, const std::string& description) {
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        const char* begin = text.c_str();
        char* stop = nullptr;
        double v = std::strtod(begin, &stop);
        if (text.empty() || stop != begin + text.size() || !std::isfinite(v)) {
          return "must be a number " + wanted + got(text);
        }
        if (v < min || (!min_inclusive && v == min) || v > max) return "must be " + wanted + got(text);
        return "";
      },
      description);
}

}  // namespace

CLI::Validator integer_in_range(uint64_t min, uint64_t max) {
  return integer_check(min, max, "INT in [" + std::to_string(min) + " - " + std::to_string(max) + "]");
}

CLI::Validator integer_at_least(uint64_t min) {
  const std::string description =
      min == 0 ? "NONNEGATIVE" : min == 1 ? "POSITIVE" : ">= " + std::to_string(min);
  return integer_check(min, kIntegerMax, description);
}

CLI::Validator number_in_range(double min, double max) {
  return number_check(min, true, max, "from " + number_text(min) + " to " + number_text(max),
                      "FLOAT in [" + number_text(min) + " - " + number_text(max) + "]");
}

CLI::Validator number_at_least(double min) {
  return number_check(min, true, std::numeric_limits<double>::max(), ">= " + number_text(min),
                      min == 0 ? "NONNEGATIVE" : ">= " + number_text(min));
}

CLI::Validator number_above(double min) {
  return number_check(min, false, std::numeric_limits<double>::max(), "> " + number_text(min),
                      min == 0 ? "POSITIVE" : "> " + number_text(min));
}

}  // namespace reckon::cli
