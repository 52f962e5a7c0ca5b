#include "consensus/segment_prefill.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>
#include <string_view>

namespace reckon::consensus {
namespace {

constexpr size_t kZeroChunk = 1 << 20;
constexpr off_t kAlignment = 4096;  // O_DIRECT-safe for every logical block size up to 4 KiB

std::mutex g_dirs_mu;
std::set<std::string>& registered_dirs() {
  static auto* dirs = new std::set<std::string>();  // never destroyed: used until exit
  return *dirs;
}
std::atomic<uint64_t> g_prefilled{0};

std::string canonical_dir(const std::string& dir) {
  std::error_code ec;
  auto path = std::filesystem::weakly_canonical(dir, ec);
  return ec ? dir : path.string();
}

bool enabled() {
  static const bool on = [] {
    const char* v = std::getenv("RECKON_RAFT_PREFILL");
    return v == nullptr || std::string_view(v) != "0";
  }();
  return on;
}

// "open-" followed by digits: libraft's name for a segment being prepared or written.
bool is_open_segment_name(std::string_view name) {
  constexpr std::string_view kPrefix = "open-";
  if (name.size() <= kPrefix.size() || name.substr(0, kPrefix.size()) != kPrefix) return false;
  for (char c : name.substr(kPrefix.size())) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Whether this call is libraft preparing a new segment in one of our directories.
bool is_new_segment(int fd, off_t offset, off_t len) {
  if (!enabled() || offset != 0 || len <= 0 || len % kAlignment != 0) return false;
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size != 0) return false;
  char link[64];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  char target[4096];
  const ssize_t n = ::readlink(link, target, sizeof target - 1);
  if (n <= 0) return false;
  const std::filesystem::path path(std::string(target, static_cast<size_t>(n)));
  if (!is_open_segment_name(path.filename().native())) return false;
  std::lock_guard<std::mutex> lock(g_dirs_mu);
  return registered_dirs().count(path.parent_path().string()) != 0;
}

const char* zeros() {
  static const char* buffer = [] {
    void* p = nullptr;
    if (::posix_memalign(&p, kAlignment, kZeroChunk) != 0) return static_cast<const char*>(nullptr);
    std::memset(p, 0, kZeroChunk);
    return static_cast<const char*>(p);
  }();
  return buffer;
}

// Writes zeros over [0, len) and makes them durable; returns 0 or an errno value, as
// posix_fallocate() does. The pages are dropped afterwards: libraft writes the segment with
// O_DIRECT, and cached pages over the range would make its non-blocking writes fail again.
int zero_fill(int fd, off_t len) {
  const char* z = zeros();
  if (z == nullptr) return ENOMEM;
  for (off_t done = 0; done < len;) {
    const size_t chunk = static_cast<size_t>(std::min<off_t>(len - done, kZeroChunk));
    const ssize_t w = ::pwrite(fd, z, chunk, done);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (w == 0) return EIO;
    done += w;
  }
  if (::fdatasync(fd) != 0) return errno;
  ::posix_fadvise(fd, 0, len, POSIX_FADV_DONTNEED);
  return 0;
}

int libc_posix_fallocate(int fd, off_t offset, off_t len) {
  using Fn = int (*)(int, off_t, off_t);
  static const Fn real = reinterpret_cast<Fn>(::dlsym(RTLD_NEXT, "posix_fallocate"));
  if (real != nullptr) return real(fd, offset, len);
  return ::fallocate(fd, 0, offset, len) == 0 ? 0 : errno;  // what libc's does on Linux
}

}  // namespace

void register_segment_dir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(g_dirs_mu);
  registered_dirs().insert(canonical_dir(dir));
}

uint64_t segments_prefilled() { return g_prefilled.load(std::memory_order_relaxed); }

}  // namespace reckon::consensus

// The process's posix_fallocate(): see segment_prefill.h.
extern "C" int posix_fallocate(int fd, off_t offset, off_t len) {
  using namespace reckon::consensus;
  if (!is_new_segment(fd, offset, len)) return libc_posix_fallocate(fd, offset, len);
  const int rv = zero_fill(fd, len);
  if (rv == 0) g_prefilled.fetch_add(1, std::memory_order_relaxed);
  return rv;
}
