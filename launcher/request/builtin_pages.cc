#include "launcher/request/builtin_pages.h"

#include <chrono>

#include "core/cgi_environment.h"
#include "core/error_pages.h"
#include "launcher/log/log.h"

namespace fcgi {

namespace {

bool PathMatches(const NameValuePairs& params, const std::string& path) {
  if (path.empty()) return false;
  for (const char* name : {"DOCUMENT_URI", "SCRIPT_NAME"}) {
    const std::string* v = FindParam(params, name);
    if (v != nullptr && *v == path) return true;
  }
  return false;
}

std::string Response(const char* content_type, const std::string& body, const std::string& method) {
  // Never cached: the values change from one request to the next.
  std::string out = std::string("Content-Type: ") + content_type +
                    "\r\nCache-Control: no-store\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\n\r\n";
  if (method != "HEAD") out += body;
  return out;
}

// The HTTP front's clients allowed by default: loopback only.
const AddressFilter& LoopbackOnly() {
  static const AddressFilter loopback = [] {
    AddressFilter f;
    (void)AddressFilter::Parse("127.0.0.0/8, ::1", &f);  // a constant list: parses
    return f;
  }();
  return loopback;
}

// Whether the status page may answer this client (see the header).
bool StatusAllowed(const ServerContext& ctx, const NameValuePairs& params, const RequestSink::Origin& origin,
                   std::string* client) {
  const std::string* remote = FindParam(params, "REMOTE_ADDR");
  *client = origin.http_front ? origin.client_addr : remote != nullptr ? *remote : "";
  if (ctx.config.status_allow) return ctx.config.status_allow->Allows(*client);
  return !origin.http_front || LoopbackOnly().Allows(*client);
}

}  // namespace

StatusSnapshot TakeStatusSnapshot(const ServerContext& ctx, bool full) {
  const Observability& o = ctx.observability;
  const auto now = std::chrono::steady_clock::now();
  StatusSnapshot s;
  s.start_time_unix = o.started_unix;
  s.uptime_seconds = std::chrono::duration<double>(now - o.started).count();
  s.accepted_connections = ctx.counters.accepted_connections;
  s.requests_total = ctx.counters.requests_total;
  s.requests_active = ctx.counters.requests_active;
  s.requests_queued = ctx.slots.queued();
  s.max_queue_reached = ctx.slots.max_queued_seen();
  s.worker_slots = ctx.slots.capacity();
  s.worker_slots_in_use = ctx.slots.in_use();
  s.timeouts = ctx.counters.timeouts;
  s.aborts = ctx.counters.aborts;
  s.launcher_5xx = ctx.counters.errors_5xx;
  s.slow_requests = o.metrics.slow_requests();
  for (int c = 0; c <= 5; ++c) s.responses[c] = o.metrics.responses(c);
  s.modes = o.metrics.modes();
  if (ctx.programs != nullptr) {
    ctx.programs->ForEachRunner([&s, &o](const std::string& program, const ProgramRunner& runner) {
      WorkerClassStatus c;
      c.program = program;
      c.mode = runner.mode_name();
      WorkerCounts w = runner.Workers();
      c.starting = w.starting;
      c.idle = w.idle;
      c.parked = w.parked;
      for (const auto& [id, a] : o.metrics.active()) {
        if (a.pid > 0 && a.program == program) ++c.busy;
      }
      s.classes.push_back(std::move(c));
    });
  }
  s.full = full;
  if (full) s.active = ActiveRows(o.metrics, now);
  return s;
}

bool AnswerBuiltinPage(const ServerContext& ctx, const NameValuePairs& params,
                       const RequestSink::Origin& origin, std::string* cgi_response, int* status) {
  const Config& config = ctx.config;
  if (config.status_path.empty() && config.ping_path.empty()) return false;
  if (origin.local_redirect) return false;
  const std::string* m = FindParam(params, "REQUEST_METHOD");
  const std::string method = m != nullptr ? *m : "GET";
  if (PathMatches(params, config.ping_path)) {
    *status = 200;
    *cgi_response = Response("text/plain", config.ping_response, method);
    return true;
  }
  if (!PathMatches(params, config.status_path)) return false;
  if (std::string client; !StatusAllowed(ctx, params, origin, &client)) {
    LogWarning("status page refused to " +
               (client.empty() ? std::string("a client without REMOTE_ADDR") : EscapeForLog(client)) +
               (ctx.config.status_allow ? ": not in --status-allow"
                                        : ": the HTTP front shows it to loopback clients only "
                                          "(--status-allow)"));
    *status = ErrorStatus(ErrorPage::kStatusPageRefused);
    *cgi_response = ErrorResponse(ErrorPage::kStatusPageRefused);
    if (method == "HEAD") cgi_response->resize(cgi_response->find("\r\n\r\n") + 4);
    return true;
  }
  const std::string* q = FindParam(params, "QUERY_STRING");
  StatusQuery query = ParseStatusQuery(q != nullptr ? *q : "");
  StatusSnapshot snapshot = TakeStatusSnapshot(ctx, query.full);
  // The status request itself is a request being served: it does not count as active.
  if (snapshot.requests_active > 0) --snapshot.requests_active;
  *status = 200;
  *cgi_response = Response(StatusContentType(query.format), RenderStatus(snapshot, query.format), method);
  return true;
}

}  // namespace fcgi
