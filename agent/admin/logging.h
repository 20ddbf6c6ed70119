// The agent's log: spdlog to stderr, as text or as JSON lines (one object per
// line, for log shippers). Nothing logged anywhere holds a secret or a token.
#pragma once

#include <spdlog/formatter.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <optional>
#include <string_view>

namespace keymux::admin {

enum class LogFormat { kText, kJson };

std::optional<LogFormat> parse_log_format(std::string_view text);

// {"time":"2026-11-27T03:20:01.123Z","level":"info","msg":"..."}
std::unique_ptr<spdlog::formatter> make_json_formatter();

// Installs the default logger "keymux" on stderr.
void setup_logging(LogFormat format, spdlog::level::level_enum level);

}  // namespace keymux::admin
