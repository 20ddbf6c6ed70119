#include "agent/state/redis/redis_link.h"

#include <hiredis/adapters/libevent.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace keymux::state {
namespace {

// At most a second between attempts: a Redis back from a 2 s pause was
// reached 1.4 s late at a 1.6 s step (healthy 3.4 s after the fault), and
// one connect per second per gateway costs Redis nothing. No jitter: nodes
// that lost Redis together come back together (the epoch settle counts on it).
constexpr std::chrono::milliseconds kMaxBackoff{1000};
constexpr std::chrono::milliseconds kConnectDeadline{1000};
// Timeouts in a row that mean the connection is stuck: drop it and reconnect.
constexpr int kStuckTimeouts = 20;

timeval to_timeval(std::chrono::milliseconds d) {
  return {static_cast<time_t>(d.count() / 1000), static_cast<suseconds_t>(d.count() % 1000 * 1000)};
}

}  // namespace

struct RedisLink::Pending {
  RedisLink* link;
  Callback cb;
  event* deadline = nullptr;
  bool done = false;
};

RedisLink::RedisLink(event_base* base, Options options)
    : base_(base), options_(std::move(options)) {
  retry_ = evtimer_new(base_, on_retry, this);
  connect_deadline_ = evtimer_new(base_, on_connect_deadline, this);
  drop_ = evtimer_new(base_, on_drop, this);
}

RedisLink::~RedisLink() {
  on_ready_ = nullptr;
  on_down_ = nullptr;
  connected_ = false;  // the callbacks that run during the free send nothing
  ready_ = false;
  if (ctx_ != nullptr) {
    redisAsyncContext* c = ctx_;
    ctx_ = nullptr;
    c->data = nullptr;
    redisAsyncFree(c);  // pending callbacks run with no reply
  }
  event_free(retry_);
  event_free(connect_deadline_);
  event_free(drop_);
}

void RedisLink::start() { connect(); }

void RedisLink::connect() {
  const config::RedisAddress& a = options_.address;
  ctx_ = a.is_unix() ? redisAsyncConnectUnix(a.unix_path.c_str())
                     : redisAsyncConnect(a.host.c_str(), a.port);
  if (ctx_ == nullptr || ctx_->err) {
    spdlog::warn("redis ({}): cannot connect: {}", options_.name,
                 ctx_ != nullptr ? ctx_->errstr : "out of memory");
    if (ctx_ != nullptr) redisAsyncFree(ctx_);
    ctx_ = nullptr;
    lost("connect failed");
    return;
  }
  ctx_->data = this;
  redisLibeventAttach(ctx_, base_);
  redisAsyncSetConnectCallback(ctx_, on_connect);
  redisAsyncSetDisconnectCallback(ctx_, on_disconnect);
  const timeval deadline = to_timeval(kConnectDeadline);
  evtimer_add(connect_deadline_, &deadline);
}

void RedisLink::on_connect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<RedisLink*>(ac->data);
  if (self == nullptr) return;
  evtimer_del(self->connect_deadline_);
  if (status != REDIS_OK) {
    self->ctx_ = nullptr;  // hiredis frees it
    self->lost("connect failed");
    return;
  }
  self->connected_ = true;
  self->setup();
}

void RedisLink::on_disconnect(const redisAsyncContext* ac, int /*status*/) {
  auto* self = static_cast<RedisLink*>(ac->data);
  if (self == nullptr) return;
  self->ctx_ = nullptr;  // hiredis frees it
  self->lost("connection lost");
}

void RedisLink::on_connect_deadline(evutil_socket_t, short, void* arg) {
  static_cast<RedisLink*>(arg)->drop("connect timed out");
}

void RedisLink::on_retry(evutil_socket_t, short, void* arg) {
  static_cast<RedisLink*>(arg)->connect();
}

// Not from inside a hiredis callback: from the loop, at once.
void RedisLink::drop_soon() {
  const timeval now{0, 0};
  evtimer_add(drop_, &now);
}

void RedisLink::on_drop(evutil_socket_t, short, void* arg) {
  static_cast<RedisLink*>(arg)->drop("set-up failed");
}

void RedisLink::drop(const char* why) {
  connected_ = false;
  if (ctx_ != nullptr) {
    redisAsyncContext* c = ctx_;
    ctx_ = nullptr;
    c->data = nullptr;
    redisAsyncFree(c);
  }
  lost(why);
}

