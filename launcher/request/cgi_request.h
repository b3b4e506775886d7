// CgiRequest: one FastCGI request served by one run of the CGI program.
//
// Owns the program's run (ProgramRun, from the ProgramRunner), its stdin
// pipe, the output pipes the runner brought (the run's own, or a persistent
// worker's, lent for this request: ProgramOutput) and the request's timers.
// Streams FCGI_STDIN (and FCGI_DATA for FILTER) into the program's stdin as it
// arrives and the program's stdout/stderr back as they arrive, with
// backpressure both ways: output (stdout, and stderr sent as FCGI_STDERR)
// waits for the connection's buffer to drain (the program then blocks on its
// full pipe), and input beyond --buffer bytes makes the connection stop
// reading its socket.
//
// Ownership: the RequestSink (FastCGI Connection or HTTP front) holds the
// CgiRequest (shared_ptr) until FinishRequest; the CgiRequest holds the sink
// alive until then. Every async handler holds a shared_ptr to the request.
#ifndef FCGI_RUN_LAUNCHER_REQUEST_CGI_REQUEST_H_
#define FCGI_RUN_LAUNCHER_REQUEST_CGI_REQUEST_H_

#include <sys/types.h>

#include <array>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/writable_pipe.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/cgi_response_parser.h"
#include "core/error_pages.h"
#include "core/fcgi_name_value.h"
#include "core/fcgi_protocol.h"
#include "core/worker_slots.h"
#include "launcher/request/body_spool.h"
#include "launcher/request/program_source.h"
#include "launcher/request/request_observer.h"
#include "launcher/request/request_sink.h"
#include "launcher/request/server_context.h"
#include "launcher/run/child_watcher.h"
#include "launcher/run/program_output.h"

namespace fcgi {

class CgiRequest : public std::enable_shared_from_this<CgiRequest> {
 public:
  CgiRequest(ServerContext& ctx, std::shared_ptr<RequestSink> sink, uint16_t id, Role role);
  CgiRequest(const CgiRequest&) = delete;
  CgiRequest& operator=(const CgiRequest&) = delete;
  ~CgiRequest();

  // PARAMS complete: validate, then run now or queue for a worker slot.
  void Start(NameValuePairs params);
  void OnStdin(std::string_view data);
  void OnStdinEnd();
  void OnData(std::string_view data);
  void OnDataEnd();
  // ABORT_REQUEST, or the connection is gone: stop the program, discard output.
  void Abort(std::string_view why);
  // The connection's output buffer drained: resume reading the program's output.
  void ResumeOutput();

  // Input bytes received but not yet written to the program.
  uint64_t stdin_backlog() const {
    return stdin_spool_.size() + (stdin_inflight_.size() - stdin_inflight_done_) + data_spool_.size();
  }
  // Whether the connection should stop reading its socket for now. Normally
  // past --buffer bytes of unread body (plain backpressure). But while the
  // program's output is held back waiting for the rest of the body (nginx
  // stops sending a body once it sees a response header, so the response is
  // held until the body is in), or while its stderr waits for the web server
  // to read (which one that sends the whole body before it reads, as
  // mod_fcgid does, will not), stopping would deadlock: then the body is
  // spooled to a file, up to --body-spool.
  bool InputShouldPause() const {
    const uint64_t backlog = stdin_backlog();
    if (backlog > ctx_.config.body_spool_bytes) return true;
    if (stdout_held_ || streams_[1].paused) return false;  // [1]: stderr
    return backlog > ctx_.config.buffer_bytes;
  }
  uint16_t id() const { return id_; }

 private:
  enum class Phase { kNew, kQueued, kRunning, kFinished };

