// progress.hpp: a one-line progress indicator on stderr, shown only on a TTY and only once an
// operation has run for more than a second (short builds stay quiet).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace hrm {

class Progress {
 public:
  Progress(std::string label, std::int64_t total);
  ~Progress();
  void update(std::int64_t done);
  void finish();

 private:
  std::string label_;
  std::int64_t total_;
  std::chrono::steady_clock::time_point start_, last_;
  bool tty_;
  bool shown_ = false;
  bool finished_ = false;
};

}  // namespace hrm
