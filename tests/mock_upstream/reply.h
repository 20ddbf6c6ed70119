// How a connection is to answer one request: bytes to send now, more to send
// later (a stream), or nothing at all (a dropped connection). Reused from
// request to request so that its strings keep their capacity.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace keymux::mock {

class Reply {
 public:
  void clear() {
    used_ = 0;
    drop = false;
    close = false;
    delay = std::chrono::milliseconds(0);
    chunk_delay = std::chrono::milliseconds(0);
  }
  // A new, empty part after the others.
  std::string& add_part() {
    if (used_ == parts_.size()) parts_.emplace_back();
    std::string& part = parts_[used_++];
    part.clear();
    return part;
  }
  std::size_t part_count() const { return used_; }
  const std::string& part(std::size_t i) const { return parts_[i]; }

  bool drop = false;                         // close the connection without answering
  bool close = false;                        // close once the answer is out
  std::chrono::milliseconds delay{0};        // before the first part
  std::chrono::milliseconds chunk_delay{0};  // between parts

 private:
  std::vector<std::string> parts_;
  std::size_t used_ = 0;
};

}  // namespace keymux::mock
