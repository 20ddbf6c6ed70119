#include "agent/admin/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <chrono>

#include "agent/admin/state_json.h"
#include "agent/handler/error_body.h"

namespace keymux::admin {
namespace {

class JsonLineFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    line_.clear();
    line_ += "{\"time\":\"";
    line_ += rfc3339(std::chrono::time_point_cast<router::Duration>(msg.time));
    line_ += "\",\"level\":\"";
    const auto level = spdlog::level::to_string_view(msg.level);
    line_.append(level.data(), level.size());
    line_ += "\",\"msg\":\"";
    handler::append_json_escaped(line_, std::string_view(msg.payload.data(), msg.payload.size()));
    line_ += "\"}\n";
    dest.append(line_.data(), line_.data() + line_.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonLineFormatter>();
  }

 private:
  std::string line_;
};

}  // namespace

std::optional<LogFormat> parse_log_format(std::string_view text) {
  if (text == "text") return LogFormat::kText;
  if (text == "json") return LogFormat::kJson;
  return std::nullopt;
}

std::unique_ptr<spdlog::formatter> make_json_formatter() {
  return std::make_unique<JsonLineFormatter>();
}

void setup_logging(LogFormat format, spdlog::level::level_enum level) {
  auto logger = spdlog::stderr_color_mt("keymux");
  if (format == LogFormat::kJson) logger->set_formatter(make_json_formatter());
  spdlog::set_default_logger(logger);
  spdlog::set_level(level);
  spdlog::flush_on(spdlog::level::info);
}

}  // namespace keymux::admin
