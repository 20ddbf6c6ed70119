// One hiredis (0.14) asynchronous connection on a libevent loop, with what
// hiredis lacks: a deadline per command (a libevent timer), a connect
// deadline, reconnects with backoff, AUTH and FUNCTION LOAD REPLACE on every
// connect. Everything runs on the loop's thread; nothing ever blocks.
#pragma once

#include <event2/event.h>
#include <hiredis/async.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "agent/config/redis_address.h"

namespace keymux::state {

class RedisLink {
 public:
  // `reply` is nullptr when the command failed: deadline, disconnect, or no
  // connection. A Redis error is a reply of type REDIS_REPLY_ERROR.
  using Callback = std::function<void(redisReply* reply)>;

  struct Options {
    config::RedisAddress address;
    std::string password;   // empty: no AUTH
    std::string functions;  // the library to load on connect; empty: none
    std::chrono::milliseconds command_timeout{50};
    std::string name;  // in log lines ("commands", "events")
  };

  RedisLink(event_base* base, Options options);
  ~RedisLink();
  RedisLink(const RedisLink&) = delete;
  RedisLink& operator=(const RedisLink&) = delete;

  // Called (on the loop) when the connection is set up, and when it is lost.
  void on_ready(std::function<void()> f) { on_ready_ = std::move(f); }
  void on_down(std::function<void()> f) { on_down_ = std::move(f); }

  void start();  // connects (and reconnects until destroyed)
  bool ready() const { return ready_; }
  // Commands that timed out in a row (a reply resets it).
  int timeouts_in_a_row() const { return timeouts_in_a_row_; }

  // With a deadline; `cb` runs exactly once.
  void command(const std::vector<std::string>& args, Callback cb);
  // No deadline, `cb` for every message (SUBSCRIBE).
  void subscribe(const std::string& channel, Callback cb);
  // Loads the library again (after FUNCTION FLUSH); drops the connection on failure.
  void reload_functions();

 private:
  struct Pending;
  static void on_connect(const redisAsyncContext* ac, int status);
  static void on_disconnect(const redisAsyncContext* ac, int status);
  static void on_reply(redisAsyncContext* ac, void* reply, void* privdata);
  static void on_deadline(evutil_socket_t, short, void* arg);
  static void on_retry(evutil_socket_t, short, void* arg);
  static void on_connect_deadline(evutil_socket_t, short, void* arg);
  static void on_drop(evutil_socket_t, short, void* arg);
  static void on_subscribed(redisAsyncContext* ac, void* reply, void* privdata);

  void connect();
  void setup();  // AUTH, FUNCTION LOAD, then ready
  void became_ready();
  void drop_soon();
  void drop(const char* why);  // frees the connection, schedules a reconnect
  void lost(const char* why);
  void send(const std::vector<std::string>& args, Pending* p);

  event_base* base_;
  Options options_;
  redisAsyncContext* ctx_ = nullptr;
  bool connected_ = false;
  bool ready_ = false;
  bool told_unreachable_ = false;
  int timeouts_in_a_row_ = 0;
  std::chrono::milliseconds backoff_{100};
  event* retry_ = nullptr;
  event* connect_deadline_ = nullptr;
  event* drop_ = nullptr;
  std::function<void()> on_ready_, on_down_;
  std::string channel_;
  Callback on_message_;
};

}  // namespace keymux::state
