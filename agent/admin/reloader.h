// Puts a configuration into service: at start and on every reload (SIGHUP,
// POST /v1/reload). A reload reads the file again and validates it first; a
// bad one is rejected with its errors and the old one keeps serving. A good
// one is swapped into the router between decisions: keys and clients that
// remain keep their counters, cooldowns and quarantines (they live in the
// registries, by name). One that changes the gateway secret (spop.secret) is
// rejected: that takes a restart.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/admin/recent_events.h"
#include "agent/config/loader.h"
#include "agent/config/token_sha256.h"
#include "agent/metrics/agent_metrics.h"
#include "agent/router/router.h"

namespace keymux::admin {

struct ReloadResult {
  bool ok = false;
  std::string summary;               // ok: "2 providers, 5 keys, 3 routes, 2 clients"
  std::vector<std::string> changes;  // ok: config_changes() against the previous one
  std::vector<std::string> errors;   // rejected: "file:line:column: problem", no secret
};

// When the configuration was last put into service or refused, and how it went.
struct ReloadRecord {
  router::Time at{};
  bool ok = false;
  // ok: the summary and what changed; refused: the first error and how many there were
  std::string detail;
};

// "N providers, N keys, N routes, N clients" ("1 route").
std::string config_summary(const config::Config& config);

class Reloader {
 public:
  // `config_path` empty: the bundled configuration (a reload re-reads the same
  // text). `haproxy_files`: every reload checks the providers' backends in them.
  Reloader(std::string config_path, config::Environment environment,
           std::vector<std::string> haproxy_files, router::Router& router,
           router::KeyRegistry& keys, router::ClientRegistry& clients,
           metrics::AgentMetrics& metrics, RecentEvents* recent = nullptr);

  // The configuration the agent starts with (loaded and checked by the caller,
  // already in the router).
  void start(const config::Config& config);
  // Reads and validates the file again; swaps it in when valid. Any thread;
  // one reload at a time. Logs its result.
  ReloadResult reload();

  // The admin token's digest of the configuration in service; nullopt when none is set.
  std::optional<config::Sha256> admin_token() const;
  const std::string& config_name() const { return config_name_; }
  // The start or the last reload (SIGHUP or POST /v1/reload), accepted or not.
  ReloadRecord last_reload() const;

 private:
  void adopt(const config::Config& config);
  void record(bool ok, std::string detail);

  const std::string config_path_;
  const std::string config_name_;
  const config::Environment environment_;
  const std::vector<std::string> haproxy_files_;
  router::Router& router_;
  router::KeyRegistry& keys_;
  router::ClientRegistry& clients_;
  metrics::AgentMetrics& metrics_;
  RecentEvents* const recent_;
  std::mutex reload_mu_;
  config::Config current_;        // the configuration in service; guarded by reload_mu_
  mutable std::mutex record_mu_;  // guards last_ (not held during a reload)
  ReloadRecord last_;
  std::atomic<std::shared_ptr<const std::optional<config::Sha256>>> admin_token_;
};

}  // namespace keymux::admin
