// atomic_write.hpp: outputs appear whole or not at all.
//  - write_file_atomic: temp file in the same folder, fsync, rename.
//  - StagingDir: a hidden sibling folder that becomes `target` on commit(); if the process dies or
//    commit() is never reached, `target` is untouched and the staging folder is removed (or, after
//    a SIGKILL, left hidden as `.<name>.partial-<pid>` and never mistaken for a dataset).
#pragma once

#include <string>

namespace hrm {

void write_file_atomic(const std::string& path, const std::string& content);

class StagingDir {
 public:
  explicit StagingDir(std::string target);
  StagingDir(const StagingDir&) = delete;
  StagingDir& operator=(const StagingDir&) = delete;
  ~StagingDir();

  const std::string& path() const { return staging_; }  // write everything in here
  // Renames the staging folder to the target. An existing target is replaced only when
  // `replace_if` names a file inside it (so a build never deletes an unrelated folder).
  void commit(const std::string& replace_if);

 private:
  std::string target_;
  std::string staging_;
  bool committed_ = false;
};

void fsync_path(const std::string& path);

}  // namespace hrm
