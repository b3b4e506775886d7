#include "core/status_page.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace fcgi {

namespace {

// Text and log-safe: control characters become '?'.
std::string Printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  return out;
}

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;  // UTF-8 passes through; invalid bytes are the URI's own
    }
  }
  return out + "\"";
}

// OpenMetrics label value: backslash, double quote and newline escaped.
std::string LabelValue(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string Seconds3(double s) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", s);
  return buf;
}

std::string IsoTime(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

const char* const kClassNames[6] = {"none", "1xx", "2xx", "3xx", "4xx", "5xx"};

std::string RenderText(const StatusSnapshot& s) {
  std::string o;
  auto line = [&o](const std::string& name, const std::string& value) {
    o += name;
    o += ':';
    o.append(name.size() < 23 ? 23 - name.size() : 1, ' ');
    o += value;
    o += '\n';
  };
  auto num = [](uint64_t v) { return std::to_string(v); };
  line("start time", IsoTime(s.start_time_unix));
  line("start since", num(static_cast<uint64_t>(s.uptime_seconds)) + " s");
  line("accepted conn", num(s.accepted_connections));
  line("requests total", num(s.requests_total));
  line("requests active", num(s.requests_active));
  line("requests queued", num(s.requests_queued));
  line("max queue reached", num(s.max_queue_reached));
  line("worker slots", num(s.worker_slots));
  line("worker slots in use", num(s.worker_slots_in_use));
  line("timeouts", num(s.timeouts));
  line("aborts", num(s.aborts));
  line("launcher 5xx", num(s.launcher_5xx));
  line("slow requests", num(s.slow_requests));
  for (int c = 1; c <= 5; ++c) line(std::string("responses ") + kClassNames[c], num(s.responses[c]));
  for (const auto& [mode, m] : s.modes) {
    std::string recycles = num(m.recycles_total());
    if (!m.recycles.empty()) {
      recycles += " (";
      bool first = true;
      for (const auto& [reason, n] : m.recycles) {
        recycles += (first ? "" : ", ") + reason + " " + num(n);
        first = false;
      }
      recycles += ")";
    }
    line("mode " + mode, "starts " + num(m.starts) + ", parked starts " + num(m.park_starts) +
                             ", park failures " + num(m.park_failures) + ", fallbacks to exec " +
                             num(m.fallbacks_to_exec) + ", recycles " + recycles);
  }
  for (const WorkerClassStatus& c : s.classes) {
    line("workers", Printable(c.program) + " (" + c.mode + "): starting " + num(c.starting) + ", idle " +
                        num(c.idle) + ", busy " + num(c.busy) + ", parked " + num(c.parked));
  }
  if (s.full) {
    o += "\nactive requests:\n";
    for (const ActiveRequestStatus& r : s.active) {
      o += "pid " + (r.pid > 0 ? std::to_string(r.pid) : std::string("-")) + "  elapsed " +
           Seconds3(r.elapsed_seconds) + " s  " + (r.mode.empty() ? std::string("-") : r.mode) + "  " +
           Printable(r.program) + "  " + Printable(r.method) + " " + Printable(r.uri) + "\n";
    }
  }
  return o;
}

std::string RenderJson(const StatusSnapshot& s) {
  std::string o = "{";
  auto field = [&o](std::string_view name, const std::string& value) {
    if (o.size() > 1) o += ",";
    o += JsonString(name) + ":" + value;
  };
  auto num = [](uint64_t v) { return std::to_string(v); };
  field("start_time", num(static_cast<uint64_t>(s.start_time_unix)));
  field("start_time_iso", JsonString(IsoTime(s.start_time_unix)));
  field("uptime_seconds", Seconds3(s.uptime_seconds));
  field("accepted_connections", num(s.accepted_connections));
  field("requests_total", num(s.requests_total));
  field("requests_active", num(s.requests_active));
  field("requests_queued", num(s.requests_queued));
  field("max_queue_reached", num(s.max_queue_reached));
  field("worker_slots", num(s.worker_slots));
  field("worker_slots_in_use", num(s.worker_slots_in_use));
  field("timeouts", num(s.timeouts));
  field("aborts", num(s.aborts));
  field("launcher_5xx", num(s.launcher_5xx));
  field("slow_requests", num(s.slow_requests));
  std::string responses = "{";
  for (int c = 1; c <= 5; ++c)
    responses += std::string(c > 1 ? "," : "") + JsonString(kClassNames[c]) + ":" + num(s.responses[c]);
  field("responses", responses + "}");
  std::string modes = "{";
  for (const auto& [mode, m] : s.modes) {
    std::string recycles = "{";
    for (const auto& [reason, n] : m.recycles)
      recycles += (recycles.size() > 1 ? "," : "") + JsonString(reason) + ":" + num(n);
    modes += (modes.size() > 1 ? "," : "") + JsonString(mode) + ":{\"starts\":" + num(m.starts) +
             ",\"park_starts\":" + num(m.park_starts) + ",\"park_failures\":" + num(m.park_failures) +
             ",\"fallbacks_to_exec\":" + num(m.fallbacks_to_exec) +
             ",\"recycles_total\":" + num(m.recycles_total()) + ",\"recycles\":" + recycles + "}}";
  }
  field("modes", modes + "}");
  std::string classes = "[";
  for (const WorkerClassStatus& c : s.classes) {
    classes += (classes.size() > 1 ? "," : "") + std::string("{\"program\":") + JsonString(c.program) +
               ",\"mode\":" + JsonString(c.mode) + ",\"starting\":" + num(c.starting) +
               ",\"idle\":" + num(c.idle) + ",\"busy\":" + num(c.busy) + ",\"parked\":" + num(c.parked) + "}";
  }
  field("workers", classes + "]");
  if (s.full) {
    std::string active = "[";
    for (const ActiveRequestStatus& r : s.active) {
      active += (active.size() > 1 ? "," : "") + std::string("{\"pid\":") + std::to_string(r.pid) +
                ",\"program\":" + JsonString(r.program) + ",\"mode\":" + JsonString(r.mode) +
                ",\"method\":" + JsonString(r.method) + ",\"uri\":" + JsonString(r.uri) +
                ",\"elapsed_seconds\":" + Seconds3(r.elapsed_seconds) + "}";
    }
    field("active_requests", active + "]");
  }
  return o + "}\n";
}

// OpenMetrics 1.0: a family's HELP and TYPE come once, before its samples;
// counter samples end in _total (the family name does not); ends with # EOF.
class OpenMetricsWriter {
 public:
  void Family(const std::string& name, const char* type, const char* help) {
    out_ += "# TYPE fcgi_run_" + name + " " + type + "\n# HELP fcgi_run_" + name + " " + help + "\n";
  }
  void Sample(const std::string& name, const std::string& labels, const std::string& value) {
    out_ += "fcgi_run_" + name + (labels.empty() ? "" : "{" + labels + "}") + " " + value + "\n";
  }
  void Gauge(const std::string& name, const char* help, const std::string& value) {
    Family(name, "gauge", help);
    Sample(name, "", value);
  }
  void Counter(const std::string& name, const char* help, uint64_t value) {
    Family(name, "counter", help);
    Sample(name + "_total", "", std::to_string(value));
  }
  std::string Finish() { return out_ + "# EOF\n"; }

 private:
  std::string out_;
};

std::string RenderOpenMetrics(const StatusSnapshot& s) {
  OpenMetricsWriter w;
  auto num = [](uint64_t v) { return std::to_string(v); };
  w.Gauge("start_time_seconds", "Unix time the launcher started.",
          num(static_cast<uint64_t>(s.start_time_unix)));
  w.Gauge("uptime_seconds", "Seconds since the launcher started.", Seconds3(s.uptime_seconds));
  w.Counter("accepted_connections", "Connections accepted (FastCGI and HTTP front).", s.accepted_connections);
  w.Counter("requests", "Requests received.", s.requests_total);
  w.Gauge("requests_active", "Requests received and not finished.", num(s.requests_active));
  w.Gauge("requests_queued", "Requests waiting for a worker slot.", num(s.requests_queued));
  w.Gauge("max_queue_reached", "Most requests ever waiting for a worker slot at once.",
          num(s.max_queue_reached));
  w.Gauge("worker_slots", "Programs that may run at once (--workers).", num(s.worker_slots));
  w.Gauge("worker_slots_in_use", "Programs running or starting now.", num(s.worker_slots_in_use));
  w.Counter("timeouts", "Requests stopped by --timeout.", s.timeouts);
  w.Counter("aborts", "Requests aborted by the web server or the client.", s.aborts);
  w.Counter("launcher_5xx", "5xx responses made by the launcher itself.", s.launcher_5xx);
  w.Counter("slow_requests", "Requests that ran past --slow-threshold.", s.slow_requests);
  w.Family("responses", "counter", "Responses by status class.");
  for (int c = 1; c <= 5; ++c)
    w.Sample("responses_total", std::string("class=\"") + kClassNames[c] + "\"", num(s.responses[c]));
  if (!s.modes.empty()) {
    struct PerMode {
      const char* name;
      const char* help;
      uint64_t ModeCounters::*field;
    };
    static const PerMode kPerMode[] = {
        {"program_starts", "Program runs started for requests (exec: spawns, fork: forks).",
         &ModeCounters::starts},
        {"park_starts", "Parked processes (fork) or workers (persistent) started.",
         &ModeCounters::park_starts},
        {"park_failures", "Parked processes or workers that failed before they were ready.",
         &ModeCounters::park_failures},
        {"fallbacks_to_exec", "Runners that fell back to exec mode.", &ModeCounters::fallbacks_to_exec},
    };
    for (const PerMode& p : kPerMode) {
      w.Family(p.name, "counter", p.help);
      for (const auto& [mode, m] : s.modes) {
        w.Sample(std::string(p.name) + "_total", "mode=\"" + LabelValue(mode) + "\"", num(m.*(p.field)));
      }
    }
    bool any_recycle = false;
    for (const auto& [mode, m] : s.modes) any_recycle = any_recycle || !m.recycles.empty();
    if (any_recycle) {
      w.Family("recycles", "counter", "Parked processes or workers replaced, by reason.");
      for (const auto& [mode, m] : s.modes) {
        for (const auto& [reason, n] : m.recycles) {
          w.Sample("recycles_total",
                   "mode=\"" + LabelValue(mode) + "\",reason=\"" + LabelValue(reason) + "\"", num(n));
        }
      }
    }
  }
  if (!s.classes.empty()) {
    w.Family("workers", "gauge", "Processes per worker class and state.");
    for (const WorkerClassStatus& c : s.classes) {
      const std::string base =
          "program=\"" + LabelValue(c.program) + "\",mode=\"" + LabelValue(c.mode) + "\",state=\"";
      w.Sample("workers", base + "starting\"", num(c.starting));
      w.Sample("workers", base + "idle\"", num(c.idle));
      w.Sample("workers", base + "busy\"", num(c.busy));
      w.Sample("workers", base + "parked\"", num(c.parked));
    }
  }
  if (s.full && !s.active.empty()) {
    w.Family("active_request_elapsed_seconds", "gauge", "Seconds each active request has been running.");
    for (const ActiveRequestStatus& r : s.active) {
      w.Sample("active_request_elapsed_seconds",
               "pid=\"" + std::to_string(r.pid) + "\",program=\"" + LabelValue(r.program) + "\",method=\"" +
                   LabelValue(r.method) + "\",uri=\"" + LabelValue(r.uri) + "\"",
               Seconds3(r.elapsed_seconds));
    }
  }
  return w.Finish();
}

}  // namespace

