#include "agent/admin/reloader.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "agent/admin/config_changes.h"
#include "agent/config/bundled.h"
#include "agent/router/snapshot.h"

namespace keymux::admin {
namespace {

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string config_summary(const config::Config& config) {
  std::size_t keys = 0;
  for (const auto& provider : config.providers()) keys += provider.keys_size();
  const auto count = [](std::size_t n, const char* noun) {
    return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
  };
  return count(static_cast<std::size_t>(config.providers_size()), "provider") + ", " +
         count(keys, "key") + ", " +
         count(static_cast<std::size_t>(config.routes_size()), "route") + ", " +
         count(static_cast<std::size_t>(config.clients_size()), "client");
}

Reloader::Reloader(std::string config_path, config::Environment environment,
                   std::vector<std::string> haproxy_files, router::Router& router,
                   router::KeyRegistry& keys, router::ClientRegistry& clients,
                   metrics::AgentMetrics& metrics, RecentEvents* recent)
    : config_path_(std::move(config_path)),
      config_name_(config_path_.empty() ? std::string(config::kBundledConfigName) : config_path_),
      environment_(std::move(environment)),
      haproxy_files_(std::move(haproxy_files)),
      router_(router),
      keys_(keys),
      clients_(clients),
      metrics_(metrics),
      recent_(recent),
      admin_token_(std::make_shared<const std::optional<config::Sha256>>()) {}

void Reloader::adopt(const config::Config& config) {
  current_ = config;
  std::optional<config::Sha256> token;
  if (config::Sha256 digest; config::parse_hex_sha256(config.admin().token_sha256(), digest)) {
    token = digest;
  }
  admin_token_.store(std::make_shared<const std::optional<config::Sha256>>(token));
  metrics_.last_reload_ok.store(true, std::memory_order_relaxed);
  metrics_.last_reload_success_unix.store(unix_now(), std::memory_order_relaxed);
}

void Reloader::record(bool ok, std::string detail) {
  ReloadRecord record{router_.clock().now(), ok, std::move(detail)};
  if (recent_ != nullptr) {
    recent_->add(
        {record.at, "reload", "", "",
         (ok ? "configuration loaded: " : "configuration reload rejected: ") + record.detail});
  }
  std::lock_guard lock(record_mu_);
  last_ = std::move(record);
}

ReloadRecord Reloader::last_reload() const {
  std::lock_guard lock(record_mu_);
  return last_;
}

void Reloader::start(const config::Config& config) {
  std::lock_guard lock(reload_mu_);
  adopt(config);
  record(true, config_summary(config));
}

ReloadResult Reloader::reload() {
  std::lock_guard lock(reload_mu_);
  config::LoadResult loaded =
      config_path_.empty() ? config::load_config_text(config::bundled_config_yaml(), config_name_,
                                                      environment_, haproxy_files_)
                           : config::load_config_file(config_path_, environment_, haproxy_files_);
  ReloadResult result;
  // current_ holds the start's secret: no reload may change it.
  if (loaded.config && loaded.config->spop().secret() != current_.spop().secret()) {
    // The listeners were allowed (or not) off loopback with the secret of the
    // start, and HAProxy's copy changes only with its environment.
    loaded.errors.push_back(
        {config_name_, 0, 0,
         "spop: the gateway secret differs from the one the agent started with; it changes "
         "only at a restart (restart the agent and HAProxy, with the new KEYMUX_SPOP_SECRET)"});
    loaded.config.reset();
  }
  // The Redis client and its leases were set up with the start's `state`.
  if (loaded.config &&
      loaded.config->state().SerializeAsString() != current_.state().SerializeAsString()) {
    loaded.errors.push_back({config_name_, 0, 0,
                             "state: differs from the one the agent started with; it changes only "
                             "at a restart"});
    loaded.config.reset();
  }
  if (!loaded.config) {
    for (const config::ConfigError& error : loaded.errors) {
      result.errors.push_back(config::format_error(error));
    }
    metrics_.reloads_failed.fetch_add(1, std::memory_order_relaxed);
    metrics_.last_reload_ok.store(false, std::memory_order_relaxed);
    spdlog::error(
        "configuration reload rejected ({} problem{}); still serving the previous "
        "configuration",
        result.errors.size(), result.errors.size() == 1 ? "" : "s");
    for (const std::string& error : result.errors) spdlog::error("  {}", error);
    std::string detail = result.errors.empty() ? std::string("invalid") : result.errors.front();
    if (result.errors.size() > 1) {
      detail += " (and " + std::to_string(result.errors.size() - 1) + " more)";
    }
    record(false, std::move(detail));
    return result;
  }
  // Snapshot::build applies the new limits to the states it keeps; the swap
  // itself is one atomic store, so a decision sees the old or the new whole.
  router_.apply(router::Snapshot::build(*loaded.config, keys_, clients_));
  result.changes = config_changes(current_, *loaded.config);
  adopt(*loaded.config);
  metrics_.reloads_succeeded.fetch_add(1, std::memory_order_relaxed);
  result.ok = true;
  result.summary = config_summary(*loaded.config);
  std::string changes;
  for (const std::string& change : result.changes) {
    changes += (changes.empty() ? "" : "; ") + change;
  }
  if (changes.empty()) {
    spdlog::info("configuration reloaded from {}: {}; nothing changed", config_name_,
                 result.summary);
    record(true, result.summary + "; nothing changed");
  } else {
    spdlog::info("configuration reloaded from {}: {}; {}", config_name_, result.summary, changes);
    record(true, result.summary + "; " + changes);
  }
  return result;
}

std::optional<config::Sha256> Reloader::admin_token() const { return *admin_token_.load(); }

}  // namespace keymux::admin
