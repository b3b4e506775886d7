#include "launcher/run/program_output.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace fcgi {

Status ProgramOutput::Create(boost::asio::io_context& io, const std::string& object,
                             std::shared_ptr<ProgramOutput>* output, int* out_write, int* err_write) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0) return Status::FromErrno("pipe2(2)", "stdout of " + object, errno);
  if (pipe2(err, O_CLOEXEC) != 0) {
    const int e = errno;
    close(out[0]);
    close(out[1]);
    return Status::FromErrno("pipe2(2)", "stderr of " + object, e);
  }
  auto close_all = [&] {
    for (int fd : {out[0], out[1], err[0], err[1]}) close(fd);
  };
  // The launcher reads with plain read(2) calls (CgiRequest): non-blocking
  // read ends; the program's write ends stay blocking.
  if (fcntl(out[0], F_SETFL, O_NONBLOCK) != 0 || fcntl(err[0], F_SETFL, O_NONBLOCK) != 0) {
    const int e = errno;
    close_all();
    return Status::FromErrno("fcntl(2) O_NONBLOCK", "output pipes of " + object, e);
  }
  auto made = std::make_shared<ProgramOutput>(io);
  boost::system::error_code ec;
  made->out.assign(out[0], ec);
  if (!ec) made->err.assign(err[0], ec);
  if (ec) {  // the reactor refused them
    made->out.release();
    made->err.release();
    close_all();
    return Status::FromErrno("epoll_ctl(2)", "output pipes of " + object, ec.value());
  }
  *output = std::move(made);
  *out_write = out[1];
  *err_write = err[1];
  return Status::Ok();
}

}  // namespace fcgi
