// One generator thread: an epoll loop over its share of the connections.
#pragma once

#include <memory>
#include <vector>

#include "bench/spop_load/clock.h"
#include "bench/spop_load/connection.h"
#include "bench/spop_load/counters.h"
#include "bench/spop_load/notify_template.h"
#include "bench/spop_load/options.h"

namespace keymux::bench {

class Worker {
 public:
  // Connections `first`, `first + stride`, ... below options.connections are this worker's.
  Worker(int first, int stride, const Options& options, const Timeline& time);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Opens the connections and runs until every one is closed after the run.
  void run();
  const Counters& counters() const { return counters_; }

 private:
  const Options& options_;
  const Timeline& time_;
  int epoll_fd_ = -1;
  Counters counters_;
  std::unique_ptr<NotifyTemplate> notify_;
  std::vector<std::unique_ptr<Connection>> connections_;
};

}  // namespace keymux::bench
