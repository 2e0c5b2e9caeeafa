#pragma once
// A directory under $TMPDIR (or /tmp) that is removed, with its contents, when the object
// goes out of scope. For tests that need real files (LMDB stores).

#include <filesystem>
#include <string>

namespace duractor::testing {

class TempDir {
 public:
  explicit TempDir(const std::string& tag = "duractor");
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::string& path() const { return path_; }
  // A path inside the directory (not created).
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace duractor::testing
