#include "launcher/request/request_observer.h"

#include "launcher/request/access_log.h"
#include "launcher/request/slow_log.h"

namespace fcgi {

RequestObserver::RequestObserver(ServerContext& ctx)
    : ctx_(ctx), started_(std::chrono::steady_clock::now()), slow_timer_(ctx.io) {}

RequestObserver::~RequestObserver() {
  if (!finished_) ctx_.observability.metrics.EndRequest(metrics_id_, 0);  // left without finishing
}

void RequestObserver::SetParams(const NameValuePairs& params) {
  auto take = [&params](const char* name, std::string* into) {
    if (const std::string* v = FindParam(params, name)) *into = *v;
  };
  take("REQUEST_METHOD", &record_.method);
  take(FindParam(params, "REQUEST_URI") != nullptr ? "REQUEST_URI" : "SCRIPT_NAME", &record_.uri);
  take("QUERY_STRING", &record_.query);
  take("REMOTE_ADDR", &record_.remote_addr);
  take("SERVER_PROTOCOL", &record_.protocol);
  if (ctx_.observability.access_log != nullptr && ctx_.observability.access_log->format().uses_params()) {
    logged_params_ = params;
  }
}

void RequestObserver::Begin() {
  metrics_id_ = ctx_.observability.metrics.BeginRequest("", record_.method, record_.uri, started_);
}

void RequestObserver::SetProgram(const ProgramTarget& target) {
  program_path_ = target.path;
  record_.program = target.display_name;
  ctx_.observability.metrics.SetProgram(metrics_id_, target.path);
}

void RequestObserver::Started(pid_t pid, const char* mode) {
  record_.pid = pid;
  record_.mode = mode;
  ctx_.observability.metrics.RequestStarted(metrics_id_, pid, mode);
}

void RequestObserver::WatchSlow(std::weak_ptr<void> owner) {
  const Duration threshold = ctx_.config.slow_threshold;
  if (threshold <= Duration(0) || ctx_.observability.slow_log == nullptr) return;
  slow_timer_.expires_at(started_ + threshold);
  // `this` lives as long as its request.
  slow_timer_.async_wait([this, owner = std::move(owner)](const boost::system::error_code& ec) {
    auto keep = owner.lock();
    if (keep && !ec) OnSlow();
  });
}

void RequestObserver::OnSlow() {
  if (finished_ || exited_ || aborted_) return;
  Observability& o = ctx_.observability;
  o.metrics.SlowRequest();
  SlowRequestInfo info;
  info.pid = record_.pid;
  info.program = program_path_;
  info.mode = record_.mode;
  info.method = record_.method;
  info.uri = record_.uri;
  info.elapsed_seconds = elapsed_seconds();
  if (o.slow_log != nullptr) o.slow_log->Report(info);
}

void RequestObserver::Sent(std::string_view data) {
  if (record_.response_bytes == 0) {
    const size_t end = data.find("\r\n\r\n");  // the header block is always sent whole, first
    header_bytes_ = end == std::string_view::npos ? data.size() : end + 4;
  }
  record_.response_bytes += data.size();
}

void RequestObserver::Finish() {
  if (finished_) return;
  finished_ = true;
  slow_timer_.cancel();
  // The client left before any header: nginx's convention for that is 499.
  if (record_.status == 0 && aborted_) record_.status = 499;
  Observability& o = ctx_.observability;
  o.metrics.EndRequest(metrics_id_, record_.status);
  if (o.access_log == nullptr) return;
  record_.body_bytes = record_.response_bytes - header_bytes_;
  record_.duration_us = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started_)
          .count());
  record_.params = &logged_params_;
  o.access_log->Write(std::move(record_));
}

}  // namespace fcgi
