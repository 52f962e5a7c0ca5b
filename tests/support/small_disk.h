// SmallDisk: a tmpfs of a given size mounted at a path, to fill a disk on purpose (needs root;
// mounted() says whether it worked, and tests skip otherwise). Unmounted by the destructor.
#pragma once

#include <sys/mount.h>

#include <filesystem>
#include <string>

namespace reckon::testing {

class SmallDisk {
 public:
  SmallDisk(const std::string& path, const std::string& size) : path_(path) {
    std::filesystem::create_directories(path_);
    mounted_ = ::mount("tmpfs", path_.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0;
  }
  ~SmallDisk() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  SmallDisk(const SmallDisk&) = delete;
  SmallDisk& operator=(const SmallDisk&) = delete;

  bool mounted() const { return mounted_; }
  // The fault goes away: the same files, more room.
  bool grow(const std::string& size = "512m") {
    return ::mount("tmpfs", path_.c_str(), "tmpfs", MS_REMOUNT, ("size=" + size).c_str()) == 0;
  }

 private:
  std::string path_;
  bool mounted_ = false;
};

}  // namespace reckon::testing
