#pragma once
// ContextLogger: a spdlog logger that prefixes every line with what it is about
// ("[order-17/1 Order]", "[order-17/1 Charge#5 attempt 2]"). The orchestration context's
// logger is replay-safe: it stays silent while the engine replays recorded history, so a
// line is written once however often the code runs.

#include <memory>
#include <string>
#include <utility>

#include <spdlog/spdlog.h>

namespace duractor {

class ContextLogger {
 public:
  ContextLogger() = default;
  ContextLogger(std::shared_ptr<spdlog::logger> logger, std::string context)
      : logger_(std::move(logger)), context_(std::move(context)) {}

  const std::string& context() const { return context_; }
  // When muted, nothing is written (the orchestration context mutes it while replaying).
  void set_muted(bool muted) { muted_ = muted; }
  bool muted() const { return muted_; }

  template <class... Args>
  void debug(fmt::format_string<Args...> format, Args&&... args) const {
    write(spdlog::level::debug, format, std::forward<Args>(args)...);
  }
  template <class... Args>
  void info(fmt::format_string<Args...> format, Args&&... args) const {
    write(spdlog::level::info, format, std::forward<Args>(args)...);
  }
  template <class... Args>
  void warn(fmt::format_string<Args...> format, Args&&... args) const {
    write(spdlog::level::warn, format, std::forward<Args>(args)...);
  }
  template <class... Args>
  void error(fmt::format_string<Args...> format, Args&&... args) const {
    write(spdlog::level::err, format, std::forward<Args>(args)...);
  }
  // At a level chosen at run time.
  template <class... Args>
  void log(spdlog::level::level_enum level, fmt::format_string<Args...> format,
           Args&&... args) const {
    write(level, format, std::forward<Args>(args)...);
  }

 private:
  template <class... Args>
  void write(spdlog::level::level_enum level, fmt::format_string<Args...> format,
             Args&&... args) const {
    if (muted_) return;
    auto& logger = logger_ ? *logger_ : *spdlog::default_logger_raw();
    if (!logger.should_log(level)) return;
    logger.log(level, "[{}] {}", context_, fmt::format(format, std::forward<Args>(args)...));
  }

  std::shared_ptr<spdlog::logger> logger_;
  std::string context_;
  bool muted_ = false;
};

}  // namespace duractor
