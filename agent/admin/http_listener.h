// The admin API over HTTP/1.1: libevent's evhttp on a thread of its own, so
// that a slow scrape or a reload never holds up a SPOP worker.
#pragma once

#include <memory>
#include <string>

#include "agent/admin/admin_api.h"

namespace keymux::admin {

class HttpListener {
 public:
  explicit HttpListener(AdminApi& api);
  ~HttpListener();  // stops and joins
  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;

  // Binds "HOST:PORT" (port 0: a free one) and starts the thread; false with
  // `error` set when the address is bad or cannot be bound.
  bool start(const std::string& listen, std::string& error);
  // "127.0.0.1:9100", with the real port.
  const std::string& bound_address() const;
  void stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace keymux::admin