void RedisLink::lost(const char* why) {
  const bool was_ready = ready_;
  connected_ = false;
  ready_ = false;
  evtimer_del(connect_deadline_);
  if (was_ready) {
    spdlog::warn("redis ({}): {}; reconnecting", options_.name, why);
    if (on_down_) on_down_();
  } else if (!told_unreachable_) {  // once until the next success
    spdlog::warn("redis ({}): cannot reach {}: {}; retrying with backoff", options_.name,
                 options_.address.is_unix()
                     ? "unix:" + options_.address.unix_path
                     : options_.address.host + ":" + std::to_string(options_.address.port),
                 why);
  }
  told_unreachable_ = !was_ready;
  const timeval wait = to_timeval(backoff_);
  backoff_ = std::min(backoff_ * 2, kMaxBackoff);
  evtimer_add(retry_, &wait);
}

void RedisLink::setup() {
  auto load = [this] {
    if (options_.functions.empty()) {
      became_ready();
      return;
    }
    command({"FUNCTION", "LOAD", "REPLACE", options_.functions}, [this](redisReply* r) {
      if (r == nullptr || r->type == REDIS_REPLY_ERROR) {
        spdlog::error("redis ({}): FUNCTION LOAD failed: {}", options_.name,
                      r != nullptr ? r->str : "no answer");
        drop_soon();  // connect again (with backoff); meanwhile degraded
        return;
      }
      became_ready();
    });
  };
  if (options_.password.empty()) {
    load();
    return;
  }
  command({"AUTH", options_.password}, [this, load](redisReply* r) {
    if (r == nullptr || r->type == REDIS_REPLY_ERROR) {
      spdlog::error("redis ({}): AUTH {} (check state.password)", options_.name,
                    r != nullptr ? "refused" : "unanswered");
      drop_soon();
      return;
    }
    load();
  });
}

void RedisLink::became_ready() {
  ready_ = true;
  told_unreachable_ = false;
  backoff_ = std::chrono::milliseconds(100);
  if (on_ready_) on_ready_();
}

void RedisLink::reload_functions() {
  if (!connected_) return;
  command({"FUNCTION", "LOAD", "REPLACE", options_.functions}, [](redisReply*) {});
}

void RedisLink::command(const std::vector<std::string>& args, Callback cb) {
  if (!connected_ || ctx_ == nullptr) {
    cb(nullptr);
    return;
  }
  auto* p = new Pending{this, std::move(cb)};
  p->deadline = evtimer_new(base_, on_deadline, p);
  const timeval deadline = to_timeval(options_.command_timeout);
  evtimer_add(p->deadline, &deadline);
  send(args, p);
}

void RedisLink::send(const std::vector<std::string>& args, Pending* p) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  if (redisAsyncCommandArgv(ctx_, on_reply, p, static_cast<int>(argv.size()), argv.data(),
                            lens.data()) != REDIS_OK) {
    on_reply(ctx_, nullptr, p);
  }
}

void RedisLink::on_reply(redisAsyncContext* /*ac*/, void* reply, void* privdata) {
  auto* p = static_cast<Pending*>(privdata);
  if (p->deadline != nullptr) event_free(p->deadline);
  if (!p->done) {
    p->done = true;
    if (reply != nullptr) p->link->timeouts_in_a_row_ = 0;
    p->cb(static_cast<redisReply*>(reply));
  }
  delete p;
}

void RedisLink::on_deadline(evutil_socket_t, short, void* arg) {
  auto* p = static_cast<Pending*>(arg);
  event_free(p->deadline);
  p->deadline = nullptr;
  p->done = true;  // the late reply, if any, frees p
  RedisLink* link = p->link;
  ++link->timeouts_in_a_row_;
  p->cb(nullptr);
  if (link->timeouts_in_a_row_ >= kStuckTimeouts) {
    link->timeouts_in_a_row_ = 0;
    link->drop("commands keep timing out");
  }
}

void RedisLink::subscribe(const std::string& channel, Callback cb) {
  if (!connected_ || ctx_ == nullptr) return;
  channel_ = channel;
  on_message_ = std::move(cb);
  redisAsyncCommand(ctx_, on_subscribed, this, "SUBSCRIBE %b", channel_.data(), channel_.size());
}

void RedisLink::on_subscribed(redisAsyncContext* ac, void* reply, void* /*privdata*/) {
  auto* self = static_cast<RedisLink*>(ac->data);
  if (self == nullptr || reply == nullptr || !self->on_message_) return;
  self->on_message_(static_cast<redisReply*>(reply));
}

}  // namespace keymux::state
