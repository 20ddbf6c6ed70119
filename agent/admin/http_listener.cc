#include "agent/admin/http_listener.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "agent/server/socket_address.h"

namespace keymux::admin {
namespace {

// Admin requests carry no body worth more than this (POSTs carry none at all).
constexpr ev_ssize_t kMaxBodySize = 64 * 1024;
constexpr ev_ssize_t kMaxHeadersSize = 16 * 1024;
constexpr int kRequestTimeoutSeconds = 30;

std::string_view method_name(evhttp_cmd_type command) {
  switch (command) {
    case EVHTTP_REQ_GET:
      return "GET";
    case EVHTTP_REQ_POST:
      return "POST";
    case EVHTTP_REQ_HEAD:
      return "HEAD";
    case EVHTTP_REQ_PUT:
      return "PUT";
    case EVHTTP_REQ_DELETE:
      return "DELETE";
    case EVHTTP_REQ_OPTIONS:
      return "OPTIONS";
    case EVHTTP_REQ_PATCH:
      return "PATCH";
    default:
      return "OTHER";
  }
}

}  // namespace

class HttpListener::Impl {
 public:
  explicit Impl(AdminApi& api) : api_(api) {}
  ~Impl() {
    stop();
    if (http_ != nullptr) evhttp_free(http_);
    if (wake_ != nullptr) event_free(wake_);
    if (base_ != nullptr) event_base_free(base_);
    if (wake_fd_ >= 0) ::close(wake_fd_);
  }

  bool start(const std::string& listen, std::string& error) {
    server::ListenSpec spec;
    if (!server::parse_listen_spec(listen, spec, error)) return false;
    if (spec.is_unix) {
      error = "the admin API listens on HOST:PORT, not on a unix socket";
      return false;
    }
    base_ = event_base_new();
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (base_ == nullptr || wake_fd_ < 0) {
      error = "cannot create the admin event loop";
      return false;
    }
    wake_ = event_new(base_, wake_fd_, EV_READ | EV_PERSIST, on_wake, this);
    http_ = evhttp_new(base_);
    if (wake_ == nullptr || http_ == nullptr || event_add(wake_, nullptr) != 0) {
      error = "cannot create the admin HTTP server";
      return false;
    }
    evhttp_set_max_body_size(http_, kMaxBodySize);
    evhttp_set_max_headers_size(http_, kMaxHeadersSize);
    evhttp_set_timeout(http_, kRequestTimeoutSeconds);
    evhttp_set_allowed_methods(http_, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                          EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH |
                                          EVHTTP_REQ_OPTIONS);
    evhttp_set_gencb(http_, on_request, this);
    const std::string host = spec.host.empty() || spec.host == "*" ? "0.0.0.0" : spec.host;
    evhttp_bound_socket* bound = evhttp_bind_socket_with_handle(http_, host.c_str(), spec.port);
    if (bound == nullptr) {
      error = "cannot listen on " + listen +
              " for the admin API: " + std::generic_category().message(errno);
      return false;
    }
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    const evutil_socket_t fd = evhttp_bound_socket_get_fd(bound);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      bound_address_ = server::format_address(reinterpret_cast<sockaddr*>(&address), length);
    } else {
      bound_address_ = listen;
    }
    thread_ = std::thread([this] { event_base_dispatch(base_); });
    return true;
  }

  void stop() {
    if (!thread_.joinable()) return;
    const std::uint64_t one = 1;
    while (::write(wake_fd_, &one, sizeof one) < 0 && errno == EINTR) {
    }
    thread_.join();
  }

  const std::string& bound_address() const { return bound_address_; }

 private:
  static void on_wake(evutil_socket_t /*fd*/, short /*what*/, void* arg) {
    event_base_loopbreak(static_cast<Impl*>(arg)->base_);
  }

  static void on_request(evhttp_request* request, void* arg) {
    auto* self = static_cast<Impl*>(arg);
    const evhttp_uri* uri = evhttp_request_get_evhttp_uri(request);
    const char* path = uri != nullptr ? evhttp_uri_get_path(uri) : nullptr;
    const char* authorization =
        evhttp_find_header(evhttp_request_get_input_headers(request), "Authorization");
    const AdminResponse response = self->api_.handle(
        {method_name(evhttp_request_get_command(request)), path != nullptr ? path : "",
         authorization != nullptr ? authorization : ""});
    evkeyvalq* headers = evhttp_request_get_output_headers(request);
    evhttp_add_header(headers, "Content-Type", response.content_type.c_str());
    for (const auto& [name, value] : response.headers) {
      evhttp_add_header(headers, std::string(name).c_str(), std::string(value).c_str());
    }
    evbuffer* body = evbuffer_new();
    if (body == nullptr) {
      evhttp_send_error(request, 500, "out of memory");
      return;
    }
    evbuffer_add(body, response.body.data(), response.body.size());
    // A null reason: libevent writes the standard phrase for the status.
    evhttp_send_reply(request, response.status, nullptr, body);
    evbuffer_free(body);
  }

  AdminApi& api_;
  event_base* base_ = nullptr;
  event* wake_ = nullptr;
  int wake_fd_ = -1;
  evhttp* http_ = nullptr;
  std::string bound_address_;
  std::thread thread_;
};

HttpListener::HttpListener(AdminApi& api) : impl_(std::make_unique<Impl>(api)) {}
HttpListener::~HttpListener() = default;

bool HttpListener::start(const std::string& listen, std::string& error) {
  return impl_->start(listen, error);
}
const std::string& HttpListener::bound_address() const { return impl_->bound_address(); }
void HttpListener::stop() { impl_->stop(); }

}  // namespace keymux::admin
