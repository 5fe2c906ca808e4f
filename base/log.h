#pragma once
// Minimal structured logging to stderr: "2026-11-28T09:30:00.123Z level message".
// Thread-safe (one write per line).

#include <string_view>

namespace earshot {

enum class LogLevel { kDebug, kInfo, kWarn, kError };
void Log(LogLevel level, std::string_view message);
inline void LogInfo(std::string_view m) { Log(LogLevel::kInfo, m); }
inline void LogWarn(std::string_view m) { Log(LogLevel::kWarn, m); }
inline void LogError(std::string_view m) { Log(LogLevel::kError, m); }
// Messages below `level` are dropped (default kInfo).
void SetLogLevel(LogLevel level);

}  // namespace earshot
