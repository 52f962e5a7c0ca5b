#include "server/metrics/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace reckon::metrics {
namespace {

// Misuse is a bug in the calling code (names and types are constants there), not a runtime
// condition a caller could handle; stop loudly instead of exporting wrong data.
[[noreturn]] void misuse(const std::string& message) {
  std::fprintf(stderr, "reckon::metrics: %s\n", message.c_str());
  std::fflush(stderr);
  std::abort();
}

bool is_alpha_or_underscore(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool valid_metric_name(std::string_view n) {
  if (n.empty() || !(is_alpha_or_underscore(n[0]) || n[0] == ':')) return false;
  return std::all_of(n.begin(), n.end(),
                     [](char c) { return is_alpha_or_underscore(c) || is_digit(c) || c == ':'; });
}

// [a-zA-Z_][a-zA-Z0-9_]*, and names starting with "__" are reserved for Prometheus itself.
bool valid_label_name(std::string_view n) {
  if (n.empty() || !is_alpha_or_underscore(n[0]) || n.substr(0, 2) == "__") return false;
  return std::all_of(n.begin(), n.end(),
                     [](char c) { return is_alpha_or_underscore(c) || is_digit(c); });
}

// The canonical, already escaped label text of a series: `code="X",store="main"`, labels sorted
// by name. It is both the series' identity within its family and what render() prints.
std::string label_key(std::string_view metric, Labels labels, bool histogram) {
  std::sort(labels.begin(), labels.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string key;
  for (size_t i = 0; i < labels.size(); ++i) {
    const auto& [name, value] = labels[i];
    if (!valid_label_name(name)) {
      misuse("metric '" + std::string(metric) + "': invalid label name '" + name + "'");
    }
    if (i > 0 && labels[i - 1].first == name) {
      misuse("metric '" + std::string(metric) + "': label '" + name + "' given twice");
    }
    if (histogram && name == "le") {
      misuse("histogram '" + std::string(metric) + "': label 'le' is reserved");
    }
    if (i > 0) key += ',';
    key.append(name).append("=\"").append(escape_label_value(value)).append("\"");
  }
  return key;
}

std::vector<double> checked_buckets(std::string_view metric, std::vector<double> b) {
  if (!b.empty() && b.back() == std::numeric_limits<double>::infinity()) b.pop_back();
  for (size_t i = 0; i < b.size(); ++i) {
    if (!std::isfinite(b[i]) || (i > 0 && !(b[i - 1] < b[i]))) {
      misuse("histogram '" + std::string(metric) +
             "': buckets must be finite and strictly increasing");
    }
  }
  return b;
}

// name{labels} or name{labels,extra} or name{extra} or name.
void append_series(std::string& out, std::string_view name, std::string_view suffix,
                   std::string_view labels, std::string_view extra = {}) {
  out.append(name).append(suffix);
  if (!labels.empty() || !extra.empty()) {
    out += '{';
    out.append(labels);
    if (!labels.empty() && !extra.empty()) out += ',';
    out.append(extra);
    out += '}';
  }
  out += ' ';
}

}  // namespace

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Formats like Go's strconv.FormatFloat(v, 'g', -1, 64), which the Prometheus client libraries
// use, so that bucket labels read le="0.0001" and le="10" as dashboards expect: the shortest
// digits that round-trip, in exponent form only when the exponent is < -4 or >= 6.
std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == 0) return std::signbit(v) ? "-0" : "0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string_view s(buf, static_cast<size_t>(res.ptr - buf));  // "-1.2345e+05"
  std::string out;
  if (s.front() == '-') {
    out += '-';
    s.remove_prefix(1);
  }
  size_t e = s.find('e');
  std::string digits;
  for (char c : s.substr(0, e)) {
    if (c != '.') digits += c;
  }
  std::string_view exp_text = s.substr(e + 1);
  bool exp_negative = exp_text.front() == '-';
  exp_text.remove_prefix(1);  // the sign
  int exp = 0;
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exp);
  if (exp_negative) exp = -exp;

  if (exp < -4 || exp >= 6) {
    out += digits[0];
    if (digits.size() > 1) out.append(".").append(digits, 1);
    out += exp < 0 ? "e-" : "e+";
    int a = std::abs(exp);
    if (a < 10) out += '0';
    out += std::to_string(a);
  } else if (exp < 0) {
    out.append("0.").append(static_cast<size_t>(-exp - 1), '0').append(digits);
  } else if (digits.size() <= static_cast<size_t>(exp) + 1) {
    out.append(digits).append(static_cast<size_t>(exp) + 1 - digits.size(), '0');
  } else {
    out.append(digits, 0, static_cast<size_t>(exp) + 1)
        .append(".")
        .append(digits, static_cast<size_t>(exp) + 1);
  }
  return out;
}

