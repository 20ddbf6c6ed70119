// Which SPOP listen addresses only this host can reach (main refuses the
// others without a gateway secret).
#include <gtest/gtest.h>

#include <string>

#include "agent/server/socket_address.h"

namespace keymux::server {
namespace {

bool LocalOnly(const std::string& text) {
  ListenSpec spec;
  std::string error;
  EXPECT_TRUE(parse_listen_spec(text, spec, error)) << text << ": " << error;
  return is_local_only(spec);
}

TEST(ListenSpecLocalOnly, LoopbackAndUnixSockets) {
  for (const char* text :
       {"127.0.0.1:12345", "127.0.0.1:0", "127.1.2.3:1", "[::1]:12345", "[::ffff:127.0.0.1]:1",
        "localhost:12345", "unix:/run/keymux/spop.sock"}) {
    EXPECT_TRUE(LocalOnly(text)) << text;
  }
}

TEST(ListenSpecLocalOnly, EverythingElseMayBeReachedFromOtherHosts) {
  for (const char* text : {"0.0.0.0:12345", ":12345", "*:12345", "[::]:12345", "10.0.0.5:1",
                           "192.168.1.2:1", "[2001:db8::1]:1", "[::ffff:10.0.0.1]:1", "agent:12345",
                           "localhost.example.com:1", "128.0.0.1:1"}) {
    EXPECT_FALSE(LocalOnly(text)) << text;
  }
}

}  // namespace
}  // namespace keymux::server
