#include "launcher/request/cgi_request.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cerrno>
#include <span>
#include <utility>

#include "core/cgi_environment.h"
#include "core/error_pages.h"
#include "launcher/log/log.h"
#include "launcher/request/builtin_pages.h"

namespace fcgi {

namespace {

constexpr int kPipeBytes = 1 << 20;
constexpr uint64_t kDefaultPipeBytes = 64 * 1024;  // Linux's default pipe capacity
// Most chunks one Read (of stdout or stderr) takes before it lets other work run.
constexpr int kReadsPerTurn = 16;
// Bytes one read of stderr takes (stdout: the whole ServerContext::read_buffer).
constexpr size_t kStderrChunk = 16 * 1024;

}  // namespace

CgiRequest::CgiRequest(ServerContext& ctx, std::shared_ptr<RequestSink> sink, uint16_t id, Role role)
    : ctx_(ctx),
      connection_(std::move(sink)),
      id_(id),
      role_(role),
      observer_(ctx),
      stdin_(ctx.io),
      // Memory for twice --buffer: input pauses at --buffer, so the file is
      // used only when the body must be taken in regardless (see InputShouldPause).
      stdin_spool_(2 * ctx.config.buffer_bytes, ctx.config.tmp_dir),
      data_spool_(2 * ctx.config.buffer_bytes, ctx.config.tmp_dir),
      parser_(ctx.config.max_header_bytes),
      timeout_timer_(ctx.io),
      kill_timer_(ctx.io) {
  ++ctx_.counters.requests_total;
  ++ctx_.counters.requests_active;
}

CgiRequest::~CgiRequest() {
  if (output_loan_ != 0) output_->Return(output_loan_, false);  // left without reading to the end
  if (phase_ != Phase::kFinished) --ctx_.counters.requests_active;
  if (has_slot_) ctx_.slots.Release();
}

void CgiRequest::EnterFinished() {
  phase_ = Phase::kFinished;
  --ctx_.counters.requests_active;  // before FinishRequest: a graceful stop checks it
}

std::string CgiRequest::Describe() const {
  // "GET /cgit/ (cgit.cgi)"; before a program is chosen (or when none is), no parenthesis.
  const std::string &method = observer_.method(), &uri = observer_.uri();
  return (method.empty() ? std::string("?") : method) + " " + (uri.empty() ? std::string("?") : uri) +
         (program_.target.display_name.empty() ? "" : " (" + program_.target.display_name + ")");
}

void CgiRequest::Start(NameValuePairs params) {
  auto self = shared_from_this();
  observer_.SetParams(params);
  if (AnswerBuiltin(params)) return;  // --status-path, --ping-path: not in the active-request table
  observer_.Begin();
  const std::string& method = observer_.method();

  std::optional<uint64_t> content_length;
  Status s = ParseContentLength(params, &content_length);
  if (!s.ok()) {
    EndWithoutProgram(ErrorPage::kInvalidContentLength, s.message());
    return;
  }
  if (ctx_.config.max_body > 0 && content_length && *content_length > ctx_.config.max_body) {
    EndWithoutProgram(ErrorPage::kBodyTooLarge,
                      "request body of " + std::to_string(*content_length) + " bytes exceeds --max-body");
    return;
  }
  small_body_ = content_length ? *content_length <= kDefaultPipeBytes : (method == "GET" || method == "HEAD");
  // CONTENT_LENGTH 0, or none on a GET or HEAD (as for small_body_).
  no_body_ = content_length ? *content_length == 0 : (method == "GET" || method == "HEAD");
  if (role_ == Role::kAuthorizer) {
    stdin_remaining_ = 0;  // authorizers get no body; mod_fcgid sends no STDIN at all
  } else {
    stdin_remaining_ = content_length;
  }

  Status resolved = ctx_.programs->Resolve(params, &program_);
  if (!resolved.ok()) {
    EndWithoutProgram(resolved.code() == Status::Code::kNotFound           ? ErrorPage::kNoSuchProgram
                      : resolved.code() == Status::Code::kPermissionDenied ? ErrorPage::kProgramDenied
                                                                           : ErrorPage::kNoProgram,
                      resolved.message());
    return;
  }
  observer_.SetProgram(program_.target);
  std::vector<DroppedParam> dropped;
  CgiEnvironment env = BuildRequestEnvironment(std::move(params), program_.param_overrides, ctx_.config.env,
                                               ctx_.config.pass_env, role_, &dropped);
  for (const DroppedParam& d : dropped) {
    // A protected variable: a warning the first time a name is seen (see
    // ProtectedParamLog), then debug lines.
    bool last = false;
    if (!d.protected_entry.empty() &&
        ctx_.protected_params_logged.First(d.protected_entry, EscapeForLog(d.name), &last)) {
      LogWarning(Describe() + ": dropped param " + EscapeForLog(d.name) + ": " + d.reason +
                 ", which a request may not set (--pass-env " + EscapeForLog(d.name) +
                 " allows it); logged once" +
                 (last ? ", and further " + d.protected_entry + " names at debug level" : std::string()));
    } else if (Log::Enabled(LogLevel::kDebug)) {  // the message is built only when it is logged
      LogDebug(Describe() + ": dropped param " + EscapeForLog(d.name) + ": " + d.reason);
    }
  }
  env_ = std::move(env.entries);

  if (ctx_.slots.TryAcquire()) {
    has_slot_ = true;
    Launch();
    return;
  }
  std::weak_ptr<CgiRequest> weak = self;
  if (!ctx_.slots.Enqueue(
          [weak]() {
            auto request = weak.lock();
            if (!request) return;
            request->has_slot_ = true;
            request->Launch();
          },
          &ticket_)) {
    LogWarning(Describe() + ": refused: " + std::to_string(ctx_.slots.in_use()) + " programs running and " +
               std::to_string(ctx_.slots.queued()) + " requests queued (--workers/--queue)");
    EndWithoutProgram(ErrorPage::kOverloaded, "overloaded");
    return;
  }
  phase_ = Phase::kQueued;
  LogDebug(Describe() + ": queued for a worker");
}

// --status-path, --ping-path (builtin_pages.h): answered here, no program runs.
bool CgiRequest::AnswerBuiltin(const NameValuePairs& params) {
  std::string response;
  int status = 0;
  if (!AnswerBuiltinPage(ctx_, params, connection_->RequestOrigin(), &response, &status)) return false;
  auto self = shared_from_this();
  observer_.SetStatus(status);
  Emit(response);
  header_sent_ = true;
  discard_output_ = true;
  stdin_remaining_ = 0;  // a body sent to the status page is not read
  EnterFinished();
  CloseStdin();
  observer_.Finish();
  connection_->FinishRequest(id_, 0, ProtocolStatus::kRequestComplete);
  return true;
}

void CgiRequest::Launch() {
  auto self = shared_from_this();
  phase_ = Phase::kRunning;
  if (aborted_) {  // left while queued
    Finish();
    return;
  }
  // The request makes its stdin pipe, for the body it writes; the runner
  // brings the output pipes (program_runner.h). A runner that lends its
  // workers' output takes /dev/null as stdin for a request without a body:
  // no pipes at all for a plain GET.
  const bool null_stdin = program_.runner->LendsOutput() && HasNoBody();
  int in[2] = {-1, -1};
  if (!null_stdin && pipe2(in, O_CLOEXEC) != 0) {
    EndWithoutProgram(
        ErrorPage::kOutOfResources,
        Status::FromErrno("pipe2(2)", "stdin of " + program_.target.display_name, errno).message());
    return;
  }
  // Larger pipes for big bodies and responses: 16x fewer wake-ups. Best
  // effort (the kernel caps it at /proc/sys/fs/pipe-max-size) and only where
  // it pays: not for a body known to fit the default pipe (a GET or HEAD
  // without CONTENT_LENGTH is taken to have none); stdout grows once a read
  // fills a whole chunk (OnStdout). Small requests save two fcntl(2).
  if (in[1] >= 0 && (!small_body_ || role_ == Role::kFilter)) fcntl(in[1], F_SETPIPE_SZ, kPipeBytes);
  SpawnSpec spec;
  spec.path = program_.target.path;
  spec.args = program_.target.args;
  spec.env = std::move(env_);  // used once: Launch runs once per request
  spec.cwd = program_.target.cwd;
  spec.rlimits = program_.target.rlimits;
  spec.stdin_fd = in[0];
  if (null_stdin) {
    stdin_closed_ = true;  // nothing will be written: see HasNoBody
  } else {
    stdin_.assign(in[1]);
  }
  std::weak_ptr<CgiRequest> weak = self;
  run_ = program_.runner->Start(
      spec,
      [weak](const Status& status, pid_t pid, std::shared_ptr<ProgramOutput> output) {
        if (auto r = weak.lock()) {
          r->OnStarted(status, pid, std::move(output));
        } else if (output != nullptr) {
          output->Return(output->loan(), false);  // lent to a request that is gone
        }
      },
      [weak](int raw_status) {
        if (auto r = weak.lock()) r->OnExit(raw_status);
      });
  if (in[0] >= 0) close(in[0]);            // the runner has used or duplicated it
  if (phase_ == Phase::kFinished) return;  // failed synchronously
  if (ctx_.config.timeout > Duration(0)) {
    timeout_timer_.expires_after(ctx_.config.timeout);
    timeout_timer_.async_wait([self](const boost::system::error_code& ec) {
      if (!ec) self->OnTimeout();
    });
  }
  observer_.WatchSlow(weak_from_this());
  ReadStdout();
  ReadStderr();
  PumpStdin();
}

bool CgiRequest::HasNoBody() const {
  switch (role_) {
    case Role::kAuthorizer:
      return true;
    case Role::kFilter:
      return false;  // FCGI_DATA goes to stdin
    case Role::kResponder:
      break;
  }
  return no_body_;
}

void CgiRequest::OnStarted(const Status& status, pid_t pid, std::shared_ptr<ProgramOutput> output) {
  if (output != nullptr) {
    if (phase_ == Phase::kFinished || output_ != nullptr) {  // not ours to read
      output->Return(output->loan(), false);
    } else {
      output_loan_ = output->loan();  // 0 unless lent
      output_ = std::move(output);
    }
  }
  if (phase_ == Phase::kFinished) return;
  if (!status.ok()) {
    stream(Stream::kOut).eof = stream(Stream::kErr).eof = true;
    // No pipes for it (program_runner.h): a 503, as for its stdin pipe.
    EndWithoutProgram(
        status.code() == Status::Code::kOutOfResources ? ErrorPage::kOutOfResources : ErrorPage::kCannotStart,
        status.message());
    return;
  }
  program_started_ = true;
  pid_ = pid;
  observer_.Started(pid, program_.runner->mode_name());
  if (Log::Enabled(LogLevel::kDebug)) {
    LogDebug(Describe() + ": started pid " + std::to_string(pid) + " (" + program_.runner->mode_name() + ")");
  }
  // Wait for the program to write (not read at once: then its output and
  // its exit are usually seen in one turn).
  for (Stream which : {Stream::kOut, Stream::kErr}) {
    if (output_ != nullptr && !stream(which).waiting && !stream(which).eof) Wait(which);
  }
  if (stop_pending_) StopProgram();
}

// ---- stdin ----

void CgiRequest::AppendInput(BodySpool* spool, std::string_view data) {
  Status s = spool->Append(data);
  if (!s.ok()) {
    // Cannot keep the body: the request cannot be served correctly.
    FailResponse(ErrorPage::kCannotStoreBody, "request body: " + s.message());
    StopProgram();
  }
}

void CgiRequest::OnStdin(std::string_view data) {
  if (stdin_closed_ || role_ == Role::kAuthorizer || phase_ == Phase::kFinished) return;
  if (stdin_remaining_) {
    if (*stdin_remaining_ == 0) return;  // more than CONTENT_LENGTH: the excess is dropped
    if (data.size() > *stdin_remaining_) data = data.substr(0, *stdin_remaining_);
    *stdin_remaining_ -= data.size();
  } else if (ctx_.config.max_body > 0 && (stdin_received_ += data.size()) > ctx_.config.max_body) {
    // No CONTENT_LENGTH (a chunked upload): --max-body is enforced as the body
    // arrives. Output is held until the body ends, so no header went out yet.
    const std::string cause = "request body without CONTENT_LENGTH exceeds --max-body";
    if (phase_ != Phase::kRunning) {
      if (phase_ == Phase::kQueued) ctx_.slots.Cancel(ticket_);
      EndWithoutProgram(ErrorPage::kBodyTooLarge, cause);
      return;
    }
    held_output_.clear();
    header_sent_ = false;
    FailResponse(ErrorPage::kBodyTooLarge, cause);
    StopProgram();
    if (stdout_held_) {
      stdout_held_ = false;
      ReadStdout();  // discarding now: drain the pipe
    }
    return;
  }
  AppendInput(&stdin_spool_, data);
  InputProgressed();
}

void CgiRequest::OnStdinEnd() {
  stdin_ended_ = true;
  InputProgressed();
}

void CgiRequest::OnData(std::string_view data) {
  if (role_ != Role::kFilter || stdin_closed_ || phase_ == Phase::kFinished) return;
  // FCGI_DATA goes to the program's stdin after all the FCGI_STDIN bytes.
  AppendInput(&data_spool_, data);
  InputProgressed();
}

void CgiRequest::OnDataEnd() {
  data_ended_ = true;
  InputProgressed();
}

void CgiRequest::InputProgressed() {
  PumpStdin();
  if (stdout_held_ && StdinInputComplete()) {
    // The web server has sent everything: release the output held meanwhile.
    std::string held;
    held.swap(held_output_);
    Emit(held);
    stdout_held_ = false;
    ReadStdout();
  } else if (!held_output_.empty() && StdinInputComplete()) {
    std::string held;
    held.swap(held_output_);
    Emit(held);
  }
}

// nginx stops sending a request body once it has seen the response header, so
// output is held back (up to --buffer, then the program waits on its pipe)
// until the whole body has arrived; the body itself is always read and spooled.
void CgiRequest::SendOutput(std::string_view data) {
  if (StdinInputComplete() && held_output_.empty()) {
    Emit(data);
  } else {
    held_output_.append(data);
  }
}

// Every response byte goes to the sink through here, counted on the way.
void CgiRequest::Emit(std::string_view data) {
  if (data.empty()) return;
  observer_.Sent(data);
  connection_->SendStdout(id_, data);
}

bool CgiRequest::StdinInputComplete() const {
  switch (role_) {
    case Role::kAuthorizer:
      return true;
    case Role::kFilter:
      return stdin_ended_ && data_ended_;
    case Role::kResponder:
      return stdin_ended_ || (stdin_remaining_ && *stdin_remaining_ == 0);
  }
  return true;
}

void CgiRequest::PumpStdin() {
  if (phase_ != Phase::kRunning || stdin_closed_ || stdin_writing_) return;
  if (stdin_inflight_done_ == stdin_inflight_.size()) {
    stdin_inflight_.clear();
    stdin_inflight_done_ = 0;
    constexpr size_t kChunk = 64 * 1024;
    Status s = stdin_spool_.Take(kChunk, &stdin_inflight_);
    if (s.ok() && stdin_inflight_.empty() && stdin_ended_) s = data_spool_.Take(kChunk, &stdin_inflight_);
    if (!s.ok()) {
      FailResponse(ErrorPage::kCannotReadBody, "request body: " + s.message());
      StopProgram();
      return;
    }
  }
  if (stdin_inflight_.empty()) {
    if (StdinInputComplete()) CloseStdin();
    return;
  }
  stdin_writing_ = true;
  stdin_.async_write_some(boost::asio::buffer(stdin_inflight_.data() + stdin_inflight_done_,
                                              stdin_inflight_.size() - stdin_inflight_done_),
                          [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
                            self->stdin_writing_ = false;
                            if (ec) {
                              // The program closed its stdin or exited: the rest of the body is dropped.
                              if (ec != boost::asio::error::operation_aborted) {
                                LogDebug(self->Describe() + ": writing the request body to the program: " +
                                         ec.message() + "; the rest of the body is dropped");
                              }
                              self->CloseStdin();
                              self->connection_->StdinDrained();
                              return;
                            }
                            self->stdin_inflight_done_ += n;
                            self->connection_->StdinDrained();
                            self->PumpStdin();
                          });
}

void CgiRequest::CloseStdin() {
  if (stdin_closed_) return;
  stdin_closed_ = true;
  stdin_spool_.Clear();
  data_spool_.Clear();
  if (!stdin_writing_) {
    stdin_inflight_.clear();
    stdin_inflight_.shrink_to_fit();
    stdin_inflight_done_ = 0;
  }
  boost::system::error_code ignored;
  stdin_.close(ignored);
}

// ---- stdout / stderr ----

// The end of one output stream. `finished`: everything the program wrote to
// it before it exited was read; a resident pipe then goes back to its worker
// intact. Otherwise the read end is closed now: a program still writing gets
// EPIPE.
void CgiRequest::EndStream(Stream which, bool finished) {
  StreamState& st = stream(which);
  st.eof = true;
  st.clean = finished;
  if (!finished || !output_->resident()) {
    boost::system::error_code ignored;
    pipe(which).close(ignored);
  }
  ReturnOutput();
  MaybeFinish();
}

// A worker's resident output goes back once both streams ended (before the
// request finishes, so the worker is free for the request queued next).
void CgiRequest::ReturnOutput() {
  const StreamState &out = stream(Stream::kOut), &err = stream(Stream::kErr);
  if (out.eof && err.eof && output_loan_ != 0) {
    const uint64_t loan = output_loan_;
    output_loan_ = 0;
    output_->Return(loan, out.clean && err.clean);
  }
}

// The program's output is read with plain non-blocking read(2) calls, as far
// as it goes, and the reactor is asked only to wait for readability. So the
// request always knows what it has read: when the program's exit is
// reported (OnExit), the rest is read at once and the response ends in the
// same turn, and its last bytes and FCGI_END_REQUEST leave in one write.
void CgiRequest::Read(Stream which) {
  StreamState& st = stream(which);
  for (int reads = 0;; ++reads) {
    if (st.waiting || st.eof || output_ == nullptr) return;
    if (!MayFlow(which)) return;
    if (reads == kReadsPerTurn) {  // a fast writer: let the other requests run
      boost::asio::post(ctx_.io, [self = shared_from_this(), which] { self->Read(which); });
      return;
    }
    // The reactor's one read buffer (ServerContext::read_buffer): what is read
    // is handled, and copied where it must stay, before this returns.
    std::span<char> chunk(ctx_.read_buffer);
    if (which == Stream::kErr) chunk = chunk.first(kStderrChunk);
    const ssize_t n = ::read(pipe(which).native_handle(), chunk.data(), chunk.size());
    if (n > 0) {
      const std::string_view data(chunk.data(), static_cast<size_t>(n));
      if (which == Stream::kErr) {
        OnStderr(data);
      } else if (!OnStdout(data)) {
        return;
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      // Once the program has exited, an empty pipe is the end: whatever its
      // background children write later is not part of the response.
      if (exited_) {
        EndStream(which, true);
      } else {
        Wait(which);
      }
      return;
    }
    // EOF: the normal end of the request's own pipe; on a resident pipe, the
    // worker died (not reused). An error: not reused either.
    EndStream(which, n == 0 && !output_->resident());
    return;
  }
}

void CgiRequest::Wait(Stream which) {
  stream(which).waiting = true;
  pipe(which).async_wait(boost::asio::posix::descriptor_base::wait_read,
                         [self = shared_from_this(), which](const boost::system::error_code& ec) {
                           if (ec == boost::asio::error::operation_aborted)
                             return;  // OnExit or EndStream took over
                           StreamState& st = self->stream(which);
                           st.waiting = false;
                           if (st.eof) return;
                           if (ec) {
                             self->EndStream(which, false);
                             return;
                           }
                           // One turn later: when the program's exit was reported in the
                           // same batch of events, OnExit reads the rest first.
                           boost::asio::post(self->ctx_.io, [self, which] { self->Read(which); });
                         });
}

// Whether a stream may be read now: not while the connection has more than
// --buffer to write (what is read would pile up in it: a client that does not
// read must not grow fcgi-run's memory), and stdout not while output is held
// back for the rest of the body. Output being discarded, and stderr that does
// not go to the connection (--stderr log or discard), always flow.
bool CgiRequest::MayFlow(Stream which) {
  if (discard_output_) return true;
  if (which == Stream::kErr) {
    const StderrMode mode = ctx_.config.stderr_mode;
    if (aborted_ || (mode != StderrMode::kFcgi && mode != StderrMode::kBoth)) return true;
  } else if (held_output_.size() > ctx_.config.buffer_bytes) {
    stdout_held_ = true;          // released by InputProgressed once the whole body arrived
    connection_->StdinDrained();  // input may no longer pause: see InputShouldPause
    return false;
  }
  if (connection_->OutputBacklog() > ctx_.config.buffer_bytes) {
    stream(which).paused = true;
    connection_->WaitForOutputSpace(id_);
    // Input may no longer pause (see InputShouldPause).
    if (which == Stream::kErr) connection_->StdinDrained();
    return false;
  }
  return true;
}

void CgiRequest::ResumeOutput() {
  for (Stream which : {Stream::kOut, Stream::kErr}) {
    if (!stream(which).paused) continue;
    stream(which).paused = false;
    Read(which);
  }
}

bool CgiRequest::OnStdout(std::string_view data) {
  if (data.size() == ctx_.read_buffer.size() && !stdout_pipe_grown_) {  // a big response: see Launch
    stdout_pipe_grown_ = true;
    fcntl(output_->out.native_handle(), F_SETPIPE_SZ, kPipeBytes);
  }
  if (discard_output_) return true;
  if (parser_.headers_done()) {
    SendOutput(data);
    return true;
  }
  std::string to_client;
  CgiResponseParser::State st = parser_.Feed(data, &to_client);
  if (st == CgiResponseParser::State::kBody) {
    header_sent_ = true;
    observer_.SetStatus(parser_.status_code());
    SendOutput(to_client);
  } else if (st == CgiResponseParser::State::kError) {
    FailResponse(ErrorPage::kInvalidResponse, "invalid response: " + parser_.error(), parser_.error());
    // Stop reading: the program gets EPIPE/SIGPIPE if it keeps writing.
    EndStream(Stream::kOut, false);
    return false;
  }
  return true;
}

void CgiRequest::OnStderr(std::string_view data) {
  if (aborted_) return;
  const StderrMode mode = ctx_.config.stderr_mode;
  if (mode == StderrMode::kFcgi || mode == StderrMode::kBoth) connection_->SendStderr(id_, data);
  if (mode == StderrMode::kLog || mode == StderrMode::kBoth) {
    if (std::string line = StderrLogLine(program_.target.display_name, data); !line.empty()) LogWarning(line);
  }
}

// ---- process ----

void CgiRequest::OnExit(int raw_status) {
  exited_ = true;
  wait_status_ = raw_status;
  timeout_timer_.cancel();
  kill_timer_.cancel();
  observer_.Exited();
  // Everything the program wrote is in the pipes now: stop waiting and read
  // it to the end (ReadStdout stops at an empty pipe once exited_ is set).
  for (Stream which : {Stream::kOut, Stream::kErr}) {
    if (!stream(which).waiting) continue;
    stream(which).waiting = false;
    pipe(which).cancel();
  }
  for (Stream which : {Stream::kOut, Stream::kErr}) {
    if (stream(which).paused && discard_output_) stream(which).paused = false;
    if (!stream(which).paused) Read(which);
  }
  MaybeFinish();
}

void CgiRequest::OnTimeout() {
  if (exited_ || phase_ != Phase::kRunning) return;
  timed_out_ = true;
  ++ctx_.counters.timeouts;
  LogWarning(Describe() + ": still running after " +
             std::to_string(static_cast<int>(observer_.elapsed_seconds())) +
             " s (--timeout): terminating pid " + std::to_string(pid_));
  FailResponse(ErrorPage::kTimedOut, "timed out");
  StopProgram();
}

void CgiRequest::StopProgram() {
  CloseStdin();
  if (exited_) return;
  if (!program_started_) {
    stop_pending_ = true;
    return;
  }
  run_->SignalGroup(SIGTERM);
  kill_timer_.expires_after(ctx_.config.kill_grace);
  kill_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->exited_) return;
    LogWarning(self->Describe() + ": pid " + std::to_string(self->pid_) +
               " ignored SIGTERM for --kill-grace; sending SIGKILL");
    self->run_->SignalGroup(SIGKILL);
  });
}

