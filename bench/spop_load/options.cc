#include "bench/spop_load/options.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace keymux::bench {
namespace {

constexpr const char* kUsage =
    "usage: spop-load [flags]\n"
    "\n"
    "Speaks SPOP to an agent the way HAProxy 3.x does: HAPROXY-HELLO, then NOTIFY\n"
    "frames carrying a \"route\" message (9 args, as in keymux.spoe.conf), up to\n"
    "--depth frames in flight per connection, each ACK matched by stream-id and\n"
    "frame-id. Prints decisions/s, the latency percentiles and the counts. Exits 1\n"
    "if the agent disconnects, sends an unexpected frame, or an ACK carries the\n"
    "wrong ids or no action.\n"
    "\n"
    "  --target HOST:PORT|unix:PATH  the agent (default 127.0.0.1:12345)\n"
    "  --connections N               connections (default 4)\n"
    "  --depth N                     NOTIFY frames in flight per connection (default 20)\n"
    "  --duration SECONDS            measured time, after the warmup (default 10)\n"
    "  --warmup SECONDS              load sent but not measured (default 1)\n"
    "  --threads N                   generator threads (default 1)\n"
    "  --rate R                      open loop: R decisions/s in total, paced; latency\n"
    "                                counts from each frame's scheduled time\n"
    "                                (default: closed loop, refill as ACKs arrive)\n"
    "  --tick-us US                  open loop: wake at most every US microseconds and\n"
    "                                send all frames due by then (default 50; a write\n"
    "                                per frame costs more CPU than the agent on a VM)\n"
    "  --agent-pid PID               also report the agent's CPU time per decision,\n"
    "                                from /proc/PID/stat over the measured time\n"
    "  --max-frame-size N            announced in HAPROXY-HELLO (default 16380)\n"
    "  --gateway-secret S            send S as the gateway_secret argument, as HAProxy\n"
    "                                does for an agent with spop.secret (default: none)\n"
    "  --help                        this text\n";

bool parse_int(std::string_view text, long long min, long long max, long long& out) {
  long long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return false;
  }
  out = value;
  return true;
}

bool parse_seconds(std::string_view text, double min, double& out) {
  const std::string copy(text);
  char* end = nullptr;
  const double value = std::strtod(copy.c_str(), &end);
  if (copy.empty() || end != copy.c_str() + copy.size() || !(value >= min) || value > 1e7) {
    return false;
  }
  out = value;
  return true;
}

}  // namespace

int parse_options(int argc, char** argv, Options& out, bool& exit_now) {
  exit_now = true;
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    constexpr std::string_view kFlags[] = {
        "--target",    "--connections",    "--depth",          "--duration",
        "--warmup",    "--threads",        "--rate",           "--tick-us",
        "--agent-pid", "--max-frame-size", "--gateway-secret",
    };
    const std::string_view name = flag.substr(0, flag.find('='));
    bool known = false;
    for (const std::string_view f : kFlags) known = known || f == name;
    if (!known) {
      std::fprintf(stderr, "spop-load: unknown flag %.*s (see --help)\n",
                   static_cast<int>(name.size()), name.data());
      return 2;
    }
    std::string_view value;
    if (const auto eq = flag.find('='); flag.starts_with("--") && eq != std::string_view::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      std::fprintf(stderr, "spop-load: %s needs a value (see --help)\n", argv[i]);
      return 2;
    }
    long long n = 0;
    bool ok = true;
    if (flag == "--target") {
      out.target = std::string(value);
      ok = !value.empty();
    } else if (flag == "--connections") {
      ok = parse_int(value, 1, 100000, n);
      out.connections = static_cast<int>(n);
    } else if (flag == "--depth") {
      ok = parse_int(value, 1, 65536, n);
      out.depth = static_cast<int>(n);
    } else if (flag == "--threads") {
      ok = parse_int(value, 1, 1024, n);
      out.threads = static_cast<int>(n);
    } else if (flag == "--agent-pid") {
      ok = parse_int(value, 1, 1LL << 31, n);
      out.agent_pid = static_cast<int>(n);
    } else if (flag == "--max-frame-size") {
      ok = parse_int(value, 256, 16 * 1024 * 1024, n);
      out.max_frame_size = static_cast<std::uint32_t>(n);
    } else if (flag == "--gateway-secret") {
      out.gateway_secret = std::string(value);
    } else if (flag == "--duration") {
      ok = parse_seconds(value, 0.001, out.duration);
    } else if (flag == "--warmup") {
      ok = parse_seconds(value, 0.0, out.warmup);
    } else if (flag == "--tick-us") {
      ok = parse_seconds(value, 0.0, out.tick_us);
    } else {  // --rate
      ok = parse_seconds(value, 0.001, out.rate);
    }
    if (!ok) {
      std::fprintf(stderr, "spop-load: bad value for %.*s: %.*s\n", static_cast<int>(flag.size()),
                   flag.data(), static_cast<int>(value.size()), value.data());
      return 2;
    }
  }
  if (out.threads > out.connections) out.threads = out.connections;
  exit_now = false;
  return 0;
}

}  // namespace keymux::bench
