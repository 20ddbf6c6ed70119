// keymux-agent: the SPOP agent HAProxy asks for routing decisions.
#include <event2/event.h>
#include <getopt.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <charconv>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "agent/admin/admin_api.h"
#include "agent/admin/http_listener.h"
#include "agent/admin/key_event_log.h"
#include "agent/admin/logging.h"
#include "agent/admin/reloader.h"
#include "agent/config/bundled.h"
#include "agent/config/hash_token.h"
#include "agent/config/loader.h"
#include "agent/handler/decision_handler.h"
#include "agent/handler/outcome_handler.h"
#include "agent/router/clock.h"
#include "agent/router/key_registry.h"
#include "agent/router/router.h"
#include "agent/router/snapshot.h"
#include "agent/server/outcome_receiver.h"
#include "agent/server/server.h"
#include "agent/server/socket_address.h"
#include "agent/spop/session.h"
#include "agent/state/redis/shared_state.h"
#include "agent/version.h"

namespace {

constexpr std::string_view kDefaultListen = "127.0.0.1:12345";
constexpr std::string_view kDefaultAdminListen = "127.0.0.1:9100";
// HAProxy's default KEYMUX_OUTCOME_ADDR (haproxy.cfg, the ring's server).
constexpr std::string_view kDefaultOutcomeListen = "127.0.0.1:12346";
constexpr int kMaxThreads = 1024;

struct Flags {
  keymux::server::ServerOptions server;
  spdlog::level::level_enum log_level = spdlog::level::info;
  keymux::admin::LogFormat log_format = keymux::admin::LogFormat::kText;
  std::string admin_listen{kDefaultAdminListen};      // empty: no admin listener
  std::string outcome_listen{kDefaultOutcomeListen};  // empty: none
  bool outcome_listen_given = false;
  std::string config_path;                        // empty: the bundled default
  std::vector<std::string> haproxy_config_paths;  // HAProxy loads every -f file as one config
  bool check_only = false;
};

enum class ParseOutcome { kRun, kExitOk, kBadUsage };

void print_usage(std::FILE* out) {
  std::fprintf(out,
               "Usage: keymux-agent [FLAGS]\n"
               "       keymux-agent hash-token < TOKEN_FILE\n"
               "\n"
               "The keymux SPOP agent: answers HAProxy's SPOE with routing decisions.\n"
               "hash-token reads a client token on stdin and prints the token_sha256 line\n"
               "of a client in the configuration.\n"
               "\n"
               "Flags:\n"
               "  --config FILE          the keymux YAML configuration (default: the bundled\n"
               "                         deploy/keymux.yaml, serving the local mock provider)\n"
               "  --check                validate the configuration, print what is wrong\n"
               "                         (file:line:column: problem) and exit: 0 when valid,\n"
               "                         1 when not\n"
               "  --haproxy-config FILE  verify that every provider's backend exists in\n"
               "                         this HAProxy file (repeatable: the files HAProxy\n"
               "                         loads with several -f); checked at start, by\n"
               "                         --check and again at every reload\n"
               "  --listen ADDR          where to accept SPOP connections; repeatable.\n"
               "                         HOST:PORT, [IPV6]:PORT (port 0: any free port) or\n"
               "                         unix:/path/to/socket (default %s). Anything but\n"
               "                         loopback or a unix socket needs spop.secret in\n"
               "                         the configuration\n"
               "  --threads N            worker threads, 0 = one per CPU (default: one per\n"
               "                         CPU, %u here)\n"
               "  --max-frame-size N     largest SPOP frame accepted, in bytes, %u..%u;\n"
               "                         the agreed size is the smaller of this and\n"
               "                         HAProxy's (default %u)\n"
               "  --admin-listen ADDR    the admin HTTP API (/healthz, /readyz, /metrics,\n"
               "                         /v1/...) and the status page (/): HOST:PORT, port 0\n"
               "                         for any free port, or\n"
               "                         'off' (default %s)\n"
               "  --outcome-listen ADDR  where HAProxy's outcome lines arrive (fe_inner's\n"
               "                         log, one line per attempt): HOST:PORT or\n"
               "                         unix:/path (a stream with octet counting, from a\n"
               "                         HAProxy ring), udp@HOST:PORT or unixgram:/path\n"
               "                         (datagrams), or\n"
               "                         'off' (default %s;\n"
               "                         when that default cannot be bound the agent warns\n"
               "                         and runs without it)\n"
               "  --log-level LEVEL      trace, debug, info, warn or error (default info)\n"
               "  --log-format FORMAT    text or json (one JSON object per line; default text)\n"
               "  --help                 print this help and exit\n"
               "  --version              print the version and exit\n"
               "\n"
               "SIGTERM or SIGINT stops gracefully: answers what has arrived, sends\n"
               "AGENT-DISCONNECT to HAProxy and exits 0. SIGHUP reloads the configuration\n"
               "(as POST /v1/reload does): a bad one is rejected and the old one serves on.\n",
               std::string(kDefaultListen).c_str(), std::thread::hardware_concurrency(),
               keymux::spop::kMinFrameSize, keymux::spop::kLargestMaxFrameSize,
               keymux::spop::kDefaultMaxFrameSize, std::string(kDefaultAdminListen).c_str(),
               std::string(kDefaultOutcomeListen).c_str());
}

std::optional<std::uint64_t> parse_number(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<spdlog::level::level_enum> parse_level(std::string_view text) {
  if (text == "trace") return spdlog::level::trace;
  if (text == "debug") return spdlog::level::debug;
  if (text == "info") return spdlog::level::info;
  if (text == "warn") return spdlog::level::warn;
  if (text == "error") return spdlog::level::err;
  return std::nullopt;
}

int bad_usage(const std::string& message) {
  std::fprintf(stderr, "keymux-agent: %s\nTry 'keymux-agent --help'.\n", message.c_str());
  return 2;
}

// Returns an exit code, or -1 to run.
int parse_flags(int argc, char** argv, Flags& flags) {
  enum : int {
    kListen = 1000,
    kThreads,
    kMaxFrameSize,
    kLogLevel,
    kHelp,
    kVersion,
    kConfig,
    kCheck,
    kHaproxyConfig,
    kAdminListen,
    kLogFormat,
    kOutcomeListen
  };
  static const option kOptions[] = {
      {"config", required_argument, nullptr, kConfig},
      {"check", no_argument, nullptr, kCheck},
      {"haproxy-config", required_argument, nullptr, kHaproxyConfig},
      {"listen", required_argument, nullptr, kListen},
      {"threads", required_argument, nullptr, kThreads},
      {"max-frame-size", required_argument, nullptr, kMaxFrameSize},
      {"log-level", required_argument, nullptr, kLogLevel},
      {"log-format", required_argument, nullptr, kLogFormat},
      {"admin-listen", required_argument, nullptr, kAdminListen},
      {"outcome-listen", required_argument, nullptr, kOutcomeListen},
      {"help", no_argument, nullptr, kHelp},
      {"version", no_argument, nullptr, kVersion},
      {nullptr, 0, nullptr, 0},
  };
  std::vector<std::string> listen;
  opterr = 0;  // our own messages
  int code;
  while ((code = getopt_long(argc, argv, ":", kOptions, nullptr)) != -1) {
    const std::string_view value = optarg != nullptr ? optarg : "";
    switch (code) {
      case kListen: {
        keymux::server::ListenSpec spec;
        std::string error;
        if (!keymux::server::parse_listen_spec(value, spec, error)) return bad_usage(error);
        listen.emplace_back(value);
        break;
      }
      case kThreads: {
        const auto n = parse_number(value);
        if (!n || *n > kMaxThreads) {
          return bad_usage("--threads wants a number 0.." + std::to_string(kMaxThreads) +
                           ", got '" + std::string(value) + "'");
        }
        flags.server.threads = static_cast<int>(*n);
        break;
      }
      case kMaxFrameSize: {
        const auto n = parse_number(value);
        if (!n || *n < keymux::spop::kMinFrameSize || *n > keymux::spop::kLargestMaxFrameSize) {
          return bad_usage("--max-frame-size wants a number " +
                           std::to_string(keymux::spop::kMinFrameSize) + ".." +
                           std::to_string(keymux::spop::kLargestMaxFrameSize) + ", got '" +
                           std::string(value) + "'");
        }
        flags.server.max_frame_size = static_cast<std::uint32_t>(*n);
        break;
      }
      case kLogLevel: {
        const auto level = parse_level(value);
        if (!level) {
          return bad_usage("--log-level wants trace, debug, info, warn or error, got '" +
                           std::string(value) + "'");
        }
        flags.log_level = *level;
        break;
      }
      case kLogFormat: {
        const auto format = keymux::admin::parse_log_format(value);
        if (!format) {
          return bad_usage("--log-format wants text or json, got '" + std::string(value) + "'");
        }
        flags.log_format = *format;
        break;
      }
      case kAdminListen: {
        if (value == "off") {
          flags.admin_listen.clear();
          break;
        }
        keymux::server::ListenSpec spec;
        std::string error;
        if (!keymux::server::parse_listen_spec(value, spec, error)) return bad_usage(error);
        if (spec.is_unix) return bad_usage("--admin-listen wants HOST:PORT or 'off'");
        flags.admin_listen = value;
        break;
      }
      case kOutcomeListen: {
        flags.outcome_listen_given = true;
        if (value == "off") {
          flags.outcome_listen.clear();
          break;
        }
        std::string error;
        if (!keymux::server::OutcomeReceiver::valid_spec(value, error)) return bad_usage(error);
        flags.outcome_listen = value;
        break;
      }
      case kConfig:
        flags.config_path = value;
        break;
      case kCheck:
        flags.check_only = true;
        break;
      case kHaproxyConfig:
        flags.haproxy_config_paths.emplace_back(value);
        break;
      case kHelp:
        print_usage(stdout);
        return 0;
      case kVersion:
        std::printf("keymux-agent %s\n", keymux::kAgentVersion);
        return 0;
      case ':':
        return bad_usage(std::string("option '") + argv[optind - 1] + "' needs a value");
      default:
        return bad_usage(std::string("unknown option '") + argv[optind - 1] + "'");
    }
  }
  if (optind < argc) return bad_usage(std::string("unexpected argument '") + argv[optind] + "'");
  if (!listen.empty()) flags.server.listen = std::move(listen);
  return -1;
}

// What --check says of a variable it cannot find: the running agent reads its
// own environment, fixed when it started, which may differ from this shell's.
constexpr const char* kCheckEnvironmentHint =
    " in this shell (a running agent reads the environment it was started with)";
// What a reload says: a variable set since the agent started is not seen.
constexpr const char* kAgentEnvironmentHint =
    " in the agent's environment, which is fixed when the agent starts: restart the agent "
    "with it set, or read the secret from a file (secret_file)";

// Loads --config (or the bundled default) and, with --haproxy-config, checks
// the backends. Prints every problem to stderr; nullopt when there was one.
std::optional<keymux::config::Config> load_config(const Flags& flags) {
  namespace config = keymux::config;
  config::Environment env = config::Environment::process();
  if (flags.check_only) env.unset_variable_hint = kCheckEnvironmentHint;
  config::LoadResult result =
      flags.config_path.empty()
          ? config::load_config_text(config::bundled_config_yaml(),
                                     std::string(config::kBundledConfigName), env,
                                     flags.haproxy_config_paths)
          : config::load_config_file(flags.config_path, env, flags.haproxy_config_paths);
  for (const config::ConfigError& error : result.errors) {
    std::fprintf(stderr, "%s\n", config::format_error(error).c_str());
  }
  if (!result.errors.empty()) {
    std::fprintf(stderr, "keymux-agent: %zu problem%s in the configuration\n", result.errors.size(),
                 result.errors.size() == 1 ? "" : "s");
    return std::nullopt;
  }
  return std::move(result.config);
}

// SPOP answers carry upstream keys: a listener that another host may reach
// needs the gateway secret. False (after saying why) when one lacks it.
bool spop_listeners_allowed(const Flags& flags, const keymux::config::Config& config) {
  if (!config.spop().secret().empty()) return true;
  bool allowed = true;
  for (const std::string& listen : flags.server.listen) {
    keymux::server::ListenSpec spec;
    std::string error;
    if (!keymux::server::parse_listen_spec(listen, spec, error) ||
        keymux::server::is_local_only(spec)) {
      continue;  // a malformed one was refused with the flags already
    }
    std::fprintf(stderr,
                 "keymux-agent: refusing to listen for SPOP on %s without a gateway secret: "
                 "whoever reaches that address could ask for upstream keys. Listen on loopback "
                 "(127.0.0.1:PORT) or a unix socket (unix:/path), or set spop.secret in the "
                 "configuration (e.g. \"${KEYMUX_SPOP_SECRET}\") and give HAProxy the same "
                 "KEYMUX_SPOP_SECRET\n",
                 listen.c_str());
    allowed = false;
  }
  return allowed;
}

// A valid configuration that nobody can use: worth saying, not an error.
constexpr const char* kRefusesEveryone =
    "no clients and allow_anonymous is false: every request will be refused with 401";
bool refuses_everyone(const keymux::config::Config& config) {
  return config.clients().empty() && !config.allow_anonymous();
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

void on_stop_signal(evutil_socket_t signal_number, short /*what*/, void* arg) {
  spdlog::info("{} received, stopping", signal_number == SIGINT ? "SIGINT" : "SIGTERM");
  event_base_loopbreak(static_cast<event_base*>(arg));
}

void on_reload_signal(evutil_socket_t /*signal_number*/, short /*what*/, void* arg) {
  spdlog::info("SIGHUP received, reloading the configuration");
  static_cast<keymux::admin::Reloader*>(arg)->reload();  // logs its result
}

}  // namespace

// state.node, else the host's name: how this gateway appears among the others.
std::string state_node(const keymux::config::State& state) {
  if (!state.node().empty()) return state.node();
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "keymux";
  return host;
}

int main(int argc, char** argv) {
  if (argc == 2 && std::string_view(argv[1]) == "hash-token") {
    return keymux::config::run_hash_token(stdin, stdout, stderr);
  }
  Flags flags;
  const int exit_code = parse_flags(argc, argv, flags);
  if (exit_code >= 0) return exit_code;

  const std::optional<keymux::config::Config> config = load_config(flags);
  if (!config) return 1;
  if (!spop_listeners_allowed(flags, *config)) return 1;
  const std::string config_name = flags.config_path.empty()
                                      ? std::string(keymux::config::kBundledConfigName)
                                      : flags.config_path;
  if (flags.check_only) {
    if (refuses_everyone(*config))
      std::fprintf(stderr, "%s: note: %s\n", config_name.c_str(), kRefusesEveryone);
    std::printf("%s: valid (%s)\n", config_name.c_str(),
                keymux::admin::config_summary(*config).c_str());
    return 0;
  }

  keymux::admin::setup_logging(flags.log_format, flags.log_level);

  // A write to a peer that reset is an error code, not a process kill.
  std::signal(SIGPIPE, SIG_IGN);
  // A SIGHUP before the reload handler is in place must not kill the agent.
  std::signal(SIGHUP, SIG_IGN);

  // Signals are turned into loop events before any thread starts, so that a
  // SIGTERM during startup also ends in a graceful stop.
  event_base* base = event_base_new();
  if (base == nullptr) {
    spdlog::error("cannot create the main event loop");
    return 1;
  }
  event* sigterm = evsignal_new(base, SIGTERM, on_stop_signal, base);
  event* sigint = evsignal_new(base, SIGINT, on_stop_signal, base);
  if (sigterm == nullptr || sigint == nullptr || evsignal_add(sigterm, nullptr) != 0 ||
      evsignal_add(sigint, nullptr) != 0) {
    spdlog::error("cannot install the signal handlers");
    return 1;
  }

  int threads = flags.server.threads;
  if (threads == 0) threads = static_cast<int>(std::thread::hardware_concurrency());
  if (threads <= 0) threads = 1;
  flags.server.threads = threads;

  const keymux::router::SystemClock clock;
  keymux::router::KeyRegistry registry;
  keymux::router::ClientRegistry clients;
  keymux::metrics::AgentMetrics metrics;
  keymux::router::Router router(clock, keymux::router::Snapshot::build(*config, registry, clients),
                                registry);
  // The last state changes, for the status page (GET /v1/status).
  keymux::admin::RecentEvents recent_events;
  keymux::admin::KeyEventLog key_event_log(&recent_events);
  router.set_event_sink(&key_event_log);
  keymux::config::Environment reload_environment = keymux::config::Environment::process();
  reload_environment.unset_variable_hint = kAgentEnvironmentHint;
  keymux::admin::Reloader reloader(flags.config_path, std::move(reload_environment),
                                   flags.haproxy_config_paths, router, registry, clients, metrics,
                                   &recent_events);
  reloader.start(*config);
  spdlog::info("configuration {}: {}", config_name, keymux::admin::config_summary(*config));
  if (refuses_everyone(*config)) spdlog::warn("{}", kRefusesEveryone);
  if (config->admin().token_sha256().empty()) {
    spdlog::info(
        "no admin.token_sha256 in the configuration: the admin API's /v1/ endpoints "
        "are closed");
  }

  // state: a route may wait this long for a shared key's slice on its way.
  const keymux::router::Duration wait_deadline =
      config->has_state() ? std::chrono::duration_cast<keymux::router::Duration>(
                                std::chrono::seconds(config->state().wait_deadline().seconds()) +
                                std::chrono::nanoseconds(config->state().wait_deadline().nanos()))
                          : keymux::router::Duration::zero();
  keymux::server::Server server(
      flags.server, [&router, &metrics, &config, wait_deadline](int /*worker_index*/) {
        return std::make_unique<keymux::handler::DecisionHandler>(
            router, &metrics.add_worker(), keymux::handler::GatewaySecret(config->spop().secret()),
            wait_deadline);
      });
  std::atomic<bool> serving{false};
  keymux::admin::AdminApi admin_api(
      router, reloader, metrics, &server.stats(),
      [&serving] {
        return serving.load() ? std::string() : std::string("the SPOP workers are not running");
      },
      &recent_events);
  // state: key budgets, cooldowns and quarantines shared through Redis. It
  // connects in the background: the workers serve from the start (degraded
  // until Redis answers).
  std::unique_ptr<keymux::state::SharedState> shared_state;
  std::string error;
  if (config->has_state()) {
    shared_state = std::make_unique<keymux::state::SharedState>(
        config->state(), state_node(config->state()), router);
    // Changes seen here go to the event log, then to Redis for the others.
    shared_state->set_next_sink(&key_event_log);
    shared_state->set_on_refill([&server] { server.wake_held(); });
    router.set_event_sink(shared_state.get());
    if (!shared_state->start(error)) {
      spdlog::error("cannot start: {}", error);
      return 1;
    }
    keymux::state::SharedState* shared = shared_state.get();
    auto report = [shared, &clock] { return shared->report(clock.now()); };
    admin_api.set_shared_state({[report] { return keymux::state::state_readyz_line(report()); },
                                [report] { return keymux::state::state_metrics_text(report()); },
                                [report] { return keymux::state::state_json(report()); }});
    spdlog::info("state: sharing key budgets through Redis at {} as node {}",
                 config->state().redis(), shared->node());
  }
  keymux::handler::OutcomeHandler outcome_handler(router, metrics.outcomes);
  keymux::server::OutcomeReceiver outcome_receiver(
      [&outcome_handler](std::string_view line) { outcome_handler.on_line(line); });
  if (!flags.outcome_listen.empty()) {
    if (outcome_receiver.start(flags.outcome_listen, error)) {
      spdlog::info("outcome lines from HAProxy on {}", outcome_receiver.bound_address());
    } else if (flags.outcome_listen_given) {
      spdlog::error("cannot start: {}", error);
      return 1;
    } else {
      spdlog::warn(
          "{}: running without outcome lines (--outcome-listen): a successful stream's "
          "in-flight slot is then freed only when its ticket expires",
          error);
    }
  }
  keymux::admin::HttpListener admin_listener(admin_api);
  if (!server.start(error)) {
    spdlog::error("cannot start: {}", error);
    return 1;
  }
  serving.store(true);
  spdlog::info("keymux-agent {} listening on {} with {} worker threads, max-frame-size {}{}",
               keymux::kAgentVersion, join(server.bound_addresses()), threads,
               flags.server.max_frame_size,
               config->spop().secret().empty() ? "" : ", gateway secret required");
  if (!flags.admin_listen.empty()) {
    if (!admin_listener.start(flags.admin_listen, error)) {
      spdlog::error("cannot start: {}", error);
      server.stop();
      return 1;
    }
    spdlog::info("admin API listening on {}; status page: http://{}/",
                 admin_listener.bound_address(), admin_listener.bound_address());
  }

  event* sighup = evsignal_new(base, SIGHUP, on_reload_signal, &reloader);
  if (sighup == nullptr || evsignal_add(sighup, nullptr) != 0) {
    spdlog::error("cannot install the SIGHUP handler");
    server.stop();
    return 1;
  }

  event_base_dispatch(base);
  serving.store(false);
  admin_listener.stop();
  server.stop();
  outcome_receiver.stop();
  if (shared_state) {  // after the workers: keys point at its budgets
    router.set_event_sink(&key_event_log);
    shared_state->stop();
  }

  event_free(sighup);
  event_free(sigterm);
  event_free(sigint);
  event_base_free(base);
  spdlog::shutdown();
  return 0;
}
