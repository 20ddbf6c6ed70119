// keymux-mock-upstream: a fake LLM provider (OpenAI and Anthropic shapes) for
// keymux's end-to-end tests, the demo and the gateway benchmarks.
#include <getopt.h>
#include <pthread.h>

#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/router/clock.h"
#include "agent/router/header_values.h"
#include "tests/mock_upstream/faults.h"
#include "tests/mock_upstream/keys.h"
#include "tests/mock_upstream/mock_state.h"
#include "tests/mock_upstream/server.h"

namespace {

constexpr std::uint32_t kMaxThreads = 256;
constexpr std::uint32_t kMaxWindowMs = 3'600'000;

struct Flags {
  std::string listen;
  int threads = 2;
  std::uint32_t window_ms = 60'000;
  std::vector<keymux::mock::KeySpec> keys;
  keymux::mock::Faults faults;
  bool quiet = false;
};

void print_usage(std::FILE* out) {
  std::fprintf(
      out,
      "Usage: keymux-mock-upstream --listen HOST:PORT [FLAGS]\n"
      "\n"
      "A fake LLM provider: POST /v1/chat/completions (OpenAI), POST /v1/messages\n"
      "(Anthropic), GET /v1/models, any other /v1/ path echoed; control under /_mock/\n"
      "(GET stats, POST reset, POST faults, POST keys/ID).\n"
      "\n"
      "Flags:\n"
      "  --listen HOST:PORT       where to accept HTTP/1.1 (port 0: any free port); required\n"
      "  --threads N              worker threads (default 2)\n"
      "  --key ID=SECRET[:rpm=N][:tpm=N]\n"
      "                           a known key, repeatable; rpm/tpm 0 or absent: unlimited\n"
      "  --window-ms N            length of the keys' rpm/tpm windows and of the audit's\n"
      "                           default window (default 60000)\n"
      "  --latency-ms N           added before every /v1 answer (default 0)\n"
      "  --error-rate F           share of requests answered --error-status (default 0)\n"
      "  --error-status N         (default 500)\n"
      "  --drop-rate F            share of requests whose connection is closed unanswered\n"
      "  --chunk-delay-ms N       between stream chunks (default 0)\n"
      "  --stream-chunks N        content chunks per stream (default 8)\n"
      "  --quiet                  nothing on stderr but errors\n"
      "  --help                   print this help and exit\n"
      "\n"
      "Control (JSON objects; an unknown or malformed field is refused with 400):\n"
      "  POST /_mock/faults       every key: %s\n"
      "                           (rates 0..1; spike_rate adds spike_ms to that share)\n"
      "  POST /_mock/keys/ID      one key: %s\n"
      "                           (status 0 clears the override; retry_after in seconds)\n"
      "  POST /_mock/reset        counters, windows and key overrides; faults stay\n"
      "  GET /_mock/stats         counters per key and status, recent requests\n"
      "  GET /_mock/audit         per key: requests and tokens received, and the most of\n"
      "                           each inside any window of --window-ms\n"
      "  POST /_mock/audit        the same for: %s\n"
      "                           (events: true lists [time_us, tokens, status] per request)\n"
      "\n"
      "Prints \"keymux-mock-upstream listening on HOST:PORT\" when ready; SIGTERM or\n"
      "SIGINT exit 0.\n",
      std::string(keymux::mock::kFaultFields).c_str(),
      std::string(keymux::mock::kKeyControlFields).c_str(),
      std::string(keymux::mock::kAuditFields).c_str());
}

int bad_usage(const std::string& message) {
  std::fprintf(stderr, "keymux-mock-upstream: %s\nTry 'keymux-mock-upstream --help'.\n",
               message.c_str());
  return 2;
}

// A whole number lo..hi into `out`; false (and `out` untouched) otherwise.
bool parse_into(std::string_view text, std::uint32_t lo, std::uint32_t hi, std::uint32_t& out) {
  const std::optional<std::uint64_t> value = keymux::router::parse_count(text);
  if (!value || *value < lo || *value > hi) return false;
  out = static_cast<std::uint32_t>(*value);
  return true;
}

int bad_range(const std::string& flag, std::uint32_t lo, std::uint32_t hi) {
  return bad_usage(flag + " wants a whole number " + std::to_string(lo) + ".." +
                   std::to_string(hi));
}

std::optional<double> parse_rate(std::string_view text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  if (!(value >= 0 && value <= 1)) return std::nullopt;
  return value;
}

// Returns an exit code, or -1 to run.
int parse_flags(int argc, char** argv, Flags& flags) {
  enum : int {
    kListen = 1000,
    kThreads,
    kWindow,
    kKey,
    kLatency,
    kErrorRate,
    kErrorStatus,
    kDropRate,
    kChunkDelay,
    kStreamChunks,
    kQuiet,
    kHelp
  };
  static const option kOptions[] = {
      {"listen", required_argument, nullptr, kListen},
      {"threads", required_argument, nullptr, kThreads},
      {"window-ms", required_argument, nullptr, kWindow},
      {"key", required_argument, nullptr, kKey},
      {"latency-ms", required_argument, nullptr, kLatency},
      {"error-rate", required_argument, nullptr, kErrorRate},
      {"error-status", required_argument, nullptr, kErrorStatus},
      {"drop-rate", required_argument, nullptr, kDropRate},
      {"chunk-delay-ms", required_argument, nullptr, kChunkDelay},
      {"stream-chunks", required_argument, nullptr, kStreamChunks},
      {"quiet", no_argument, nullptr, kQuiet},
      {"help", no_argument, nullptr, kHelp},
      {nullptr, 0, nullptr, 0},
  };
  opterr = 0;  // our own messages
  int code;
  int index = 0;
  while ((code = getopt_long(argc, argv, ":", kOptions, &index)) != -1) {
    const std::string_view value = optarg != nullptr ? optarg : "";
    // The flag's name and value, for messages. Never for --key: its value
    // holds a secret.
    const auto shown = [&] {
      return std::string("--") + kOptions[index].name + " '" + std::string(value) + "'";
    };
    switch (code) {
      case kListen:
        if (!flags.listen.empty()) return bad_usage("--listen given twice");
        flags.listen = value;
        break;
      case kThreads: {
        std::uint32_t threads = 0;
        if (!parse_into(value, 1, kMaxThreads, threads)) return bad_range(shown(), 1, kMaxThreads);
        flags.threads = static_cast<int>(threads);
        break;
      }
      case kWindow:
        if (!parse_into(value, 1, kMaxWindowMs, flags.window_ms)) {
          return bad_range(shown(), 1, kMaxWindowMs);
        }
        break;
      case kKey: {
        std::string error;
        std::optional<keymux::mock::KeySpec> key = keymux::mock::parse_key_flag(value, error);
        if (!key) return bad_usage(error);
        for (const auto& known : flags.keys) {
          if (known.id == key->id) return bad_usage("--key " + key->id + " given twice");
          if (known.secret == key->secret) {
            return bad_usage("--key " + key->id + " has the secret of " + known.id);
          }
        }
        flags.keys.push_back(std::move(*key));
        break;
      }
      case kLatency:
        if (!parse_into(value, 0, keymux::mock::kMaxDelayMs, flags.faults.latency_ms)) {
          return bad_range(shown(), 0, keymux::mock::kMaxDelayMs);
        }
        break;
      case kChunkDelay:
        if (!parse_into(value, 0, keymux::mock::kMaxDelayMs, flags.faults.chunk_delay_ms)) {
          return bad_range(shown(), 0, keymux::mock::kMaxDelayMs);
        }
        break;
      case kErrorStatus:
        if (!parse_into(value, 100, 599, flags.faults.error_status)) {
          return bad_range(shown(), 100, 599);
        }
        break;
      case kStreamChunks:
        if (!parse_into(value, 1, keymux::mock::kMaxStreamChunks, flags.faults.stream_chunks)) {
          return bad_range(shown(), 1, keymux::mock::kMaxStreamChunks);
        }
        break;
      case kErrorRate:
      case kDropRate: {
        const auto rate = parse_rate(value);
        if (!rate) return bad_usage(shown() + " wants a number 0..1");
        (code == kErrorRate ? flags.faults.error_rate : flags.faults.drop_rate) = *rate;
        break;
      }
      case kQuiet:
        flags.quiet = true;
        break;
      case kHelp:
        print_usage(stdout);
        return 0;
      case ':':
        return bad_usage(std::string("option '") + argv[optind - 1] + "' needs a value");
      default:
        return bad_usage(std::string("unknown option '") + argv[optind - 1] + "'");
    }
  }
  if (optind < argc) return bad_usage(std::string("unexpected argument '") + argv[optind] + "'");
  if (flags.listen.empty()) return bad_usage("--listen HOST:PORT is required");
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  const int exit_code = parse_flags(argc, argv, flags);
  if (exit_code >= 0) return exit_code;

  // Blocked before any thread starts, so that only sigwait() below sees them;
  // a write to a peer that left is an error code, not a kill.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  const std::size_t key_count = flags.keys.size();
  const keymux::router::SystemClock clock;
  keymux::mock::MockState state(std::move(flags.keys), flags.faults, clock,
                                std::chrono::milliseconds(flags.window_ms));
  keymux::mock::Server server(state);
  std::string error;
  if (!server.start(flags.listen, flags.threads, error)) {
    std::fprintf(stderr, "keymux-mock-upstream: %s\n", error.c_str());
    return 1;
  }
  if (!flags.quiet) {
    std::fprintf(stderr, "keymux-mock-upstream: %d threads, %zu keys\n", flags.threads, key_count);
  }
  std::printf("keymux-mock-upstream listening on %s\n", server.bound_address().c_str());
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  // The workers hold nothing worth a graceful stop (no files, no state that
  // outlives the process): leave without tearing their loops down.
  std::fflush(nullptr);
  std::_Exit(0);
}
