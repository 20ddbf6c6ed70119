// Command-line options of spop-load.
#pragma once

#include <cstdint>
#include <string>

namespace keymux::bench {

struct Options {
  std::string target = "127.0.0.1:12345";  // "HOST:PORT" or "unix:/path"
  int connections = 4;
  int depth = 20;          // NOTIFY frames in flight per connection (HAProxy 3.1+ keeps <= 20)
  double duration = 10.0;  // seconds measured, after the warmup
  double warmup = 1.0;     // seconds of load not measured
  int threads = 1;         // generator threads; connections are spread over them
  double rate = 0.0;       // total decisions/s, paced (open loop); 0: closed loop
  double tick_us = 50.0;   // open loop: wake at most this often, send every frame due since
  int agent_pid = 0;       // if set, the agent's CPU time per decision is reported
  std::uint32_t max_frame_size = 16380;  // announced in HAPROXY-HELLO (tune.bufsize - 4)
  std::string gateway_secret;            // sent as the gateway_secret argument; empty: not sent
};

// Parses argv. Returns 0 to run, otherwise the process exit code (--help: 0
// after printing usage to stdout, a bad flag: 2 after a message on stderr),
// with `exit_now` set.
int parse_options(int argc, char** argv, Options& out, bool& exit_now);

}  // namespace keymux::bench
