// spdlog setup: a journald sink that sends each record with its structured
// fields through sd_journal_sendv, and a JSON formatter whose message is
// escaped (a message with a quote or a newline must not break the line).
#include "logging/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>

namespace hssjw {

namespace {

int syslog_priority(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::critical:
      return 2;
    case spdlog::level::err:
      return 3;
    case spdlog::level::warn:
      return 4;
    case spdlog::level::info:
      return 6;
    default:
      return 7;
  }
}

std::string iso_time(std::chrono::system_clock::time_point t) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

// Native journald records. If journald cannot be reached the record goes
// to stderr instead of vanishing.
class journald_sink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit journald_sink(std::string identifier) : identifier_(std::move(identifier)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::vector<std::string> fields;
    fields.push_back("MESSAGE=" + std::string(msg.payload.data(), msg.payload.size()));
    fields.push_back("PRIORITY=" + std::to_string(syslog_priority(msg.level)));
    fields.push_back("SYSLOG_IDENTIFIER=" + identifier_);
    for (const auto& [k, v] : current_log_fields()) fields.push_back(k + "=" + v);
    std::vector<iovec> iov;
    iov.reserve(fields.size());
    for (auto& f : fields) iov.push_back({f.data(), f.size()});
    if (sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) < 0) {
      const auto line = fields.front().substr(8) + '\n';
      std::fwrite(line.data(), 1, line.size(), stderr);
    }
  }
  void flush_() override {}

 private:
  std::string identifier_;
};

class json_formatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto level = spdlog::level::to_string_view(msg.level);
    const auto line = json_log_line(
        msg.time, std::string_view(level.data(), level.size()),
        std::string_view(msg.logger_name.data(), msg.logger_name.size()),
        std::string_view(msg.payload.data(), msg.payload.size()), current_log_fields());
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<json_formatter>();
  }
};

}  // namespace

std::string json_log_line(std::chrono::system_clock::time_point time, std::string_view level,
                          std::string_view logger, std::string_view message,
                          const log_field_list& fields) {
  boost::json::object o;
  o["time"] = iso_time(time);
  o["level"] = boost::json::string_view(level.data(), level.size());
  o["logger"] = boost::json::string_view(logger.data(), logger.size());
  o["message"] = boost::json::string_view(message.data(), message.size());
  for (const auto& [k, v] : fields) o[k] = v;
  return boost::json::serialize(o) + '\n';
}

bool journal_wanted(config::log_target target) {
  if (target == config::log_target::journal) return true;
  if (target == config::log_target::stderr_) return false;
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (!stream || !*stream) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st {};
  if (::fstat(2, &st) != 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == dev &&
         static_cast<unsigned long long>(st.st_ino) == ino;
}

std::shared_ptr<spdlog::logger> make_bootstrap_logger(const std::string& name) {
  auto log =
      std::make_shared<spdlog::logger>(name, std::make_shared<spdlog::sinks::stderr_sink_mt>());
  log->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
  return log;
}

std::shared_ptr<spdlog::logger> make_logger(const std::string& name,
                                            const config::log_config& cfg) {
  std::shared_ptr<spdlog::logger> log;
  if (journal_wanted(cfg.target)) {
    log = std::make_shared<spdlog::logger>(name, std::make_shared<journald_sink>(name));
  } else {
    log = make_bootstrap_logger(name);
    if (cfg.format == config::log_format::json)
      log->set_formatter(std::make_unique<json_formatter>());
  }
  log->set_level(spdlog::level::from_str(cfg.level));
  log->flush_on(spdlog::level::trace);
  return log;
}

}  // namespace hssjw
