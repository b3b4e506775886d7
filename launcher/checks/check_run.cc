#include "launcher/checks/check_run.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <memory>

namespace fcgi {

namespace {

// Reads a pipe to EOF into *into. REQUIRES: *into and *done outlive it (the
// caller keeps them in a shared_ptr it also captures).
struct PipeReader : std::enable_shared_from_this<PipeReader> {
  PipeReader(boost::asio::io_context& io, int fd, std::string* into, bool* done)
      : pipe(io, fd), into(into), done(done) {}
  void Next() {
    pipe.async_read_some(boost::asio::buffer(buffer), [self = shared_from_this()](auto ec, size_t n) {
      self->into->append(self->buffer.data(), n);
      if (ec) {
        *self->done = true;
        return;
      }
      self->Next();
    });
  }
  boost::asio::posix::stream_descriptor pipe;
  std::shared_ptr<void> owner;  // keeps *into and *done alive
  std::string* into;
  bool* done;
  std::array<char, 16384> buffer{};
};

}  // namespace

CheckOutcome RunCheckRequest(boost::asio::io_context& io, ProgramRunner& runner, const std::string& program,
                             const std::vector<std::string>& args, const std::string& cwd,
                             const std::vector<std::string>& env, const std::string& body,
                             std::chrono::milliseconds deadline) {
  CheckOutcome outcome;
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    outcome.status = Status::FromErrno("pipe2(2)", "check request", errno);
    return outcome;
  }
  SpawnSpec spec;
  spec.path = program;
  spec.args = args;
  spec.env = env;
  spec.cwd = cwd;
  spec.stdin_fd = in[0];
  spec.stdout_fd = out[1];
  spec.stderr_fd = err[1];
  // The runner's callbacks may outlive this call (a killed run): they share this.
  struct RunEnd {
    bool started = false, failed = false, exited = false, out_done = false, err_done = false;
    std::string out, err;
    Status status;
    int raw_status = 0;
  };
  auto end = std::make_shared<RunEnd>();
  std::unique_ptr<ProgramRun> run = runner.Start(
      spec,
      [end](const Status& s, pid_t, std::shared_ptr<ProgramOutput>) {  // given pipes: never any
        end->started = true;
        if (!s.ok()) {
          end->status = s;
          end->failed = true;
        }
      },
      [end](int raw) {
        end->raw_status = raw;
        end->exited = true;
      });
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  auto reader_out = std::make_shared<PipeReader>(io, out[0], &end->out, &end->out_done);
  auto reader_err = std::make_shared<PipeReader>(io, err[0], &end->err, &end->err_done);
  reader_out->owner = end;
  reader_err->owner = end;
  reader_out->Next();
  reader_err->Next();
  boost::asio::posix::stream_descriptor stdin_pipe(io, in[1]);
  boost::asio::async_write(stdin_pipe, boost::asio::buffer(body),
                           [&](const boost::system::error_code&, size_t) {
                             boost::system::error_code ignored;
                             stdin_pipe.close(ignored);  // EOF (or the program stopped reading)
                           });
  bool timed_out = false;
  boost::asio::steady_timer timer(io, deadline);
  timer.async_wait([&](const boost::system::error_code& ec) {
    if (!ec) timed_out = true;
  });
  while (!timed_out && !end->failed && !(end->exited && end->out_done && end->err_done)) {
    if (io.run_one() == 0) io.restart();
  }
  timer.cancel();
  if (timed_out) {
    outcome.status = Status::Unavailable("no end within " + std::to_string(deadline.count()) + " ms");
    run->SignalGroup(SIGKILL);
  }
  boost::system::error_code ignored;
  stdin_pipe.close(ignored);
  reader_out->pipe.close(ignored);
  reader_err->pipe.close(ignored);
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (!end->exited && end->started && !end->failed && std::chrono::steady_clock::now() < give_up) {
    io.run_for(std::chrono::milliseconds(50));
    io.restart();
  }
  io.restart();
  io.poll();  // let the cancelled handlers run while their captures live
  io.restart();
  if (end->failed) outcome.status = end->status;
  outcome.raw_status = end->raw_status;
  outcome.out = end->out;
  outcome.err = end->err;
  return outcome;
}

}  // namespace fcgi