void CgiRequest::Abort(std::string_view why) {
  if (phase_ == Phase::kFinished || aborted_) return;
  aborted_ = true;
  observer_.Aborted();
  discard_output_ = true;
  ++ctx_.counters.aborts;
  LogInfo(Describe() + ": aborted (" + std::string(why) + ")");
  if (phase_ == Phase::kQueued) {
    ctx_.slots.Cancel(ticket_);
    Finish();
    return;
  }
  if (phase_ == Phase::kRunning) {
    StopProgram();
    ResumeOutput();  // discarding: drain the pipes whatever the connection's backlog
  }
}

void CgiRequest::MaybeFinish() {
  if (phase_ != Phase::kRunning) return;
  if (exited_ && stream(Stream::kOut).eof && stream(Stream::kErr).eof) Finish();
}

void CgiRequest::FailResponse(ErrorPage page, std::string_view log_cause, std::string_view detail) {
  LogWarning(Describe() + ": " + std::string(log_cause));
  const int status = ErrorStatus(page);
  if (status >= 500) ++ctx_.counters.errors_5xx;
  if (!header_sent_ && !aborted_) {
    observer_.SetStatus(status);
    Emit(ErrorResponse(page, program_.target.display_name, detail));
    header_sent_ = true;
  }
  discard_output_ = true;
}

