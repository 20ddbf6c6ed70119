#include "agent/server/server.h"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <utility>

#include "agent/server/acceptor.h"
#include "agent/server/listener.h"
#include "agent/server/worker.h"
#include "agent/spop/frame.h"

namespace keymux::server {

class Server::Impl {
 public:
  Impl(ServerOptions options, HandlerFactory make_handler)
      : options_(std::move(options)), make_handler_(std::move(make_handler)) {}
  ~Impl() { stop(); }

  bool start(std::string& error);
  std::vector<std::string> bound_addresses() const;
  void stop();
  void wait();

 private:
  enum class Phase { kIdle, kRunning, kStopping, kStopped };

  bool launch(std::string& error);
  void tear_down();
  void hand_off(int fd, std::string peer);

 public:
  void wake_held();

 private:
  const ServerOptions options_;
  const HandlerFactory make_handler_;

 public:
  SpopStats stats_;

 private:
  mutable std::mutex mutex_;
  std::condition_variable stopped_;
  Phase phase_ = Phase::kIdle;

  std::vector<std::unique_ptr<Listener>> listeners_;
  std::vector<std::string> bound_addresses_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::mutex workers_mu_;  // wake_held() (another thread) against start and stop
  std::unique_ptr<Acceptor> acceptor_;
  std::size_t next_worker_ = 0;  // the acceptor's thread only
};

bool Server::Impl::start(std::string& error) {
  std::lock_guard lock(mutex_);
  if (phase_ != Phase::kIdle) {
    error = "the server was already started";
    return false;
  }
  if (!launch(error)) {
    tear_down();
    bound_addresses_.clear();
    return false;
  }
  phase_ = Phase::kRunning;
  return true;
}

bool Server::Impl::launch(std::string& error) {
  if (options_.listen.empty()) {
    error = "no listen address";
    return false;
  }
  if (options_.max_frame_size < spop::kMinFrameSize ||
      options_.max_frame_size > spop::kLargestMaxFrameSize) {
    error = "max-frame-size " + std::to_string(options_.max_frame_size) + " is outside " +
            std::to_string(spop::kMinFrameSize) + ".." + std::to_string(spop::kLargestMaxFrameSize);
    return false;
  }
  for (const std::string& spec : options_.listen) {
    std::unique_ptr<Listener> listener = Listener::open(spec, error);
    if (listener == nullptr) return false;
    bound_addresses_.push_back(listener->bound_address());
    listeners_.push_back(std::move(listener));
  }

  int threads = options_.threads;
  if (threads <= 0) threads = static_cast<int>(std::thread::hardware_concurrency());
  if (threads <= 0) threads = 1;
  spop::SessionOptions session_options;
  session_options.max_frame_size = options_.max_frame_size;
  for (int i = 0; i < threads; ++i) {
    std::unique_ptr<spop::NotifyHandler> handler = make_handler_(i);
    if (handler == nullptr) {
      error = "the handler factory returned no handler for worker " + std::to_string(i);
      return false;
    }
    auto worker = std::make_unique<Worker>(i, std::move(handler), session_options, stats_);
    if (!worker->init(error)) return false;
    std::lock_guard workers_lock(workers_mu_);
    workers_.push_back(std::move(worker));
  }

  acceptor_ = std::make_unique<Acceptor>(
      listeners_, [this](int fd, std::string peer) { hand_off(fd, std::move(peer)); });
  if (!acceptor_->init(error)) return false;

  for (auto& worker : workers_) worker->start();
  acceptor_->start();
  return true;
}

void Server::Impl::hand_off(int fd, std::string peer) {
  Worker& worker = *workers_[next_worker_];
  next_worker_ = (next_worker_ + 1) % workers_.size();
  worker.adopt(fd, std::move(peer));
}

// Stop accepting first, so that no connection arrives at a worker that is
// already shutting down; then let every worker say goodbye on its connections.
void Server::Impl::tear_down() {
  if (acceptor_ != nullptr) {
    acceptor_->request_stop();
    acceptor_->join();
    acceptor_.reset();
  }
  listeners_.clear();  // closes the sockets, unlinks unix socket files
  for (auto& worker : workers_) worker->request_stop();
  for (auto& worker : workers_) worker->join();
  std::lock_guard workers_lock(workers_mu_);
  workers_.clear();
}

void Server::Impl::wake_held() {
  std::lock_guard workers_lock(workers_mu_);
  for (auto& worker : workers_) worker->wake_held();
}

std::vector<std::string> Server::Impl::bound_addresses() const {
  std::lock_guard lock(mutex_);
  return bound_addresses_;
}

void Server::Impl::stop() {
  {
    std::unique_lock lock(mutex_);
    switch (phase_) {
      case Phase::kIdle:
        phase_ = Phase::kStopped;
        stopped_.notify_all();
        return;
      case Phase::kStopping:
        stopped_.wait(lock, [this] { return phase_ == Phase::kStopped; });
        return;
      case Phase::kStopped:
        return;
      case Phase::kRunning:
        phase_ = Phase::kStopping;
        break;
    }
  }
  spdlog::info("stopping: closing listeners, draining connections");
  tear_down();
  {
    std::lock_guard lock(mutex_);
    phase_ = Phase::kStopped;
  }
  stopped_.notify_all();
  spdlog::info("stopped");
}

void Server::Impl::wait() {
  std::unique_lock lock(mutex_);
  stopped_.wait(lock, [this] { return phase_ == Phase::kStopped; });
}

Server::Server(ServerOptions options, HandlerFactory make_handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(make_handler))) {}

Server::~Server() = default;

bool Server::start(std::string& error) { return impl_->start(error); }

std::vector<std::string> Server::bound_addresses() const { return impl_->bound_addresses(); }

void Server::stop() { impl_->stop(); }

void Server::wait() { impl_->wait(); }

void Server::wake_held() { impl_->wake_held(); }

const SpopStats& Server::stats() const { return impl_->stats_; }

}  // namespace keymux::server
