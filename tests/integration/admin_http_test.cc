// The admin API over a real socket: evhttp on its own thread answers, a
// malformed or oversized request gets an error and the listener lives on.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "agent/admin/http_listener.h"
#include "agent/config/loader.h"
#include "agent/router/snapshot.h"

namespace keymux::admin {
namespace {

constexpr std::string_view kConfig = R"(
providers:
  - name: p
    backend: be_p
    auth: bearer
    keys: [{id: k1, secret: sk-integration-secret}]
routes:
  - models: ["*"]
    targets: [{provider: p}]
allow_anonymous: true
admin:
  token_sha256: "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"
)";  // sha256("secret")

// Sends `request` and reads until the server closes (Connection: close).
std::string Exchange(std::uint16_t port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return "connect failed";
  }
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string response;
  char buffer[4096];
  ssize_t n;
  while ((n = ::recv(fd, buffer, sizeof buffer, 0)) > 0) response.append(buffer, n);
  ::close(fd);
  return response;
}

class AdminHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = config::Environment::process();
    config::LoadResult loaded = config::load_config_text(kConfig, "test.yaml", env_);
    ASSERT_TRUE(loaded.config.has_value());
    router_ = std::make_unique<router::Router>(
        clock_, router::Snapshot::build(*loaded.config, keys_, clients_), keys_);
    reloader_ = std::make_unique<Reloader>("", env_, std::vector<std::string>{}, *router_, keys_,
                                           clients_, metrics_);
    reloader_->start(*loaded.config);
    api_ = std::make_unique<AdminApi>(*router_, *reloader_, metrics_, nullptr,
                                      [] { return std::string(); });
    listener_ = std::make_unique<HttpListener>(*api_);
    std::string error;
    ASSERT_TRUE(listener_->start("127.0.0.1:0", error)) << error;
    const std::string& bound = listener_->bound_address();
    port_ = static_cast<std::uint16_t>(std::stoi(bound.substr(bound.rfind(':') + 1)));
  }

  std::string Get(const std::string& path, const std::string& extra_headers = "") {
    return Exchange(port_, "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" +
                               extra_headers + "\r\n");
  }

  config::Environment env_;
  router::FakeClock clock_;
  router::KeyRegistry keys_;
  router::ClientRegistry clients_;
  metrics::AgentMetrics metrics_;
  std::unique_ptr<router::Router> router_;
  std::unique_ptr<Reloader> reloader_;
  std::unique_ptr<AdminApi> api_;
  std::unique_ptr<HttpListener> listener_;
  std::uint16_t port_ = 0;
};

TEST_F(AdminHttpTest, AnswersHealthMetricsAndAuthorizedKeys) {
  EXPECT_TRUE(Get("/healthz").starts_with("HTTP/1.1 200 OK\r\n"));
  const std::string metrics = Get("/metrics?name[]=x");  // a query string is ignored
  EXPECT_TRUE(metrics.starts_with("HTTP/1.1 200")) << metrics;
  EXPECT_NE(metrics.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(metrics.find("keymux_key_state{key=\"k1\",provider=\"p\"} 0"), std::string::npos);
  EXPECT_TRUE(Get("/v1/keys").starts_with("HTTP/1.1 401"));
  const std::string keys = Get("/v1/keys", "Authorization: Bearer secret\r\n");
  EXPECT_TRUE(keys.starts_with("HTTP/1.1 200")) << keys;
  EXPECT_NE(keys.find("\"id\":\"k1\""), std::string::npos);
  EXPECT_EQ(keys.find("sk-integration-secret"), std::string::npos);
  const std::string reload =
      Exchange(port_,
               "POST /v1/reload HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n"
               "Authorization: Bearer secret\r\n\r\n");
  EXPECT_TRUE(reload.starts_with("HTTP/1.1 200")) << reload;  // the bundled config, reloaded
}

TEST_F(AdminHttpTest, ServesTheStatusPageWithItsSecurityHeaders) {
  const std::string page = Get("/");
  EXPECT_TRUE(page.starts_with("HTTP/1.1 200 OK\r\n")) << page;
  EXPECT_NE(page.find("Content-Type: text/html; charset=utf-8\r\n"), std::string::npos);
  EXPECT_NE(page.find("<script src=\"/ui/app.js\""), std::string::npos);
  // Every header of AdminApi's list, once, on the wire.
  for (const std::string& answer : {page, Get("/ui/app.js"), Get("/v1/status"), Get("/nothing")}) {
    for (const auto& [name, value] : kResponseHeaders) {
      const std::string line = std::string(name) + ": " + std::string(value) + "\r\n";
      const std::size_t at = answer.find(line);
      EXPECT_NE(at, std::string::npos) << line << answer.substr(0, 400);
      EXPECT_EQ(answer.find(line, at + 1), std::string::npos) << line;
    }
  }
  const std::string status = Get("/v1/status", "Authorization: Bearer secret\r\n");
  EXPECT_TRUE(status.starts_with("HTTP/1.1 200")) << status;
  EXPECT_NE(status.find("\"providers\":[{"), std::string::npos);
  EXPECT_EQ(status.find("sk-integration-secret"), std::string::npos);
}

TEST_F(AdminHttpTest, MalformedAndOversizedRequestsAreRefusedAndServiceGoesOn) {
  const std::string garbage = Exchange(port_, "\x01\x02 not http\r\n\r\n");
  EXPECT_EQ(garbage.find("200 OK"), std::string::npos);
  const std::string huge_header = Get("/healthz", "X-Big: " + std::string(64 * 1024, 'a') + "\r\n");
  EXPECT_EQ(huge_header.find("200 OK"), std::string::npos);
  const std::string huge_body = Exchange(
      port_, "POST /v1/reload HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " +
                 std::to_string(1 << 20) + "\r\n\r\n" + std::string(1 << 20, 'b'));
  EXPECT_EQ(huge_body.find("200 OK"), std::string::npos);
  EXPECT_TRUE(Get("/healthz").starts_with("HTTP/1.1 200 OK\r\n"));
}

}  // namespace
}  // namespace keymux::admin
