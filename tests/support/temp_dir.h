// TempDir: a fresh directory under $TMPDIR (or /tmp) removed when the object dies.
// Used by every test that opens a real RocksDB store.
#pragma once

#include <string>

namespace reckon::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace reckon::testing