StatusQuery ParseStatusQuery(std::string_view q) {
  StatusQuery out;
  while (!q.empty()) {
    const size_t amp = q.find('&');
    std::string_view word = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (const size_t eq = word.find('='); eq != std::string_view::npos) word = word.substr(0, eq);
    if (word == "json") out.format = StatusFormat::kJson;
    else if (word == "openmetrics") out.format = StatusFormat::kOpenMetrics;
    else if (word == "text") out.format = StatusFormat::kText;
    else if (word == "full") out.full = true;
  }
  return out;
}

const char* StatusContentType(StatusFormat format) {
  switch (format) {
    case StatusFormat::kJson:
      return "application/json";
    case StatusFormat::kOpenMetrics:
      return "application/openmetrics-text; version=1.0.0; charset=utf-8";
    case StatusFormat::kText:
      break;
  }
  return "text/plain; charset=utf-8";
}

std::string RenderStatus(const StatusSnapshot& snapshot, StatusFormat format) {
  switch (format) {
    case StatusFormat::kJson:
      return RenderJson(snapshot);
    case StatusFormat::kOpenMetrics:
      return RenderOpenMetrics(snapshot);
    case StatusFormat::kText:
      break;
  }
  return RenderText(snapshot);
}

std::vector<ActiveRequestStatus> ActiveRows(const Metrics& metrics,
                                            std::chrono::steady_clock::time_point now) {
  std::vector<ActiveRequestStatus> rows;
  for (const auto& [id, a] : metrics.active()) {  // ids grow with time: oldest first
    ActiveRequestStatus r;
    r.pid = a.pid;
    r.program = a.program;
    r.mode = a.mode;
    r.method = a.method;
    r.uri = a.uri;
    r.elapsed_seconds = std::max(0.0, std::chrono::duration<double>(now - a.started).count());
    rows.push_back(std::move(r));
  }
  return rows;
}

}  // namespace fcgi
