// atomic_write.cpp: temp-then-rename writes of files and folders.
#include "common/atomic_write.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/error.hpp"

namespace fs = std::filesystem;

namespace hrm {

void fsync_path(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

void write_file_atomic(const std::string& path, const std::string& content) {
  const fs::path p(path);
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  const std::string tmp = (dir / ("." + p.filename().string() + ".tmp-" + std::to_string(::getpid()))).string();
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw InputError(path, fmt::format("cannot write: {}", std::strerror(errno)));
    f.write(content.data(), static_cast<std::streamsize>(content.size()));
    f.flush();
    if (!f) { std::error_code ec; fs::remove(tmp, ec); throw InputError(path, "write failed (disk full?)"); }
  }
  fsync_path(tmp);
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) { fs::remove(tmp, ec); throw InputError(path, "cannot rename into place: " + ec.message()); }
  fsync_path(dir.string());
}

StagingDir::StagingDir(std::string target) : target_(std::move(target)) {
  fs::path t = fs::path(target_).lexically_normal();
  if (t.filename().empty()) t = t.parent_path();
  target_ = t.string();
  const fs::path parent = t.has_parent_path() ? t.parent_path() : fs::path(".");
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) throw InputError(parent.string(), "cannot create folder: " + ec.message());
  staging_ = (parent / ("." + t.filename().string() + ".partial-" + std::to_string(::getpid()))).string();
  fs::remove_all(staging_, ec);
  fs::create_directory(staging_, ec);
  if (ec) throw InputError(staging_, "cannot create folder: " + ec.message());
}

StagingDir::~StagingDir() {
  if (!committed_) { std::error_code ec; fs::remove_all(staging_, ec); }
}

void StagingDir::commit(const std::string& replace_if) {
  std::error_code ec;
  if (fs::exists(target_)) {
    if (!fs::exists(fs::path(target_) / replace_if))
      throw InputError(target_, "exists and is not an output of this command (no " + replace_if + " inside)",
                       "choose another --out or remove the folder");
    const std::string old = staging_ + ".old";
    fs::rename(target_, old, ec);
    if (ec) throw InputError(target_, "cannot move the old output aside: " + ec.message());
    fs::rename(staging_, target_, ec);
    if (ec) { fs::rename(old, target_, ec); throw InputError(target_, "cannot rename into place"); }
    fs::remove_all(old, ec);
  } else {
    fs::rename(staging_, target_, ec);
    if (ec) throw InputError(target_, "cannot rename into place: " + ec.message());
  }
  committed_ = true;
  const fs::path t(target_);
  fsync_path(t.has_parent_path() ? t.parent_path().string() : ".");
}

}  // namespace hrm
