// progress.cpp: throttled carriage-return progress line.
#include "common/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace hrm {

Progress::Progress(std::string label, std::int64_t total)
    : label_(std::move(label)), total_(total), start_(std::chrono::steady_clock::now()),
      last_(start_), tty_(::isatty(STDERR_FILENO) != 0) {}

Progress::~Progress() { finish(); }

void Progress::update(std::int64_t done) {
  if (!tty_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - start_ < std::chrono::seconds(1) || now - last_ < std::chrono::milliseconds(200)) return;
  last_ = now;
  const double secs = std::chrono::duration<double>(now - start_).count();
  const double pct = total_ > 0 ? 100.0 * static_cast<double>(done) / static_cast<double>(total_) : 0.0;
  std::fprintf(stderr, "\r%s: %lld/%lld (%.0f%%) %.1fs", label_.c_str(), static_cast<long long>(done),
               static_cast<long long>(total_), pct, secs);
  std::fflush(stderr);
  shown_ = true;
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (shown_) { std::fprintf(stderr, "\r%s: done\x1b[K\n", label_.c_str()); std::fflush(stderr); }
}

}  // namespace hrm
