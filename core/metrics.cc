#include "core/metrics.h"

#include <utility>

namespace fcgi {

uint64_t ModeCounters::recycles_total() const {
  uint64_t n = 0;
  for (const auto& [key, count] : recycles) n += count;
  return n;
}

uint64_t Metrics::BeginRequest(std::string program, std::string method, std::string uri,
                               std::chrono::steady_clock::time_point now) {
  ActiveRequestInfo info;
  info.id = next_id_++;
  info.program = std::move(program);
  info.method = std::move(method);
  info.uri = std::move(uri);
  info.started = now;
  const uint64_t id = info.id;
  active_.emplace(id, std::move(info));
  return id;
}

void Metrics::RequestStarted(uint64_t id, int pid, std::string_view mode) {
  ++modes_[std::string(mode)].starts;
  auto it = active_.find(id);
  if (it == active_.end()) return;
  it->second.pid = pid;
  it->second.mode = std::string(mode);
}

void Metrics::SetProgram(uint64_t id, std::string program) {
  auto it = active_.find(id);
  if (it != active_.end()) it->second.program = std::move(program);
}

void Metrics::EndRequest(uint64_t id, int status) {
  active_.erase(id);
  const int cls = status >= 100 && status <= 599 ? status / 100 : 0;
  ++responses_[cls];
}

uint64_t Metrics::responses(int status_class) const {
  return status_class >= 0 && status_class <= 5 ? responses_[status_class] : 0;
}

void Metrics::OnRunnerEvent(std::string_view mode, RunnerEvent event, std::string_view reason_key) {
  ModeCounters& m = modes_[std::string(mode)];
  switch (event) {
    case RunnerEvent::kParkStarted:
      ++m.park_starts;
      break;
    case RunnerEvent::kParkFailed:
      ++m.park_failures;
      break;
    case RunnerEvent::kFallbackToExec:
      ++m.fallbacks_to_exec;
      break;
    case RunnerEvent::kRecycled:
      ++m.recycles[reason_key.empty() ? "other" : std::string(reason_key)];
      break;
  }
}

std::string RecycleReasonKey(std::string_view reason) {
  static const std::pair<std::string_view, const char*> kPrefixes[] = {
      {"a thread was left running", "thread_left"},
      {"exit() was intercepted", "exit_in_cxx"},
      {"resident memory", "max_rss"},
      {"open file descriptors grew", "fd_leak"},
      {"served --max-requests", "max_requests"},
      {"SIGHUP", "sighup"},
      {"program file changed", "program_changed"},
      {"worker exited", "worker_exited"},
  };
  for (const auto& [prefix, key] : kPrefixes) {
    if (reason.substr(0, prefix.size()) == prefix) return key;
  }
  if (reason.find("file descriptors left open") != std::string_view::npos) return "fd_leak";  // "N file ..."
  return "other";
}

}  // namespace fcgi
