// An in-process keymux server for integration tests, and handlers to run in it.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "agent/server/server.h"
#include "agent/spop/session.h"
#include "tests/support/spop_client.h"

namespace keymux::testing {

// A temporary directory removed with everything in it at the end of the scope.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "keymux-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Acknowledges each message with txn vars "msg" = its name and "id" = its
// argument "id" when that is a string; a message named "empty" adds nothing
// (the session must then add an action of its own).
class EchoHandler : public spop::NotifyHandler {
 public:
  Reply on_notify(spop::Session&, const spop::NotifyRequest& request,
                  spop::AckEncoder& ack) override {
    for (const spop::Message& message : request.messages) {
      if (message.name == "empty") continue;
      ack.set_var(spop::VarScope::kTransaction, "msg", spop::TypedValue::of_string(message.name));
      if (const spop::TypedValue* id = message.arg("id"); id != nullptr && id->as_text()) {
        ack.set_var(spop::VarScope::kTransaction, "id",
                    spop::TypedValue::of_string(*id->as_text()));
      }
    }
    return Reply::kNow;
  }
};

inline server::HandlerFactory echo_factory() {
  return [](int) { return std::make_unique<EchoHandler>(); };
}

// Tells a test thread when a worker has seen a NOTIFY.
class NotifyLatch {
 public:
  void count() {
    std::lock_guard lock(mutex_);
    ++seen_;
    changed_.notify_all();
  }
  bool wait_for(int at_least, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return seen_ >= at_least; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int seen_ = 0;
};

class LatchedEchoHandler : public EchoHandler {
 public:
  explicit LatchedEchoHandler(NotifyLatch& latch) : latch_(latch) {}
  Reply on_notify(spop::Session& session, const spop::NotifyRequest& request,
                  spop::AckEncoder& ack) override {
    const Reply reply = EchoHandler::on_notify(session, request, ack);
    latch_.count();
    return reply;
  }

 private:
  NotifyLatch& latch_;
};

inline server::ServerOptions test_options(std::vector<std::string> listen = {"127.0.0.1:0"}) {
  server::ServerOptions options;
  options.listen = std::move(listen);
  options.threads = 2;
  return options;
}

// Starts in the constructor (check ok()), stops in the destructor.
class RunningServer {
 public:
  explicit RunningServer(server::HandlerFactory factory,
                         server::ServerOptions options = test_options())
      : server_(std::move(options), std::move(factory)) {
    ok_ = server_.start(error_);
    if (ok_) addresses_ = server_.bound_addresses();
  }
  ~RunningServer() { stop(); }

  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  const std::string& address(std::size_t i = 0) const { return addresses_.at(i); }
  std::size_t address_count() const { return addresses_.size(); }
  void stop() {
    if (ok_ && !stopped_) server_.stop();
    stopped_ = true;
  }
  server::Server& server() { return server_; }

 private:
  server::Server server_;
  bool ok_ = false;
  bool stopped_ = false;
  std::string error_;
  std::vector<std::string> addresses_;
};

// Connects and completes the hello exchange; fails the test otherwise.
inline void connect_and_handshake(SpopClient& client, const std::string& address,
                                  const spop::HaproxyHello& hello = default_hello()) {
  std::string error;
  ASSERT_TRUE(client.connect(address, error)) << error;
  ASSERT_TRUE(client.handshake(hello)) << client.last_error();
}

}  // namespace keymux::testing