void CgiRequest::EndWithoutProgram(ErrorPage page, std::string_view log_cause) {
  FailResponse(page, log_cause);
  EnterFinished();
  CloseStdin();
  observer_.Finish();
  connection_->FinishRequest(
      id_, 0,
      page == ErrorPage::kOverloaded ? ProtocolStatus::kOverloaded : ProtocolStatus::kRequestComplete);
}

void CgiRequest::Finish() {
  if (phase_ == Phase::kFinished) return;
  auto self = shared_from_this();
  const bool ran = exited_;
  EnterFinished();
  timeout_timer_.cancel();
  kill_timer_.cancel();
  CloseStdin();
  if (!held_output_.empty() && !discard_output_) {
    // Held until the web server finished sending the body, but the program is
    // done: what it wrote is the response.
    std::string held;
    held.swap(held_output_);
    Emit(held);
  }
  if (ran && !header_sent_ && !aborted_) {
    std::string cause;
    if (parser_.Finish() == CgiResponseParser::State::kError) cause = parser_.error();
    const std::string why = cause + "; " + DescribeWaitStatus(wait_status_);
    FailResponse(ErrorPage::kNoValidResponse, "no valid response (" + why + ")", why);
  } else if (ran &&
             (WIFSIGNALED(wait_status_) || (WIFEXITED(wait_status_) && WEXITSTATUS(wait_status_) != 0))) {
    if (Log::Enabled(LogLevel::kDebug)) LogDebug(Describe() + ": " + DescribeWaitStatus(wait_status_));
  }
  if (has_slot_) {
    has_slot_ = false;
    ctx_.slots.Release();
  }
  observer_.Finish();
  connection_->FinishRequest(id_, ran ? AppStatusFromWaitStatus(wait_status_) : 0,
                             ProtocolStatus::kRequestComplete);
}

}  // namespace fcgi