  // --status-path, --ping-path: answered without a program (true).
  bool AnswerBuiltin(const NameValuePairs& params);
  void Launch();
  void PumpStdin();
  bool StdinInputComplete() const;
  void CloseStdin();
  void AppendInput(BodySpool* spool, std::string_view data);
  void InputProgressed();
  // The program's response bytes: sent now, or held back (see the .cc).
  void SendOutput(std::string_view data);
  void Emit(std::string_view data);  // every response byte to the sink goes through here
  // The program's two output streams, read the same way (see Read).
  enum class Stream { kOut, kErr };
  struct StreamState {
    bool waiting = false;  // a readability wait is pending
    bool paused = false;   // waiting for the connection's output to drain (the
                           // program blocks on its full pipe meanwhile)
    bool eof = false;      // ended (EndStream)
    bool clean = false;    // ended after reading all the program wrote
  };
  StreamState& stream(Stream which) { return streams_[which == Stream::kOut ? 0 : 1]; }
  boost::asio::posix::stream_descriptor& pipe(Stream which) {
    return which == Stream::kOut ? output_->out : output_->err;
  }
  void Read(Stream which);
  void Wait(Stream which);
  void EndStream(Stream which, bool finished);
  void ReadStdout() { Read(Stream::kOut); }
  void ReadStderr() { Read(Stream::kErr); }
  // Whether the stream may be read now (false: it waits, see the .cc).
  bool MayFlow(Stream which);
  // What one read gave, in ctx_.read_buffer.
  bool OnStdout(std::string_view data);  // false: the stream ended (invalid response)
  void OnStderr(std::string_view data);
  void OnStarted(const Status& status, pid_t pid, std::shared_ptr<ProgramOutput> output);
  bool HasNoBody() const;  // known to have no request body: stdin may be /dev/null
  void ReturnOutput();
  void OnExit(int raw_status);
  void OnTimeout();
  void StopProgram();
  void MaybeFinish();
  void EnterFinished();
  void Finish();
  // Logs `log_cause`; sends the launcher's error page (core/error_pages.h)
  // if no header went out yet, and discards the program's output from then on.
  void FailResponse(ErrorPage page, std::string_view log_cause, std::string_view detail = {});
  // FailResponse, and the request ends here: no program runs for it.
  void EndWithoutProgram(ErrorPage page, std::string_view log_cause);
  std::string Describe() const;  // "GET /uri (hello.cgi)"

  ServerContext& ctx_;
  std::shared_ptr<RequestSink> connection_;  // the FastCGI connection or the HTTP front
  ResolvedProgram program_;
  const uint16_t id_;
  const Role role_;
  Phase phase_ = Phase::kNew;
  RequestObserver observer_;  // status page, slow log, access log
  std::vector<std::string> env_;
  WorkerSlots::Ticket ticket_ = 0;
  bool has_slot_ = false;

  // stdin side
  boost::asio::writable_pipe stdin_;
  BodySpool stdin_spool_;       // received, not yet handed to a write
  BodySpool data_spool_;        // FILTER: DATA, written after all of STDIN
  std::string stdin_inflight_;  // the buffer of the write in flight: never touched meanwhile
  size_t stdin_inflight_done_ = 0;
  std::optional<uint64_t> stdin_remaining_;  // CONTENT_LENGTH not yet received
  uint64_t stdin_received_ = 0;              // without CONTENT_LENGTH: for --max-body
  bool stdin_ended_ = false;
  bool data_ended_ = false;
  bool stdin_writing_ = false;
  bool stdin_closed_ = false;

  // stdout / stderr side
  // The program's output pipes: the request's own, or a persistent worker's
  // resident ones, lent for this request (program_output.h). Null until the
  // runner supplied them.
  std::shared_ptr<ProgramOutput> output_;
  uint64_t output_loan_ = 0;  // resident output: our loan, until returned (0)
  std::array<StreamState, 2> streams_;
  bool stdout_pipe_grown_ = false;  // F_SETPIPE_SZ done (after a full read)
  bool small_body_ = false;         // the body fits a default pipe: stdin's is not enlarged
  bool no_body_ = false;            // known from the params to have no body (HasNoBody)
  CgiResponseParser parser_;
  bool header_sent_ = false;  // a header block (ours or the program's) went to the client
  // Output held back until the web server has sent the whole body (see SendOutput).
  std::string held_output_;
  bool stdout_held_ = false;
  bool discard_output_ = false;

  // process
  std::unique_ptr<ProgramRun> run_;
  pid_t pid_ = -1;
  bool program_started_ = false;  // on_started reported success
  bool stop_pending_ = false;     // StopProgram before the program started
  bool exited_ = false;
  int wait_status_ = 0;
  bool aborted_ = false;
  bool timed_out_ = false;
  boost::asio::steady_timer timeout_timer_;
  boost::asio::steady_timer kill_timer_;
};

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_REQUEST_CGI_REQUEST_H_
