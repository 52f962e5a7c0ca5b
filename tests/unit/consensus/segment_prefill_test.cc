// segment_prefill: the process's posix_fallocate() zero-fills new "open-N" segments in
// registered Raft directories (written blocks, so libraft's non-blocking O_DIRECT writes are not
// refused) and leaves every other call to libc. Extent states are read with FIEMAP; on a file
// system that does not report them (tmpfs) those checks are skipped, the rest still run.

#include "consensus/segment_prefill.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace reckon::consensus {
namespace {

constexpr off_t kSize = 1 << 20;

// Whether any extent of `path` is unwritten (reserved, reads as zeros, converted on the first
// write); nullopt where FIEMAP is not supported.
std::optional<bool> has_unwritten_extents(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return std::nullopt;
  constexpr unsigned kMax = 64;
  std::vector<char> buf(sizeof(struct fiemap) + kMax * sizeof(struct fiemap_extent));
  auto* fm = reinterpret_cast<struct fiemap*>(buf.data());
  fm->fm_start = 0;
  fm->fm_length = FIEMAP_MAX_OFFSET;
  fm->fm_flags = FIEMAP_FLAG_SYNC;
  fm->fm_extent_count = kMax;
  const int rv = ::ioctl(fd, FS_IOC_FIEMAP, fm);
  ::close(fd);
  if (rv != 0 || fm->fm_mapped_extents == 0) return std::nullopt;
  for (unsigned i = 0; i < fm->fm_mapped_extents; i++) {
    if (fm->fm_extents[i].fe_flags & FIEMAP_EXTENT_UNWRITTEN) return true;
  }
  return false;
}

// Whether this file system reserves fallocated space as unwritten extents (ext4, xfs).
bool reports_unwritten(const std::string& dir) {
  const std::string probe = dir + "/probe";
  const int fd = ::open(probe.c_str(), O_CREAT | O_WRONLY, 0600);
  if (fd < 0) return false;
  const bool ok = ::fallocate(fd, 0, 0, kSize) == 0;
  ::close(fd);
  const auto unwritten = ok ? has_unwritten_extents(probe) : std::nullopt;
  ::unlink(probe.c_str());
  return unwritten.value_or(false);
}

int create(const std::string& path) { return ::open(path.c_str(), O_CREAT | O_RDWR, 0600); }

bool all_zero(const std::string& path, off_t size) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  std::vector<char> data(static_cast<size_t>(size), 'x');
  const ssize_t n = ::pread(fd, data.data(), data.size(), 0);
  ::close(fd);
  if (n != size) return false;
  for (char c : data) {
    if (c != 0) return false;
  }
  return true;
}

TEST(SegmentPrefill, NewOpenSegmentInARegisteredDirIsZeroFilledWithWrittenBlocks) {
  reckon::testing::TempDir dir;
  register_segment_dir(dir.path());
  const std::string path = dir.sub("open-7");
  const uint64_t before = segments_prefilled();

  const int fd = create(path);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(posix_fallocate(fd, 0, kSize), 0);
  ::close(fd);

  EXPECT_EQ(segments_prefilled(), before + 1);
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, kSize);
  EXPECT_TRUE(all_zero(path, kSize));
  if (reports_unwritten(dir.path())) {
    EXPECT_EQ(has_unwritten_extents(path), std::optional<bool>(false));
  }
}

TEST(SegmentPrefill, OtherFilesAndDirectoriesGetLibcFallocate) {
  reckon::testing::TempDir registered, other;
  register_segment_dir(registered.path());
  const uint64_t before = segments_prefilled();
  const bool unwritten = reports_unwritten(registered.path());

  // A closed segment, libraft's metadata, an open segment in a directory nobody registered.
  for (const std::string& path :
       {registered.sub("0000000000000001-0000000000000009"), registered.sub("metadata1"),
        registered.sub("open-"), registered.sub("open-1x"), other.sub("open-1")}) {
    const int fd = create(path);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(posix_fallocate(fd, 0, kSize), 0) << path;
    ::close(fd);
    struct stat st;
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_size, kSize) << path;
    if (unwritten) EXPECT_EQ(has_unwritten_extents(path), std::optional<bool>(true)) << path;
  }
  EXPECT_EQ(segments_prefilled(), before);
}

TEST(SegmentPrefill, ExistingDataIsNeverOverwritten) {
  reckon::testing::TempDir dir;
  register_segment_dir(dir.path());
  const std::string path = dir.sub("open-3");
  const int fd = create(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "entry", 5), 5);
  const uint64_t before = segments_prefilled();
  EXPECT_EQ(posix_fallocate(fd, 0, kSize), 0);
  ::close(fd);
  EXPECT_EQ(segments_prefilled(), before);
  char head[5] = {};
  const int rfd = ::open(path.c_str(), O_RDONLY);
  ASSERT_EQ(::pread(rfd, head, sizeof head, 0), 5);
  ::close(rfd);
  EXPECT_EQ(std::string(head, 5), "entry");
}

TEST(SegmentPrefill, ErrorsAreLibcs) {
  EXPECT_EQ(posix_fallocate(-1, 0, kSize), EBADF);
  reckon::testing::TempDir dir;
  register_segment_dir(dir.path());
  const int fd = create(dir.sub("open-2"));
  ASSERT_GE(fd, 0);
  EXPECT_EQ(posix_fallocate(fd, 0, -1), EINVAL);
  ::close(fd);
}

}  // namespace
}  // namespace reckon::consensus