// ---- Gauge ----------------------------------------------------------------------------------

double Gauge::value() const {
  if (has_callback_.load(std::memory_order_acquire)) {
    std::lock_guard lock(callback_mu_);
    if (callback_) {
      try {
        return callback_();
      } catch (...) {
        return std::numeric_limits<double>::quiet_NaN();  // no exception leaves a scrape
      }
    }
  }
  return value_.load(std::memory_order_relaxed);
}

void Gauge::set_callback(std::function<double()> fn) {
  std::function<double()> old;
  {
    std::lock_guard lock(callback_mu_);
    old = std::move(callback_);
    callback_ = std::move(fn);
    has_callback_.store(static_cast<bool>(callback_), std::memory_order_release);
  }
  // `old` (and whatever it captured) is destroyed here, outside the lock.
}

// ---- Histogram ------------------------------------------------------------------------------

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::observe(double v) {
  if (std::isnan(v)) return;
  // Buckets are inclusive upper bounds: v lands in the first bucket whose bound is >= v.
  size_t i =
      static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.upper_bounds = bounds_;
  s.cumulative.reserve(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> latency_buckets_seconds() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

std::vector<double> exponential_buckets(double start, double factor, int count) {
  if (!(start > 0) || !(factor > 1) || count < 1) {
    misuse("exponential_buckets needs start > 0, factor > 1 and count >= 1");
  }
  std::vector<double> b;
  b.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i, start *= factor) b.push_back(start);
  return b;
}

// ---- Registry -------------------------------------------------------------------------------

// One metric name: its HELP, TYPE and series. Everything but the series maps is immutable
// after creation, and series are never removed, so render() can read them after copying
// pointers under the lock.
struct Registry::Family {
  std::string name;
  std::string help;
  Kind kind;
  std::vector<double> bounds;  // histograms only
  // Keyed by label_key(); only the map of `kind` is used.
  std::map<std::string, std::unique_ptr<Counter>> counters;
  std::map<std::string, std::unique_ptr<Gauge>> gauges;
  std::map<std::string, std::unique_ptr<Histogram>> histograms;
};

Registry::Registry() = default;
Registry::~Registry() = default;

Registry::Family& Registry::family_locked(std::string_view name, std::string_view help, Kind kind,
                                          const std::vector<double>* buckets) {
  static constexpr const char* kKindNames[] = {"counter", "gauge", "histogram"};
  if (!valid_metric_name(name)) misuse("invalid metric name '" + std::string(name) + "'");
  auto it = families_.find(name);
  if (it != families_.end()) {
    Family& f = *it->second;
    if (f.kind != kind) {
      misuse("metric '" + std::string(name) + "' is a " + kKindNames[static_cast<int>(f.kind)] +
             ", requested as a " + kKindNames[static_cast<int>(kind)]);
    }
    if (buckets != nullptr && checked_buckets(name, *buckets) != f.bounds) {
      misuse("histogram '" + std::string(name) + "' registered again with other buckets");
    }
    return f;
  }
  auto f = std::make_unique<Family>();
  f->name = std::string(name);
  f->help = std::string(help);
  f->kind = kind;
  if (buckets != nullptr) f->bounds = checked_buckets(name, *buckets);
  return *families_.emplace(f->name, std::move(f)).first->second;
}

Counter& Registry::counter(std::string_view name, std::string_view help, const Labels& labels) {
  std::string key = label_key(name, labels, false);
  std::lock_guard lock(mu_);
  auto& slot = family_locked(name, help, Kind::kCounter, nullptr).counters[key];
  if (!slot) slot.reset(new Counter());
  return *slot;
}

Gauge& Registry::gauge(std::string_view name, std::string_view help, const Labels& labels) {
  std::string key = label_key(name, labels, false);
  std::lock_guard lock(mu_);
  auto& slot = family_locked(name, help, Kind::kGauge, nullptr).gauges[key];
  if (!slot) slot.reset(new Gauge());
  return *slot;
}

Histogram& Registry::histogram(std::string_view name, std::string_view help,
                               const std::vector<double>& buckets, const Labels& labels) {
  std::string key = label_key(name, labels, true);
  std::lock_guard lock(mu_);
  Family& f = family_locked(name, help, Kind::kHistogram, &buckets);
  auto& slot = f.histograms[key];
  if (!slot) slot.reset(new Histogram(f.bounds));
  return *slot;
}

std::string Registry::render() const {
  struct Series {
    const std::string* labels;
    const void* metric;
  };
  struct FamilyView {
    const Family* family;
    std::vector<Series> series;
  };
  std::vector<FamilyView> view;
  {
    std::lock_guard lock(mu_);
    view.reserve(families_.size());
    for (const auto& [name, f] : families_) {
      FamilyView fv{f.get(), {}};
      for (const auto& [k, m] : f->counters) fv.series.push_back({&k, m.get()});
      for (const auto& [k, m] : f->gauges) fv.series.push_back({&k, m.get()});
      for (const auto& [k, m] : f->histograms) fv.series.push_back({&k, m.get()});
      view.push_back(std::move(fv));
    }
  }
  // Values are read without the registry lock: gauge callbacks may be slow or take locks of
  // their own, and must not block registrations.
  std::string out;
  for (const FamilyView& fv : view) {
    const Family& f = *fv.family;
    if (!f.help.empty())
      out.append("# HELP ").append(f.name).append(" ").append(escape_help(f.help)).append("\n");
    out.append("# TYPE ").append(f.name);
    switch (f.kind) {
      case Kind::kCounter:
        out.append(" counter\n");
        break;
      case Kind::kGauge:
        out.append(" gauge\n");
        break;
      case Kind::kHistogram:
        out.append(" histogram\n");
        break;
    }
    for (const Series& s : fv.series) {
      switch (f.kind) {
        case Kind::kCounter:
          append_series(out, f.name, "", *s.labels);
          out.append(std::to_string(static_cast<const Counter*>(s.metric)->value()));
          out += '\n';
          break;
        case Kind::kGauge:
          append_series(out, f.name, "", *s.labels);
          out.append(format_value(static_cast<const Gauge*>(s.metric)->value()));
          out += '\n';
          break;
        case Kind::kHistogram: {
          Histogram::Snapshot snap = static_cast<const Histogram*>(s.metric)->snapshot();
          for (size_t i = 0; i < snap.cumulative.size(); ++i) {
            std::string le = "le=\"";
            le += i < snap.upper_bounds.size() ? format_value(snap.upper_bounds[i]) : "+Inf";
            le += '"';
            append_series(out, f.name, "_bucket", *s.labels, le);
            out.append(std::to_string(snap.cumulative[i]));
            out += '\n';
          }
          append_series(out, f.name, "_sum", *s.labels);
          out.append(format_value(snap.sum));
          out += '\n';
          append_series(out, f.name, "_count", *s.labels);
          out.append(std::to_string(snap.count));
          out += '\n';
          break;
        }
      }
    }
  }
  return out;
}

}  // namespace reckon::metrics
