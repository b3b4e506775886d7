// CgiRequest's part in the status page, the access log and the slow log
// (builtin_pages.h, access_log.h, slow_log.h): kept apart from the request's
// I/O in cgi_request.cc.
#include <chrono>

#include "core/cgi_environment.h"
#include "launcher/request/access_log.h"
#include "launcher/request/builtin_pages.h"
#include "launcher/request/cgi_request.h"
#include "launcher/request/slow_log.h"

namespace fcgi {

bool CgiRequest::AnswerBuiltin(const NameValuePairs& params) {
  if (const std::string* q = FindParam(params, "QUERY_STRING")) query_ = *q;
  if (const std::string* r = FindParam(params, "REMOTE_ADDR")) remote_addr_ = *r;
  if (const std::string* p = FindParam(params, "SERVER_PROTOCOL")) protocol_ = *p;
  if (ctx_.observability.access_log != nullptr && ctx_.observability.access_log->format().uses_params()) {
    logged_params_ = params;
  }
  std::string response;
  int status = 0;
  if (!AnswerBuiltinPage(ctx_, params, connection_->RequestOrigin(), &response, &status)) return false;
  auto self = shared_from_this();
  response_status_ = status;
  Emit(response);
  header_sent_ = true;
  discard_output_ = true;
  stdin_remaining_ = 0;  // a body sent to the status page is not read
  EnterFinished();
  CloseStdin();
  Finalize();
  connection_->FinishRequest(id_, 0, ProtocolStatus::kRequestComplete);
  return true;
}

void CgiRequest::Emit(std::string_view data) {
  if (data.empty()) return;
  if (response_bytes_ == 0) {
    const size_t end = data.find("\r\n\r\n");  // the header block is always sent whole, first
    header_bytes_ = end == std::string_view::npos ? data.size() : end + 4;
  }
  response_bytes_ += data.size();
  connection_->SendStdout(id_, data);
}

void CgiRequest::StartSlowTimer() {
  const Duration threshold = ctx_.config.slow_threshold;
  if (threshold <= Duration(0) || ctx_.observability.slow_log == nullptr) return;
  slow_timer_.expires_at(started_ + threshold);
  slow_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->OnSlow();
  });
}

void CgiRequest::OnSlow() {
  if (phase_ != Phase::kRunning || exited_ || aborted_) return;
  Observability& o = ctx_.observability;
  o.metrics.SlowRequest();
  SlowRequestInfo info;
  info.pid = program_started_ ? pid_ : -1;
  info.program = program_.target.path;
  info.mode = program_started_ ? program_.runner->mode_name() : "";
  info.method = method_;
  info.uri = uri_;
  info.elapsed_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  if (o.slow_log != nullptr) o.slow_log->Report(info);
}

void CgiRequest::Finalize() {
  if (finalized_) return;
  finalized_ = true;
  // The client left before any header: nginx's convention for that is 499.
  const int status = response_status_ != 0 ? response_status_ : (aborted_ ? 499 : 0);
  Observability& o = ctx_.observability;
  o.metrics.EndRequest(metrics_id_, status);
  if (o.access_log == nullptr) return;
  AccessRecord r;
  r.method = method_;
  r.uri = uri_;
  r.query = query_;
  r.remote_addr = remote_addr_;
  r.protocol = protocol_;
  r.status = status;
  r.response_bytes = response_bytes_;
  r.body_bytes = response_bytes_ - header_bytes_;
  r.duration_us = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started_)
          .count());
  r.pid = program_started_ ? pid_ : -1;
  r.program = program_.target.display_name;
  r.mode = program_started_ && program_.runner != nullptr ? program_.runner->mode_name() : "";
  r.params = &logged_params_;
  o.access_log->Write(std::move(r));
}

}  // namespace fcgi
